import type { ClientFactory } from '../clients/ClientFactory.js';
import { healthHistoryOf, type LatestHealth } from '../state/HealthHistory.js';
import { type HealthCheckName, type HealthStatus, worstStatus } from './HealthReport.js';
import type { OldPrimaryWatch } from './OldPrimaryWatch.js';
import {
  forcedPromoteBlockers,
  type PromoteCondition,
  type PromoteEligibility,
  plannedPromoteEligibility,
  storageRpoCondition,
} from './plannedPromoteEligibility.js';
import {
  combinePrerequisites,
  prerequisiteConditions,
  type ReadinessPrerequisites,
} from './prerequisites.js';
import type { ReplicaHealthReport } from './ReplicaHealth.js';

/**
 * Whether a failover would work now and what it would lose, from the latest storage and replica
 * reports: what `GET /api/health` returns and what the failover shows at decision time.
 */
export interface Readiness extends PromoteEligibility {
  /** The worst of the two checks; Unhealthy when a check has never reported, Degraded when a report is stale. */
  status: HealthStatus;
  /**
   * The combined RPO: the larger of the storage and database RPO, since a failover restores both and
   * the older copy decides what is lost. Null when either part is unknown (see `rpoExplanation`).
   */
  rpoSeconds: number | null;
  storageRpoSeconds: number | null;
  databaseRpoSeconds: number | null;
  /** Which part decides the combined RPO, or why a part is unknown. */
  rpoExplanation: string[];
  /**
   * Promote prerequisites that do not hold and that Azure enforces for a forced promote too (server
   * symmetry, a switchover's virtual endpoint; `promotePrerequisites.ts`): a forced run is refused
   * while any is listed. Empty when none fails or no replica report records them.
   */
  forcedPromoteBlockers: string[];
  /** Every reason from both checks (prefixed `storage:`/`replica:`), plus missing or stale reports. */
  reasons: string[];
  storage: LatestHealth | null;
  replica: LatestHealth<ReplicaHealthReport> | null;
  /**
   * After a failover: the old primary as the latest replica check saw it (split brain, auto-fence).
   * Null before any failover.
   */
  oldPrimary: OldPrimaryWatch | null;
  /**
   * How a failover's copy would read its source, from the latest storage report: the credential
   * (`kyvos-dr-source-auth`, and the secret or `user-delegation SAS`) and whether that check proved
   * it on the secondary (null: not checked, the secondary did not answer).
   */
  sourceAccess: { auth: string | null; access: string | null; proven: boolean | null };
  /**
   * Where the configuration of the latest storage check came from: `Key Vault <name>`, `app
   * settings`, or the app settings because the vault could not be reached (and why).
   */
  configuration: string | null;
  /**
   * The failover's prerequisites as the readiness doctor's checks found them in the latest reports of
   * both health timers (each finding not `pass` is also among `reasons`, with its fix). Null when
   * neither report carries them.
   */
  prerequisites: ReadinessPrerequisites | null;
  /** ISO time this readiness was put together. */
  evaluatedAt: string;
}

export interface ReadinessOptions {
  now: Date;
  /**
   * A report older than this makes readiness Degraded and a planned promote ineligible: the timer that
   * writes it is not running. Default 1800 s, six runs of the default five-minute schedule.
   */
  maxReportAgeInSeconds?: number;
}

const DEFAULT_MAX_REPORT_AGE_SECONDS = 1800;

/** Combines the latest reports of both checks; pure, so the failover and the tests can use it on any pair. */
export function combineReadiness(
  storage: LatestHealth | undefined,
  replica: LatestHealth<ReplicaHealthReport> | undefined,
  options: ReadinessOptions,
): Readiness {
  const maxAge = options.maxReportAgeInSeconds ?? DEFAULT_MAX_REPORT_AGE_SECONDS;
  const statuses: HealthStatus[] = [];
  const reasons: string[] = [];
  const stale: string[] = [];
  const parts: Array<[HealthCheckName, LatestHealth | undefined, string]> = [
    ['storage', storage, 'healthStorage'],
    ['replica', replica, 'healthReplica'],
  ];
  for (const [check, latest, timer] of parts) {
    if (!latest) {
      statuses.push('Unhealthy');
      reasons.push(
        `${check}: no health report yet; the ${timer} timer has not run (or cannot write to the app storage)`,
      );
      continue;
    }
    statuses.push(latest.report.status);
    reasons.push(...latest.report.reasons.map((r) => `${check}: ${r}`));
    const ageSeconds = Math.round((options.now.getTime() - Date.parse(latest.report.checkedAt)) / 1000);
    if (ageSeconds > maxAge) {
      statuses.push('Degraded');
      const text = `${check}: the latest report is ${ageSeconds} s old (checked ${latest.report.checkedAt}), older than ${maxAge} s; the ${timer} timer is not running`;
      reasons.push(text);
      stale.push(text);
    }
  }

  const storageRpoSeconds = storage?.report.rpoSeconds ?? null;
  const databaseRpoSeconds = replica?.report.rpoSeconds ?? null;
  const rpoExplanation: string[] = [];
  if (storageRpoSeconds === null)
    rpoExplanation.push(`storage RPO unknown: ${unknownBecause(storage, 'storage')}`);
  if (databaseRpoSeconds === null)
    rpoExplanation.push(`database RPO unknown: ${unknownBecause(replica, 'replica')}`);
  let rpoSeconds: number | null = null;
  if (storageRpoSeconds !== null && databaseRpoSeconds !== null) {
    rpoSeconds = Math.max(storageRpoSeconds, databaseRpoSeconds);
    rpoExplanation.push(
      storageRpoSeconds >= databaseRpoSeconds
        ? `storage decides: ${storageRpoSeconds} s (database ${databaseRpoSeconds} s)`
        : `database decides: ${databaseRpoSeconds} s (storage ${storageRpoSeconds} s)`,
    );
  }

  const prerequisites = combinePrerequisites(storage?.report, replica?.report);
  let eligibility: PromoteEligibility;
  let blockers: string[] = [];
  if (!replica) {
    eligibility = { eligibleForPlannedPromote: false, eligibilityReasons: ['no replica health report yet'] };
  } else {
    // A report written by an older version, or damaged, may lack its conditions: then nothing is confirmed.
    const recorded = Array.isArray(replica.report.promoteConditions)
      ? replica.report.promoteConditions.filter((c) => c.name !== 'storageRpo')
      : [
          {
            name: 'replicaRole',
            ok: false,
            detail: 'the replica report records no promote conditions',
          } as const,
        ];
    const conditions: PromoteCondition[] = [
      ...recorded,
      storageRpoCondition(storage?.report),
      ...stale.map((detail): PromoteCondition => ({ name: 'freshness', ok: false, detail })),
      ...prerequisiteConditions(prerequisites),
    ];
    eligibility = plannedPromoteEligibility(conditions);
    blockers = forcedPromoteBlockers(conditions);
  }

  return {
    status: worstStatus(...statuses),
    rpoSeconds,
    storageRpoSeconds,
    databaseRpoSeconds,
    rpoExplanation,
    reasons,
    ...eligibility,
    forcedPromoteBlockers: blockers,
    storage: storage ?? null,
    replica: replica ?? null,
    oldPrimary: replica?.report.oldPrimary ?? null,
    sourceAccess: {
      auth: textFact(storage, 'sourceAuth'),
      access: textFact(storage, 'sourceAccess'),
      proven:
        typeof storage?.report.facts.sourceAuthProven === 'boolean'
          ? storage.report.facts.sourceAuthProven
          : null,
    },
    configuration: textFact(storage, 'configSource'),
    prerequisites,
    evaluatedAt: options.now.toISOString(),
  };
}

/** A text fact of the latest report, or null. */
function textFact(latest: LatestHealth | undefined, key: string): string | null {
  const value = latest?.report.facts[key];
  return typeof value === 'string' ? value : null;
}

/** Readiness from the health history in the app storage account. */
export async function getLatestReadiness(
  deps: { clients: ClientFactory; appStorageAccount: string; clock: () => Date },
  options: { abortSignal?: AbortSignal; maxReportAgeInSeconds?: number } = {},
): Promise<Readiness> {
  const history = healthHistoryOf(deps);
  const [storage, replica] = await Promise.all([
    history.latest('storage', options),
    history.latest<ReplicaHealthReport>('replica', options),
  ]);
  return combineReadiness(storage, replica, {
    now: deps.clock(),
    ...(options.maxReportAgeInSeconds !== undefined
      ? { maxReportAgeInSeconds: options.maxReportAgeInSeconds }
      : {}),
  });
}

function unknownBecause(latest: LatestHealth | undefined, check: HealthCheckName): string {
  if (!latest) return `no ${check} health report yet`;
  const note = latest.report.facts.rpoNote;
  if (typeof note === 'string') return note;
  return latest.report.reasons.join('; ') || 'not measured';
}

/** The `lastSyncTime` the storage check measured its RPO from (`rpoLastSyncTime`), if it could. */
export function storageLastSyncTimeOf(readiness: Pick<Readiness, 'storage'>): string | null {
  const time = readiness.storage?.report.facts.rpoLastSyncTime;
  return typeof time === 'string' ? time : null;
}
