/**
 * The result of one health check, as stored in the health history, logged and shown to an operator at
 * failover time.
 *
 * RPO here is the recovery point objective a failover started now would achieve: how many seconds of
 * the most recent writes it could lose. For storage it is the age of the RA-GRS `lastSyncTime`; for
 * the database it is the replica's measured lag (see `ReplicaHealth`).
 */

import type { DoctorReport } from '../doctor/runDoctor.js';

export type HealthCheckName = 'storage' | 'replica';

/**
 * - `Healthy`: a failover would work now, within the configured RPO.
 * - `Degraded`: a failover would work, but would lose more than the configured RPO, or part of the
 *   evidence is missing (one source did not answer); act before it gets worse.
 * - `Unhealthy`: a failover would fail, or would lose more than twice the configured RPO.
 */
export type HealthStatus = 'Healthy' | 'Degraded' | 'Unhealthy';

export type FactValue = string | number | boolean | null;

export interface HealthReport {
  check: HealthCheckName;
  status: HealthStatus;
  /** Seconds of writes a failover now could lose; null when it could not be measured (see `reasons`). */
  rpoSeconds: number | null;
  /** What was observed, flat so that it can be logged and queried as is. Never a secret value. */
  facts: Record<string, FactValue>;
  /** Why the status is not `Healthy`, each phrased so an operator can act; empty when Healthy. */
  reasons: string[];
  /** ISO 8601 time the check started. */
  checkedAt: string;
  /**
   * The readiness doctor's checks this health timer runs (`prerequisites.ts`), as they found the
   * failover's prerequisites; their problems are in `status` and `reasons` too. Absent when the check
   * could not run.
   */
  prerequisites?: DoctorReport;
}

const ORDER: Record<HealthStatus, number> = { Healthy: 0, Degraded: 1, Unhealthy: 2 };

export function worstStatus(...statuses: HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((worst, s) => (ORDER[s] > ORDER[worst] ? s : worst), 'Healthy');
}

/**
 * The status a measured figure earns against its threshold: within it Healthy, over it Degraded, over
 * twice it Unhealthy. Twice, because a threshold is the RPO an operator accepts; losing double that is
 * no longer a slow replica but replication that has stopped keeping up, and a planned failover would
 * wait (or a forced one lose) too long to be an ordinary decision.
 */
export function statusAgainstThreshold(value: number, threshold: number): HealthStatus {
  if (value > 2 * threshold) return 'Unhealthy';
  if (value > threshold) return 'Degraded';
  return 'Healthy';
}

/** Collects facts and reasons while a check runs; the status is the worst one noted. */
export class ReportBuilder {
  status: HealthStatus = 'Healthy';
  readonly facts: Record<string, FactValue> = {};
  readonly reasons: string[] = [];

  /** Records that the check found something that makes the status at least `status`. */
  note(status: HealthStatus, reason: string): void {
    this.status = worstStatus(this.status, status);
    if (status !== 'Healthy') this.reasons.push(reason);
  }

  build(check: HealthCheckName, rpoSeconds: number | null, checkedAt: Date): HealthReport {
    return {
      check,
      status: this.status,
      rpoSeconds,
      facts: { ...this.facts },
      reasons: [...this.reasons],
      checkedAt: checkedAt.toISOString(),
    };
  }
}

/** Seconds with one decimal, never negative (a clock slightly behind the service's gives a small negative age). */
export function roundSeconds(milliseconds: number): number {
  return Math.max(0, Math.round(milliseconds / 100) / 10);
}
