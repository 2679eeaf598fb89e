import type {
  PostgreSQLManagementFlexibleServerClient,
  Server,
  VirtualEndpoint,
} from '@azure/arm-postgresql-flexible';
import { delay } from '@azure/core-util';
import type pg from 'pg';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import { statusOf } from '../errors.js';
import { readWriteProofGrants, type WriteProofGrants, writeProofProblem } from '../promote/writeProof.js';
import { describeError } from '../redact.js';
import {
  type FactValue,
  type HealthReport,
  type HealthStatus,
  ReportBuilder,
  statusAgainstThreshold,
} from './HealthReport.js';
import type { OldPrimaryWatch } from './OldPrimaryWatch.js';
import {
  type PrimaryStateReading,
  type PromoteCondition,
  type PromoteEligibility,
  plannedPromoteEligibility,
  primaryStateCondition,
  storageRpoCondition,
} from './plannedPromoteEligibility.js';
import { connectForHealth } from './postgresProbe.js';
import {
  serverSizeOf,
  serverSymmetryCondition,
  type VirtualEndpointsReading,
  virtualEndpointCondition,
} from './promotePrerequisites.js';
import {
  WAL_RECEIVER_COLUMNS,
  type WalReceiverView,
  walReceiverHiddenReason,
  walReceiverView,
} from './walReceiver.js';

export interface ReplicaHealthReport extends HealthReport, PromoteEligibility {
  check: 'replica';
  /** Every promote condition, with the storage RPO as known when the check ran. */
  promoteConditions: PromoteCondition[];
  /** After a recorded failover: the old primary, watched for split brain (`OldPrimaryWatch`). Absent before. */
  oldPrimary?: OldPrimaryWatch;
}

export interface ReplicaHealthDeps {
  clients: ClientFactory;
  clock: () => Date;
}

export interface ReplicaHealthOptions {
  abortSignal?: AbortSignal;
  /** The latest storage report, for the storage condition of `eligibleForPlannedPromote`. */
  storage?: HealthReport;
  /** Connect and query timeout of each SQL probe. */
  sqlTimeoutInMs?: number;
  /**
   * How long to wait for a replica that is behind to replay up to the position read at the start of
   * the probe; the time it takes is the measured lag. Default 2000 ms.
   */
  catchUpWindowInMs?: number;
}

/** How the lag the gate uses was measured; see `checkReplicaHealth`. */
export type LagBasis = 'primary-lsn' | 'wal-receiver' | 'replay-time';

const REPLICA_ROLES = ['AsyncReplica', 'GeoAsyncReplica'];
/** Server states in which the replica does not run and would need an operator. */
const DOWN_STATES = ['Stopped', 'Stopping', 'Disabled', 'Dropping', 'Inaccessible'];
const MIB = 1024 * 1024;

/**
 * Checks that the read replica in the DR region could be promoted now, and how much a promote would
 * lose (database RPO).
 *
 * Management plane (`GET flexibleServers/{replica}`): the replica exists (404 → Unhealthy "missing";
 * 403 → Unhealthy, a wrong name or a missing role, which ARM does not tell apart),
 * is in the DR region, has role AsyncReplica or GeoAsyncReplica, `state` Ready and `replicationState`
 * Active. Broken, down states, a wrong role or region → Unhealthy; Catchup, Updating and other
 * transitions → Degraded. When ARM does not answer after the SDK's retries the report is Unhealthy:
 * the promote itself is an ARM operation.
 *
 * SQL probes (when `kyvos-dr-replica-connection-string` is set): on the replica
 * `now() - pg_last_xact_replay_timestamp()` (replay-time lag) and
 * `pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())` (received, not yet replayed);
 * and when `kyvos-dr-primary-connection-string` is set, the primary's `pg_current_wal_insert_lsn()`
 * against the replica's replay LSN (bytes behind the primary; the insert position, so that commits not
 * yet written under `synchronous_commit = off` count). The primary is read first, so a replica that keeps
 * up reads as caught up; the figure misses at most the WAL written during one round trip.
 *
 * The gate. Replay-time lag alone is misleading: it is the age of the last replayed transaction, so it
 * grows while the primary is idle although nothing is at risk; and a replica a few bytes behind (a
 * checkpoint record in flight) would then look hours late. The gate therefore measures against a
 * position:
 * - `primary-lsn` (primary probe answered): lagBytes = bytes behind the primary's current position;
 * - `wal-receiver` (no primary figure, WAL receiver `streaming`): lagBytes = received − replayed;
 * - `replay-time` (neither): lagBytes = received − replayed, lagSeconds = replay-time lag as is.
 *   When the connection user cannot see the receiver's status (no `pg_read_all_stats`,
 *   `walReceiver.ts`), this is the basis too, and the report is Degraded, naming the grant
 *   (`lagBasisOf`).
 * In the first two, lagSeconds is 0 when lagBytes is 0 (caught up). When behind, the probe waits up to
 * `catchUpWindowInMs` for the replica to replay up to that position: the time it took is lagSeconds
 * (measured: the replica was that far behind in time). If it does not get there (replay stopped or
 * far behind), lagSeconds is the replay-time lag, the upper bound of the age of the oldest
 * unreplayed transaction. Both figures are gated: over `maxReplicaLagSeconds` or
 * `maxReplicaLagBytes` → Degraded, over twice → Unhealthy. The database RPO is lagSeconds. A replica
 * that does not answer SQL, or is no longer in recovery, is Unhealthy. So is one on which the
 * connection user could not write the promote's write proof (`writeProof.ts`): preflight refuses
 * every run then.
 *
 * Promote prerequisites (`promotePrerequisites.ts`): the replica's SKU and storage against the
 * primary's (identical for `Switchover`, at least the primary's for `Standalone`) and, for
 * `Switchover`, a virtual endpoint on the primary whose read-only endpoint is the replica
 * (`GET flexibleServers/{primary}/virtualendpoints`, read only then). One that does not hold makes the
 * report Degraded with the fix, and refuses a forced run as well as a planned one.
 *
 * `eligibleForPlannedPromote` holds when role, state Ready, the primary server's ARM state Ready
 * (`primaryStateCondition`), the promote prerequisites, replicationState Active, the measured lag
 * within both thresholds and the storage RPO within its threshold are all confirmed, as pg_auto_failover
 * only promotes a standby it has positively confirmed. Read-only; safe to run at any frequency.
 */
export async function checkReplicaHealth(
  config: DrConfig,
  deps: ReplicaHealthDeps,
  options: ReplicaHealthOptions = {},
): Promise<ReplicaHealthReport> {
  const checkedAt = deps.clock();
  const server = config.dr.replicaServer;
  const { maxReplicaLagSeconds, maxReplicaLagBytes } = config.thresholds;
  const report = new ReportBuilder();
  report.facts.server = server;
  report.facts.resourceGroup = config.dr.resourceGroup;
  report.facts.maxLagSeconds = maxReplicaLagSeconds;
  report.facts.maxLagBytes = maxReplicaLagBytes;
  const conditions: PromoteCondition[] = [];

  const arm = deps.clients.postgresManagement(config.subscriptionId);
  const [management, sql, primary, endpoints] = await Promise.allSettled([
    arm.servers.get(config.dr.resourceGroup, server, { abortSignal: options.abortSignal }),
    probeSql(config, options.sqlTimeoutInMs ?? 10_000, options.catchUpWindowInMs ?? 2_000),
    arm.servers.get(config.primary.resourceGroup, config.primary.postgresServer, {
      abortSignal: options.abortSignal,
    }),
    config.promoteMode === 'Switchover'
      ? readVirtualEndpoints(arm, config, options.abortSignal)
      : Promise.resolve(undefined),
  ]);

  if (management.status === 'fulfilled') {
    fromManagement(management.value, config, report, conditions);
  } else {
    const error = management.reason;
    report.facts.managementError = describeError(error);
    if (statusOf(error) === 404) {
      report.facts.exists = false;
      report.note(
        'Unhealthy',
        `Replica server "${server}" is missing: it was not found in resource group "${config.dr.resourceGroup}". Recreate the read replica of "${config.primary.postgresServer}" in ${config.dr.region}, or correct ${CONFIG_SECRETS.replicaPostgresServer}.`,
      );
    } else if (statusOf(error) === 403) {
      // ARM authorizes before it looks the resource up: a name the identity holds no role on answers
      // 403 AuthorizationFailed ("…or the scope is invalid") whether the server exists or not.
      report.note(
        'Unhealthy',
        `The identity may not read replica server "${server}" in resource group "${config.dr.resourceGroup}" (${describeError(error)}): either no server has that name, or the identity lacks the Reader role on it. Check ${CONFIG_SECRETS.replicaPostgresServer} and the role assignments of infra/rbac-dr.json (docs/rbac.md).`,
      );
    } else {
      report.note(
        'Unhealthy',
        `The PostgreSQL management plane (ARM) did not answer for "${server}" after retries (${describeError(error)}): the replica's role and state are unverified, and a promote, which is an ARM operation, would fail now.`,
      );
    }
    conditions.push({
      name: 'replicaRole',
      ok: false,
      detail: 'replica role unverified: ARM did not answer',
    });
  }

  // The primary's own state, not the replica's replicationState, says whether a planned promote can run.
  const primaryReading: PrimaryStateReading =
    primary.status === 'fulfilled'
      ? { state: primary.value.state }
      : { error: describeError(primary.reason) };
  report.facts.primaryState = 'state' in primaryReading ? (primaryReading.state ?? null) : 'unreachable';
  conditions.push(primaryStateCondition(config.primary.postgresServer, primaryReading));

  const servers = { primaryServer: config.primary.postgresServer, replicaServer: server };
  const prerequisites = [
    serverSymmetryCondition(
      config.promoteMode,
      servers,
      primary.status === 'fulfilled'
        ? { size: serverSizeOf(primary.value) }
        : { error: describeError(primary.reason) },
      management.status === 'fulfilled' ? serverSizeOf(management.value) : undefined,
    ),
  ];
  if (config.promoteMode === 'Switchover') {
    const reading: VirtualEndpointsReading =
      endpoints.status === 'fulfilled'
        ? { endpoints: endpoints.value ?? [] }
        : { error: describeError(endpoints.reason) };
    prerequisites.push(
      virtualEndpointCondition({ ...servers, primaryResourceGroup: config.primary.resourceGroup }, reading),
    );
  }
  report.facts.promoteMode = config.promoteMode;
  for (const condition of prerequisites) {
    conditions.push(condition);
    if (!condition.ok && condition.blocksForced) {
      report.note(
        'Degraded',
        `Replica "${server}" cannot be promoted (promote mode ${config.promoteMode}): ${condition.detail}.`,
      );
    }
  }

  const lag = sql.status === 'fulfilled' ? sql.value : ({ kind: 'failed', error: sql.reason } as const);
  const rpoSeconds = judgeLag(lag, config, report, conditions);
  judgeWriteProof(lag, config, report);
  conditions.push(storageRpoCondition(options.storage));

  const built = report.build('replica', rpoSeconds, checkedAt);
  return {
    ...built,
    check: 'replica',
    ...plannedPromoteEligibility(conditions),
    promoteConditions: conditions,
  };
}

/**
 * The virtual endpoints of the primary server. A server without any answers an error rather than an
 * empty list (as the Azure CLI's recorded tests see it); a 404 counts as none.
 */
export async function readVirtualEndpoints(
  arm: PostgreSQLManagementFlexibleServerClient,
  config: DrConfig,
  abortSignal: AbortSignal | undefined,
): Promise<VirtualEndpoint[]> {
  const endpoints: VirtualEndpoint[] = [];
  try {
    for await (const endpoint of arm.virtualEndpoints.listByServer(
      config.primary.resourceGroup,
      config.primary.postgresServer,
      { abortSignal },
    )) {
      endpoints.push(endpoint);
    }
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw error;
  }
  return endpoints;
}

function fromManagement(
  server: Server,
  config: DrConfig,
  report: ReportBuilder,
  conditions: PromoteCondition[],
): void {
  const name = config.dr.replicaServer;
  const role = server.replica?.role ?? server.replicationRole;
  const state = server.state;
  const replicationState = server.replica?.replicationState;
  const location = server.location ?? null;
  const sourceServer = server.sourceServerResourceId?.split('/').at(-1) ?? null;
  Object.assign(report.facts, {
    exists: true,
    location,
    role: role ?? null,
    state: state ?? null,
    replicationState: replicationState ?? null,
    sourceServer,
  } satisfies Record<string, FactValue>);

  if (location && normalizeRegion(location) !== normalizeRegion(config.dr.region)) {
    report.note(
      'Unhealthy',
      `Replica "${name}" is in ${location}, not in the DR region ${config.dr.region}: promoting it would not move Kyvos out of the primary region's failure domain.`,
    );
  }
  if (sourceServer && sourceServer !== config.primary.postgresServer) {
    report.note(
      'Unhealthy',
      `Replica "${name}" replicates from "${sourceServer}", not from the primary "${config.primary.postgresServer}": promoting it would bring up the wrong data.`,
    );
  }

  const isReplica = role !== undefined && REPLICA_ROLES.includes(role);
  if (!isReplica) {
    report.note(
      'Unhealthy',
      `Server "${name}" has replication role ${role ?? 'unknown'}, not AsyncReplica or GeoAsyncReplica: it is not a read replica (already promoted, or ${CONFIG_SECRETS.replicaPostgresServer} names the wrong server).`,
    );
  }
  conditions.push({
    name: 'replicaRole',
    ok: isReplica,
    detail: isReplica ? `role is ${role}` : `role is ${role ?? 'unknown'}, not a read replica`,
  });

  let stateStatus: HealthStatus = 'Healthy';
  if (state !== 'Ready') {
    stateStatus = state && DOWN_STATES.includes(state) ? 'Unhealthy' : 'Degraded';
    report.note(
      stateStatus,
      state && DOWN_STATES.includes(state)
        ? `Replica "${name}" is ${state}: it is not running, so it neither replicates nor could be promoted${state === 'Stopped' ? `; start it: az postgres flexible-server start --name ${name} --resource-group ${config.dr.resourceGroup}` : ''}.`
        : `Replica "${name}" is ${state ?? 'in an unknown state'}, not Ready: an operation is running on it; a promote has to wait for Ready.`,
    );
  }
  conditions.push({ name: 'serverState', ok: state === 'Ready', detail: `state is ${state ?? 'unknown'}` });

  // A server that is down has no replication either; its state already says why, and "recreate the
  // replica" would be the wrong advice for a stopped one.
  const down = state !== undefined && DOWN_STATES.includes(state);
  if (isReplica && !down && replicationState !== 'Active') {
    report.note(
      replicationState === 'Broken' ? 'Unhealthy' : 'Degraded',
      replicationState === 'Broken'
        ? `Replica "${name}" has replicationState Broken: replication from the primary has failed. Recreate the replica; only a forced promote is possible, with the data it has.`
        : `Replica "${name}" has replicationState ${replicationState ?? 'unknown'}, not Active: it is not fully synchronized.`,
    );
  }
  conditions.push({
    name: 'replicationState',
    ok: replicationState === 'Active',
    detail: `replicationState is ${replicationState ?? 'unknown'}`,
  });
}

/** What the SQL probes saw. */
type SqlProbe =
  | { kind: 'not-configured' }
  | { kind: 'failed'; error: unknown }
  | {
      kind: 'ok';
      inRecovery: boolean;
      replayPaused: boolean | null;
      walReceiver: WalReceiverView;
      lastReplayAt: Date | null;
      replayLagSeconds: number | null;
      receivedNotReplayedBytes: number | null;
      bytesBehindPrimary: number | null;
      /** Seconds the replica took to replay up to the target position; null when not behind or not reached. */
      catchUpSeconds: number | null;
      replayLsn: string | null;
      receiveLsn: string | null;
      primary: { kind: 'not-configured' } | { kind: 'ok'; lsn: string } | { kind: 'failed'; error: unknown };
      /** What the catalog says about the write proof's table for the connection user. */
      writeProof: WriteProofGrants;
    };

interface ReplicaRow {
  in_recovery: boolean;
  replay_paused: boolean | null;
  wal_receiver_pid: number | null;
  wal_receiver_status: string | null;
  last_replay_at: Date | null;
  replay_lag_seconds: number | null;
  received_not_replayed_bytes: number | null;
  bytes_behind_primary: number | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
}

/**
 * The replica's lag probe, one round trip; `$1` is the primary's position (`PRIMARY_POSITION_SQL`), or
 * null without the primary connection.
 */
export const REPLICA_LAG_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused,
       ${WAL_RECEIVER_COLUMNS},
       pg_last_xact_replay_timestamp() AS last_replay_at,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_lag_seconds,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS received_not_replayed_bytes,
       pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS bytes_behind_primary,
       pg_last_wal_receive_lsn()::text AS receive_lsn,
       pg_last_wal_replay_lsn()::text AS replay_lsn`;

/**
 * The primary's position the lag is measured against: the insert position, not pg_current_wal_lsn()
 * (the write position): with synchronous_commit off a committed transaction sits in WAL buffers, not
 * yet written or sent, but is at risk all the same.
 */
export const PRIMARY_POSITION_SQL = 'SELECT pg_current_wal_insert_lsn()::text AS lsn';

async function probeSql(config: DrConfig, timeoutInMs: number, catchUpWindowInMs: number): Promise<SqlProbe> {
  const replicaConnection = config.dr.replicaConnection;
  if (!replicaConnection) return { kind: 'not-configured' };
  const primaryConnection = config.primary.postgresConnection;
  // Both connections are opened at once so that the primary's LSN and the replica's are read close
  // together; a failure is handled where each is awaited (the no-op catch only keeps an early
  // rejection from being reported as unhandled meanwhile).
  const primaryClient = primaryConnection ? connectForHealth(primaryConnection, timeoutInMs) : undefined;
  const replicaClient = connectForHealth(replicaConnection, timeoutInMs);
  primaryClient?.catch(() => {});
  replicaClient.catch(() => {});
  try {
    let primary: Extract<SqlProbe, { kind: 'ok' }>['primary'] = { kind: 'not-configured' };
    let readAt = performance.now();
    if (primaryClient) {
      try {
        const client = await primaryClient;
        const result = await client.query<{ lsn: string }>(PRIMARY_POSITION_SQL);
        readAt = performance.now();
        primary = { kind: 'ok', lsn: result.rows[0]?.lsn ?? '' };
      } catch (error) {
        primary = { kind: 'failed', error };
      }
    }
    const client = await replicaClient;
    const result = await client.query<ReplicaRow>(REPLICA_LAG_SQL, [
      primary.kind === 'ok' ? primary.lsn : null,
    ]);
    const row = result.rows[0] as ReplicaRow;
    if (primary.kind !== 'ok') readAt = performance.now();
    const walReceiver = walReceiverView(row.wal_receiver_pid, row.wal_receiver_status);
    // The position the replica is measured against: the primary's, else what the receiver has streamed.
    const streaming = walReceiver.kind === 'visible' && walReceiver.status === 'streaming';
    const target = primary.kind === 'ok' ? primary.lsn : streaming ? row.receive_lsn : null;
    const behind = primary.kind === 'ok' ? row.bytes_behind_primary : row.received_not_replayed_bytes;
    const catchUpSeconds =
      row.in_recovery && target && behind !== null && behind > 0
        ? await waitForReplay(client, target, readAt, catchUpWindowInMs)
        : null;
    const writeProof = await readWriteProofGrants(client);
    return {
      kind: 'ok',
      inRecovery: row.in_recovery,
      replayPaused: row.replay_paused,
      walReceiver,
      lastReplayAt: row.last_replay_at,
      replayLagSeconds: row.replay_lag_seconds,
      receivedNotReplayedBytes: row.received_not_replayed_bytes,
      bytesBehindPrimary: row.bytes_behind_primary,
      catchUpSeconds,
      replayLsn: row.replay_lsn,
      receiveLsn: row.receive_lsn,
      primary,
      writeProof,
    };
  } catch (error) {
    return { kind: 'failed', error };
  } finally {
    for (const pending of [primaryClient, replicaClient]) {
      pending?.then((c) => c.end()).catch(() => {});
    }
  }
}

/**
 * Polls the replica until it has replayed up to `targetLsn`; returns the seconds since `readAt` (when
 * the target was read) at which it had, or null when it has not within the window.
 */
async function waitForReplay(
  client: pg.Client,
  targetLsn: string,
  readAt: number,
  windowInMs: number,
): Promise<number | null> {
  for (;;) {
    const result = await client.query<{ reached: boolean }>(
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS reached',
      [targetLsn],
    );
    const elapsed = performance.now() - readAt;
    if (result.rows[0]?.reached) return elapsed / 1000;
    if (elapsed >= windowInMs) return null;
    await delay(Math.min(100, windowInMs - elapsed));
  }
}

/** Records the lag figures, applies the gate, and returns the database RPO (lagSeconds). */
function judgeLag(
  probe: SqlProbe,
  config: DrConfig,
  report: ReportBuilder,
  conditions: PromoteCondition[],
): number | null {
  const name = config.dr.replicaServer;
  const { maxReplicaLagSeconds, maxReplicaLagBytes } = config.thresholds;
  const connection = config.dr.replicaConnection;
  if (probe.kind === 'not-configured') {
    report.facts.sqlProbe = 'not configured';
    report.facts.rpoNote = `database lag is not measured: ${CONFIG_SECRETS.replicaConnectionString} is not set`;
    conditions.push({
      name: 'lag',
      ok: false,
      detail: `lag unknown: ${CONFIG_SECRETS.replicaConnectionString} is not set`,
    });
    return null;
  }
  if (probe.kind === 'failed') {
    report.facts.sqlProbe = 'failed';
    report.facts.sqlError = describeError(probe.error);
    report.facts.rpoNote = 'database lag is not measured: the replica does not answer SQL';
    report.note(
      'Unhealthy',
      `Replica "${name}" does not answer SQL at ${connection?.host}:${connection?.port} (${describeError(probe.error)}): it is down or unreachable, so it could not serve Kyvos after a promote.`,
    );
    conditions.push({ name: 'lag', ok: false, detail: 'lag unknown: the replica does not answer SQL' });
    return null;
  }

  report.facts.sqlProbe = 'ok';
  const primaryProbe = probe.primary;
  report.facts.primaryProbe = primaryProbe.kind === 'not-configured' ? 'not configured' : primaryProbe.kind;
  if (primaryProbe.kind === 'failed') report.facts.primaryProbeError = describeError(primaryProbe.error);
  const bytesBehindPrimary = nonNegative(probe.bytesBehindPrimary);
  const receivedNotReplayed = nonNegative(probe.receivedNotReplayedBytes);
  const replayLagSeconds =
    probe.replayLagSeconds === null ? null : roundTo(Math.max(0, probe.replayLagSeconds), 1);
  Object.assign(report.facts, {
    inRecovery: probe.inRecovery,
    replayPaused: probe.replayPaused,
    walReceiverStatus:
      probe.walReceiver.kind === 'visible'
        ? probe.walReceiver.status
        : probe.walReceiver.kind === 'hidden'
          ? 'hidden'
          : null,
    lastReplayAt: probe.lastReplayAt?.toISOString() ?? null,
    replayLagSeconds,
    receivedNotReplayedBytes: receivedNotReplayed,
    bytesBehindPrimary,
    primaryLsn: primaryProbe.kind === 'ok' ? primaryProbe.lsn : null,
    receiveLsn: probe.receiveLsn,
    replayLsn: probe.replayLsn,
  } satisfies Record<string, FactValue>);

  if (!probe.inRecovery) {
    report.facts.rpoNote = 'the server is not in recovery, so it has no replication lag';
    report.note(
      'Unhealthy',
      `Replica "${name}" is not in recovery: it is no longer a standby (it was promoted), so it does not follow the primary.`,
    );
    conditions.push({ name: 'lag', ok: false, detail: 'the server is not a standby (not in recovery)' });
    return null;
  }

  const { basis, missingGrant } = lagBasisOf(bytesBehindPrimary, probe.walReceiver, connection?.user ?? '');
  if (missingGrant) {
    report.facts.lagBasisNote = missingGrant;
    report.note(
      'Degraded',
      `Replica "${name}": the lag is measured as replay time (the age of the last replayed transaction), not against a WAL position, because ${missingGrant}; or set ${CONFIG_SECRETS.primaryConnectionString} to measure it against the primary's position.`,
    );
  }
  const lagBytes = basis === 'primary-lsn' ? bytesBehindPrimary : receivedNotReplayed;
  const catchUpSeconds = probe.catchUpSeconds === null ? null : roundTo(probe.catchUpSeconds, 1);
  const lagSeconds =
    basis === 'replay-time' ? replayLagSeconds : lagBytes === 0 ? 0 : (catchUpSeconds ?? replayLagSeconds);
  Object.assign(report.facts, {
    lagBasis: basis,
    catchUpSeconds,
    lagSeconds,
    lagBytes,
  } satisfies Record<string, FactValue>);

  const statuses: HealthStatus[] = [];
  if (lagSeconds !== null) statuses.push(statusAgainstThreshold(lagSeconds, maxReplicaLagSeconds));
  if (lagBytes !== null) statuses.push(statusAgainstThreshold(lagBytes, maxReplicaLagBytes));
  const worst = statuses.includes('Unhealthy')
    ? 'Unhealthy'
    : statuses.includes('Degraded')
      ? 'Degraded'
      : 'Healthy';
  const figures = `${lagSeconds ?? 'unknown'} s and ${formatBytes(lagBytes)} behind ${basis === 'primary-lsn' ? 'the primary' : 'what it received'}`;
  const limits = `${maxReplicaLagSeconds} s / ${formatBytes(maxReplicaLagBytes)}`;
  if (worst !== 'Healthy') {
    const causes = [
      probe.replayPaused
        ? 'WAL replay is paused on the replica (resume it: SELECT pg_wal_replay_resume())'
        : '',
      receiverCause(probe.walReceiver),
    ].filter(Boolean);
    report.note(
      worst,
      `Replica "${name}" lags ${figures}, over ${worst === 'Unhealthy' ? 'twice ' : ''}the threshold of ${limits}${causes.length ? `; ${causes.join('; ')}` : ''}: a failover now would lose the unreplayed transactions.`,
    );
  }
  if (lagSeconds === null) {
    report.facts.rpoNote =
      'no transaction has been replayed since the replica started, so the replay time is unknown';
  }
  const within =
    lagSeconds !== null && lagSeconds <= maxReplicaLagSeconds && (lagBytes ?? 0) <= maxReplicaLagBytes;
  conditions.push({
    name: 'lag',
    ok: within,
    detail: within ? `lag ${figures} is within ${limits}` : `lag ${figures} is not within ${limits}`,
  });
  return lagSeconds;
}

/**
 * The basis of the lag (see `checkReplicaHealth`): the primary's position when the primary probe
 * answered; else what the WAL receiver streamed, when it is seen streaming; else replay time. A
 * receiver whose status is hidden from the connection user (no `pg_read_all_stats`,
 * `walReceiver.ts`) is not taken for a stopped one, nor silently measured by replay time:
 * `missingGrant` says which grant would give the position-based measure back.
 */
export function lagBasisOf(
  bytesBehindPrimary: number | null,
  walReceiver: WalReceiverView,
  user: string,
): { basis: LagBasis; missingGrant?: string } {
  if (bytesBehindPrimary !== null) return { basis: 'primary-lsn' };
  if (walReceiver.kind === 'hidden')
    return { basis: 'replay-time', missingGrant: walReceiverHiddenReason(user) };
  return {
    basis:
      walReceiver.kind === 'visible' && walReceiver.status === 'streaming' ? 'wal-receiver' : 'replay-time',
  };
}

function receiverCause(walReceiver: WalReceiverView): string {
  if (walReceiver.kind === 'hidden')
    return "its WAL receiver's status is hidden from the connection user (it lacks pg_read_all_stats)";
  if (walReceiver.kind === 'visible' && walReceiver.status === 'streaming') return '';
  const status = walReceiver.kind === 'visible' ? walReceiver.status : 'not running';
  return `its WAL receiver is ${status}, so it is not receiving WAL from the primary`;
}

/** A write proof that would fail after a promote makes the replica Unhealthy: preflight refuses every run. */
function judgeWriteProof(probe: SqlProbe, config: DrConfig, report: ReportBuilder): void {
  if (probe.kind !== 'ok' || !probe.inRecovery) return;
  const problem = writeProofProblem(probe.writeProof);
  report.facts.writeProof = problem ? 'missing grant' : 'ready';
  if (problem) {
    report.note(
      'Unhealthy',
      `Replica "${config.dr.replicaServer}": a failover would promote it and then fail to prove that it takes writes, so preflight refuses every run: ${problem}.`,
    );
  }
}

function normalizeRegion(location: string): string {
  return location.toLowerCase().replace(/\s+/g, '');
}

function nonNegative(value: number | null): number | null {
  return value === null ? null : Math.max(0, Math.round(value));
}

function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function formatBytes(value: number | null): string {
  if (value === null) return 'unknown bytes';
  if (value >= MIB) return `${roundTo(value / MIB, 1)} MiB`;
  return `${value} bytes`;
}
