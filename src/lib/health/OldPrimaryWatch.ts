import type { Server } from '@azure/arm-postgresql-flexible';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig, PostgresConnection } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import { statusOf } from '../errors.js';
import type { RecordedFailover } from '../failover/steps/record.js';
import type { Logger } from '../log.js';
import { STOP_IS_TEMPORARY, stopOldPrimaryCommand } from '../promote/stopOldPrimary.js';
import { describeError } from '../redact.js';
import { type FactValue, type HealthStatus, worstStatus } from './HealthReport.js';
import { connectForHealth } from './postgresProbe.js';

/**
 * The split-brain watch. A Standalone promote leaves the old primary a read-write server of its own
 * ("both the primary and the promoted server function as two independent read-write servers",
 * https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote). The
 * failover's fence step stops it, but in a region outage it cannot, and the server starts again when
 * its region comes back; Azure also starts a stopped server after seven days. Once a failover is
 * recorded, every replica health check therefore looks at the old primary.
 */

/** What was seen of the old primary. */
export interface OldPrimaryObservation {
  /** `GET flexibleServers/{old primary}`: its state and replication role, 404, or no answer. */
  arm:
    | { kind: 'ok'; state: string | null; role: string | null }
    | { kind: 'missing' }
    | { kind: 'failed'; error: string };
  /** Over SQL with `kyvos-dr-primary-connection-string`, when it is set. */
  sql:
    | { kind: 'not-configured' }
    | { kind: 'ok'; writability: Writability }
    | { kind: 'failed'; error: string };
}

/** Whether a server accepts writes, as PostgreSQL itself says. */
export interface Writability {
  /** `pg_is_in_recovery()`: a standby takes no writes. */
  inRecovery: boolean;
  /**
   * `default_transaction_read_only` or `transaction_read_only` is on: new transactions are
   * read-only (what Azure sets when storage runs full, or what an operator sets to keep a server
   * for reading only).
   */
  readOnly: boolean;
}

/** The verdict on the old primary, from an observation alone. */
export interface OldPrimaryVerdict {
  status: HealthStatus;
  /** Running and writable after a failover: two servers take Kyvos writes. */
  splitBrain: boolean;
  /** True, false, or null when neither ARM nor SQL could tell. */
  running: boolean | null;
  writable: boolean | null;
  /** How it was judged, for the report. */
  finding: string;
  reasons: string[];
  /** The command that fences it by hand, when it is (or may be) running and writable. */
  fenceCommand: string | null;
}

/** The old primary's part of the replica report after a failover. */
export interface OldPrimaryWatch extends OldPrimaryVerdict {
  server: string;
  resourceGroup: string;
  failoverRunId: string;
  failedOverAt: string | null;
  state: string | null;
  role: string | null;
  inRecovery: boolean | null;
  readOnly: boolean | null;
  armError: string | null;
  sqlProbe: 'ok' | 'not configured' | 'failed';
  sqlError: string | null;
  /** `kyvos-dr-split-brain-auto-fence`. */
  autoFenceAllowed: boolean;
  /** True when this check stopped the old primary. */
  autoFenced: boolean;
  /** When this check tried to stop it; null when it did not try. */
  autoFencedAt: string | null;
  /** What the stop did (`stopped through ARM; …` or the error); null when it did not try. */
  autoFenceResult: string | null;
}

export interface OldPrimaryWatchDeps {
  /** Looks at the old primary (ARM and SQL). */
  observe(): Promise<OldPrimaryObservation>;
  /** Stops the old primary; throws what went wrong. */
  fence(): Promise<void>;
  clock: () => Date;
  logger: Logger;
}

/** Roles of a server that follows another, so takes no writes (`KnownReplicationRole`, @azure/arm-postgresql-flexible). */
const REPLICA_ROLES = ['AsyncReplica', 'GeoAsyncReplica'];
/**
 * ARM states in which the server's engine does not run: stopped, disabled, being deleted, or its
 * data key unusable (`ServerState` in
 * https://github.com/Azure/azure-rest-api-specs/tree/main/specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL).
 */
const NOT_RUNNING_STATES = ['Stopped', 'Disabled', 'Dropping', 'Inaccessible'];

/**
 * Judges the old primary from what was seen; pure.
 *
 * - Running: SQL answered, else ARM's `state` is not one of Stopped, Disabled, Dropping,
 *   Inaccessible (a 404 means it was deleted: not running).
 * - Writable: SQL says not in recovery and not read-only, else (no SQL answer) ARM's replication
 *   role is not a replica's: a standalone server takes writes unless told otherwise.
 * - Running and writable → Unhealthy, split brain, with the command that fences it. Not running, or
 *   running but not writable → Healthy. Neither known → Degraded, with the command to run once it
 *   answers.
 */
export function judgeOldPrimary(
  observation: OldPrimaryObservation,
  context: { config: DrConfig; failover: RecordedFailover },
): OldPrimaryVerdict {
  const { config, failover } = context;
  const server = config.primary.postgresServer;
  const command = stopOldPrimaryCommand(config);
  const { arm, sql } = observation;
  const running =
    sql.kind === 'ok'
      ? true
      : arm.kind === 'missing'
        ? false
        : arm.kind === 'ok' && arm.state
          ? !NOT_RUNNING_STATES.includes(arm.state)
          : null;
  const writable =
    sql.kind === 'ok'
      ? !sql.writability.inRecovery && !sql.writability.readOnly
      : arm.kind === 'ok' && arm.role
        ? !REPLICA_ROLES.includes(arm.role)
        : null;
  const evidence =
    sql.kind === 'ok' ? 'SQL' : sql.kind === 'failed' ? 'ARM (SQL did not answer)' : 'ARM (SQL not probed)';

  if (running === true && writable === true) {
    return {
      status: 'Unhealthy',
      splitBrain: true,
      running,
      writable,
      finding: `running and writable, per ${evidence}`,
      reasons: [
        `split brain: ${server} is running and accepts writes after failover run ${failover.runId} (per ${evidence}); ${config.dr.replicaServer} is the primary now, and writes that reach ${server} are not on it. Fence it now: ${command}. ${STOP_IS_TEMPORARY}.`,
      ],
      fenceCommand: command,
    };
  }
  if (running === false) {
    const how = arm.kind === 'missing' ? 'deleted' : `${arm.kind === 'ok' ? arm.state : 'not running'}`;
    return {
      status: 'Healthy',
      splitBrain: false,
      running,
      writable,
      finding: `fenced: ${how}`,
      reasons: [],
      fenceCommand: null,
    };
  }
  if (running === true && writable === false) {
    const why =
      sql.kind === 'ok'
        ? sql.writability.inRecovery
          ? 'in recovery (a standby)'
          : 'read-only (default_transaction_read_only or transaction_read_only is on)'
        : `a replica (role ${arm.kind === 'ok' ? arm.role : 'unknown'})`;
    return {
      status: 'Healthy',
      splitBrain: false,
      running,
      writable,
      finding: `running, not writable: ${why}`,
      reasons: [],
      fenceCommand: null,
    };
  }
  const armSaid =
    arm.kind === 'failed'
      ? `ARM did not answer (${arm.error})`
      : `ARM shows state ${arm.kind === 'ok' ? (arm.state ?? 'unknown') : 'unknown'}`;
  const sqlSaid =
    sql.kind === 'failed'
      ? `it does not answer SQL (${sql.error})`
      : `${CONFIG_SECRETS.primaryConnectionString} is not set, so SQL was not probed`;
  return {
    status: 'Degraded',
    splitBrain: false,
    running,
    writable,
    finding: 'unknown',
    reasons: [
      `The old primary ${server} could not be checked for split brain after failover run ${failover.runId}: ${armSaid}, and ${sqlSaid}. If it is running, fence it: ${command}.`,
    ],
    fenceCommand: command,
  };
}

/**
 * Looks at the old primary after a recorded failover and, when it is running and writable and
 * `kyvos-dr-split-brain-auto-fence` allows it, stops it once (through `deps.fence`). Returns
 * undefined, and looks at nothing, when no failover is recorded.
 *
 * A stop that worked leaves the part Degraded, not Healthy: the split brain happened, and the writes
 * the old primary took after the failover are on it alone. A stop that failed keeps it Unhealthy.
 */
export async function watchOldPrimary(
  config: DrConfig,
  failover: RecordedFailover | undefined,
  deps: OldPrimaryWatchDeps,
): Promise<OldPrimaryWatch | undefined> {
  if (!failover) return undefined;
  const observation = await deps.observe();
  const verdict = judgeOldPrimary(observation, { config, failover });
  const watch: OldPrimaryWatch = {
    ...verdict,
    ...observed(observation),
    server: config.primary.postgresServer,
    resourceGroup: config.primary.resourceGroup,
    failoverRunId: failover.runId,
    failedOverAt: failover.at ?? null,
    autoFenceAllowed: config.splitBrainAutoFence,
    autoFenced: false,
    autoFencedAt: null,
    autoFenceResult: null,
  };
  if (verdict.splitBrain) {
    deps.logger.error('health.splitBrain', {
      server: watch.server,
      failoverRunId: failover.runId,
      finding: verdict.finding,
      autoFenceAllowed: config.splitBrainAutoFence,
      fenceCommand: verdict.fenceCommand,
    });
  }
  if (!verdict.splitBrain || !config.splitBrainAutoFence) return watch;
  return autoFence(watch, deps);
}

async function autoFence(watch: OldPrimaryWatch, deps: OldPrimaryWatchDeps): Promise<OldPrimaryWatch> {
  const at = deps.clock().toISOString();
  try {
    await deps.fence();
  } catch (error) {
    const result = `could not stop it: ${describeError(error)}`;
    deps.logger.error('health.autoFence', { server: watch.server, autoFenced: false, at, result });
    return {
      ...watch,
      autoFencedAt: at,
      autoFenceResult: result,
      reasons: [
        ...watch.reasons,
        `kyvos-dr tried to stop ${watch.server} at ${at} (${CONFIG_SECRETS.splitBrainAutoFence}) and ${result}; fence it by hand: ${watch.fenceCommand}.`,
      ],
    };
  }
  const result = `stopped through ARM; ${STOP_IS_TEMPORARY}`;
  deps.logger.warn('health.autoFence', { server: watch.server, autoFenced: true, at, result });
  return {
    ...watch,
    status: 'Degraded',
    autoFenced: true,
    autoFencedAt: at,
    autoFenceResult: result,
    reasons: [
      `split brain: ${watch.server} was running and accepted writes after failover run ${watch.failoverRunId}; kyvos-dr stopped it at ${at} (${CONFIG_SECRETS.splitBrainAutoFence}). Writes it took after the failover are on it alone: reconcile them before you delete it. ${STOP_IS_TEMPORARY}.`,
    ],
  };
}

function observed(
  observation: OldPrimaryObservation,
): Pick<
  OldPrimaryWatch,
  'state' | 'role' | 'inRecovery' | 'readOnly' | 'armError' | 'sqlProbe' | 'sqlError'
> {
  const { arm, sql } = observation;
  return {
    state: arm.kind === 'ok' ? arm.state : null,
    role: arm.kind === 'ok' ? arm.role : null,
    inRecovery: sql.kind === 'ok' ? sql.writability.inRecovery : null,
    readOnly: sql.kind === 'ok' ? sql.writability.readOnly : null,
    armError: arm.kind === 'failed' ? arm.error : arm.kind === 'missing' ? 'not found (404)' : null,
    sqlProbe: sql.kind === 'ok' ? 'ok' : sql.kind === 'failed' ? 'failed' : 'not configured',
    sqlError: sql.kind === 'failed' ? sql.error : null,
  };
}

/**
 * The replica report with the old primary's part: its status counts in the report's, its reasons
 * are the report's too, its figures are flat facts (so the log line carries them) and the whole
 * watch is `oldPrimary`.
 */
export function withOldPrimary<
  R extends { status: HealthStatus; reasons: string[]; facts: Record<string, FactValue> },
>(report: R, watch: OldPrimaryWatch): R & { oldPrimary: OldPrimaryWatch } {
  return {
    ...report,
    status: worstStatus(report.status, watch.status),
    reasons: [...report.reasons, ...watch.reasons],
    facts: { ...report.facts, ...oldPrimaryFacts(watch) },
    oldPrimary: watch,
  };
}

/** The watch as flat facts, for the report's `facts` and its log line. */
function oldPrimaryFacts(watch: OldPrimaryWatch): Record<string, FactValue> {
  return {
    oldPrimary: watch.server,
    oldPrimaryStatus: watch.status,
    oldPrimaryFinding: watch.finding,
    oldPrimaryState: watch.state,
    oldPrimaryRole: watch.role,
    oldPrimaryInRecovery: watch.inRecovery,
    oldPrimaryReadOnly: watch.readOnly,
    splitBrain: watch.splitBrain,
    autoFenced: watch.autoFenced,
    autoFencedAt: watch.autoFencedAt,
    autoFenceResult: watch.autoFenceResult,
  };
}

/**
 * Looks at the old primary through ARM (state, replication role) and, when
 * `kyvos-dr-primary-connection-string` is set, over SQL (recovery, read-only), both at once.
 */
export async function observeOldPrimary(
  config: DrConfig,
  clients: ClientFactory,
  options: { abortSignal?: AbortSignal; sqlTimeoutInMs?: number } = {},
): Promise<OldPrimaryObservation> {
  const [arm, sql] = await Promise.all([
    clients
      .postgresManagement(config.subscriptionId)
      .servers.get(config.primary.resourceGroup, config.primary.postgresServer, {
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      })
      .then(
        (server): OldPrimaryObservation['arm'] => ({
          kind: 'ok',
          state: server.state ?? null,
          role: roleOf(server),
        }),
        (error): OldPrimaryObservation['arm'] =>
          statusOf(error) === 404 ? { kind: 'missing' } : { kind: 'failed', error: describeError(error) },
      ),
    config.primary.postgresConnection
      ? probeWritability(config.primary.postgresConnection, options.sqlTimeoutInMs ?? 10_000).then(
          (writability): OldPrimaryObservation['sql'] => ({ kind: 'ok', writability }),
          (error): OldPrimaryObservation['sql'] => ({ kind: 'failed', error: describeError(error) }),
        )
      : Promise.resolve<OldPrimaryObservation['sql']>({ kind: 'not-configured' }),
  ]);
  return { arm, sql };
}

function roleOf(server: Server): string | null {
  return server.replica?.role ?? server.replicationRole ?? null;
}

/** Asks a server whether it takes writes: in recovery, or read-only for new transactions. */
export async function probeWritability(
  connection: PostgresConnection,
  timeoutInMs: number,
): Promise<Writability> {
  const client = await connectForHealth(connection, timeoutInMs);
  try {
    const result = await client.query<{ in_recovery: boolean; default_ro: string; ro: string }>(
      `SELECT pg_is_in_recovery() AS in_recovery,
              current_setting('default_transaction_read_only') AS default_ro,
              current_setting('transaction_read_only') AS ro`,
    );
    const row = result.rows[0];
    if (!row) throw new Error('the writability probe returned no row');
    return { inRecovery: row.in_recovery, readOnly: row.default_ro === 'on' || row.ro === 'on' };
  } finally {
    await client.end().catch(() => {});
  }
}
