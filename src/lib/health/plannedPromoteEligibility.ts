import type { HealthReport } from './HealthReport.js';

/**
 * One condition of a planned promote. As pg_auto_failover only promotes a standby whose state and
 * LSN it has positively confirmed, a condition that could not be checked counts as not holding.
 */
export interface PromoteCondition {
  name:
    | 'replicaRole'
    | 'serverState'
    | 'primaryState'
    | 'replicationState'
    | 'lag'
    | 'storageRpo'
    | 'freshness'
    | 'serverSymmetry'
    | 'virtualEndpoint'
    | 'prerequisites';
  ok: boolean;
  detail: string;
  /**
   * When it does not hold, a forced promote fails too: Azure refuses it outside a regional outage
   * (`promotePrerequisites.ts`). A forced run is refused up front for it.
   */
  blocksForced?: boolean;
}

/** The details of the conditions that do not hold and refuse a forced promote as well. */
export function forcedPromoteBlockers(conditions: PromoteCondition[]): string[] {
  return conditions.filter((c) => !c.ok && c.blocksForced === true).map((c) => c.detail);
}

export interface PromoteEligibility {
  /** True when every condition holds: a planned promote is expected to succeed within the RPO thresholds. */
  eligibleForPlannedPromote: boolean;
  /** When eligible, the evidence for every condition; otherwise the conditions that do not hold. */
  eligibilityReasons: string[];
}

export function plannedPromoteEligibility(conditions: PromoteCondition[]): PromoteEligibility {
  const failing = conditions.filter((c) => !c.ok);
  return failing.length === 0
    ? { eligibleForPlannedPromote: true, eligibilityReasons: conditions.map((c) => c.detail) }
    : { eligibleForPlannedPromote: false, eligibilityReasons: failing.map((c) => c.detail) };
}

/**
 * The storage condition, from the latest storage report (or its absence): a failover also copies the
 * storage, so the storage RPO gates a planned promote as much as the replica's lag does.
 */
export function storageRpoCondition(storage: HealthReport | undefined): PromoteCondition {
  if (!storage) {
    return {
      name: 'storageRpo',
      ok: false,
      detail: 'storage RPO unknown: there is no storage health report yet',
    };
  }
  const max = storage.facts.maxRpoSeconds;
  if (storage.rpoSeconds === null || typeof max !== 'number') {
    return {
      name: 'storageRpo',
      ok: false,
      detail: `storage RPO unknown in the storage report of ${storage.checkedAt}`,
    };
  }
  return storage.rpoSeconds <= max
    ? { name: 'storageRpo', ok: true, detail: `storage RPO ${storage.rpoSeconds} s is within ${max} s` }
    : { name: 'storageRpo', ok: false, detail: `storage RPO ${storage.rpoSeconds} s exceeds ${max} s` };
}

/** What ARM answered for the primary server: its `state`, or the error of the read. */
export type PrimaryStateReading = { state: string | undefined } | { error: string };

/**
 * The primary's condition. A planned promote needs both servers available; only a forced one runs
 * whatever the primary's state, for a regional outage ("Promote read replicas",
 * https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote).
 * The replica's `replicationState` cannot stand in for it: Azure may keep showing Active for a
 * replica whose primary is unreachable. `Ready` is the ServerState the portal shows as Available.
 */
export function primaryStateCondition(primaryServer: string, reading: PrimaryStateReading): PromoteCondition {
  if ('state' in reading && reading.state === 'Ready') {
    return { name: 'primaryState', ok: true, detail: `the primary server ${primaryServer} is Ready` };
  }
  const state =
    'error' in reading
      ? `unreachable through ARM (${reading.error})`
      : (reading.state ?? 'in an unknown state');
  return {
    name: 'primaryState',
    ok: false,
    detail: `the primary server ${primaryServer} is ${state}: a planned promote needs both servers available; use mode forced if the primary region is down`,
  };
}
