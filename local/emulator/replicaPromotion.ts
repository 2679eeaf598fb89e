import { describeError } from '../../src/lib/redact.js';
import type { LocalFlexibleServer, PgInstance, PgInstanceStatus, RegionRole } from '../types.js';
import { ArmError } from './armErrors.js';
import { delay } from './http.js';

export type PromoteMode = 'Standalone' | 'Switchover';
export type PromoteOption = 'Planned' | 'Forced';

export interface PromotionRequest {
  replica: LocalFlexibleServer;
  /** The replica's source server; undefined when ARM no longer knows it. */
  source: LocalFlexibleServer | undefined;
  mode: PromoteMode;
  option: PromoteOption;
  /** How long a Planned promotion waits for the replica to catch up. */
  plannedTimeoutInMs: number;
  isRegionDown(region: RegionRole): boolean;
}

/** How often catch-up progress is read. */
const POLL_INTERVAL_IN_MS = 100;
/** After a planned switchover stops the old primary, how long the replica gets to replay its last WAL. */
const FINAL_REPLAY_TIMEOUT_IN_MS = 15_000;

/**
 * Promotes a read replica as `Servers_Update` with `properties.replica` does, on the real instances.
 *
 * - **Planned** needs a connected replica (`replicationState` Active or Catchup). It takes as target
 *   the WAL of everything the primary has committed when the operation starts (or what the replica
 *   has received, when the primary cannot be asked) and waits, up to `plannedTimeoutInMs`, until
 *   the replica has replayed up to it: nothing committed before the request is lost. Writes that
 *   keep arriving meanwhile do not hold the promotion back.
 * - **Forced** promotes at once, with whatever the replica has.
 * - **Standalone** leaves the old primary alone: it stays writable, as in Azure.
 * - **Switchover** needs the old primary's region up. The old primary is stopped cleanly before the
 *   promotion (Planned then also waits for the replica to replay that last WAL; Forced does not
 *   wait), then follows the new primary as a standby, and ARM swaps the roles. Stopping it first,
 *   rather than after the promotion, keeps writes from landing on the old primary that the new one
 *   never gets: such a server could not follow the new primary.
 *
 * ARM state (`role`, `sourceServer`) changes only once the instance is promoted. Failures throw an
 * `ArmError` whose message says what to do.
 */
export async function promoteReplica(request: PromotionRequest): Promise<void> {
  const { replica, source, mode, option } = request;
  const label = `replica "${replica.name}" (${replica.resourceGroup})`;
  const status = await readStatus(replica.instance);
  if (!status.running) {
    throw promotionFailed(
      `Cannot promote ${label}: its PostgreSQL instance is not running. Start the server first.`,
    );
  }
  const sourceUsable = source !== undefined && !request.isRegionDown(source.region);
  if (mode === 'Switchover' && !sourceUsable) {
    throw promotionFailed(
      `Cannot switch over to ${label}: its primary server${source ? ` "${source.name}"` : ''} is not reachable ` +
        '(its region is down or ARM does not know it). Use promoteMode Standalone.',
    );
  }
  const alreadyPromoted = status.inRecovery === false;

  if (option === 'Planned' && !alreadyPromoted) {
    const state = replicationStateOf(status);
    if (state === 'Broken') {
      throw promotionFailed(
        `Cannot promote ${label} with promoteOption Planned: replicationState is Broken; use promoteOption Forced`,
      );
    }
    const primaryLsn =
      sourceUsable && source.instance.isRunning() ? await committedLsn(source.instance) : undefined;
    await waitForReplay(replica.instance, primaryLsn, request.plannedTimeoutInMs, label);
  }
  if (mode === 'Switchover' && source?.instance.isRunning() && !alreadyPromoted) {
    // A clean shutdown hands the old primary's last WAL to the replica; a primary that kept running
    // past the promotion would hold writes the new primary never got, and could not follow it.
    await source.instance.stop('fast');
    if (option === 'Planned')
      await waitForReplay(replica.instance, undefined, FINAL_REPLAY_TIMEOUT_IN_MS, label);
  }

  if (!alreadyPromoted) await replica.instance.promote();
  replica.role = 'primary';
  replica.sourceServer = undefined;

  if (mode === 'Switchover' && source) {
    try {
      if (source.instance.isRunning()) await source.instance.stop('fast');
      await source.instance.followAsStandby(replica.instance);
      if (!source.instance.isRunning()) await source.instance.start();
    } catch (error) {
      throw promotionFailed(
        `Promoted ${label}, but the former primary "${source.name}" could not follow it as a replica: ` +
          `${describeError(error)}. Recreate the replica.`,
      );
    }
    source.role = 'replica';
    source.sourceServer = replica.name;
    source.stoppedByArm = false;
  }
}

/**
 * `replica.replicationState` of a read replica, from its WAL receiver and whether its primary can be
 * reached. The documented values (ReplicationState, Microsoft.DBforPostgreSQL 2024-08-01;
 * https://learn.microsoft.com/javascript/api/@azure/arm-postgresql-flexible/knownreplicationstate):
 * Active "fully synchronized and actively replicating", Catchup "behind the primary and catching
 * up", Provisioning, Updating (compute change or promotion; `serverBody` shows it while an
 * operation runs), Broken "replication has failed or been interrupted", Reconfiguring.
 *
 * The state is the service's view of the replication link, not a live probe of the primary: a
 * replica whose primary became unreachable (its region down, the server stopped) keeps reading
 * Active, which is why a planned promote cannot rely on it and checks the primary's own state
 * (`plannedPromoteRefusal`). Broken is kept for a replica that cannot replicate although its
 * primary is up (the WAL receiver is gone or failing) or whose own instance is down.
 */
export function replicationStateOf(
  status: PgInstanceStatus,
  primaryReachable = true,
): 'Active' | 'Catchup' | 'Broken' {
  if (!status.running) return 'Broken';
  switch (status.walReceiverStatus) {
    case 'streaming':
      return 'Active';
    case 'catchup':
    case 'starting':
    case 'startup':
      return 'Catchup';
    default:
      return primaryReachable ? 'Broken' : 'Active';
  }
}

/**
 * Whether the replica's source server is available to ARM: known, its region up, not stopped, its
 * instance running.
 */
export function primaryAvailability(
  source: LocalFlexibleServer | undefined,
  isRegionDown: (region: RegionRole) => boolean,
): { available: true } | { available: false; state: string } {
  if (source === undefined) return { available: false, state: 'unknown to ARM' };
  if (isRegionDown(source.region)) return { available: false, state: 'unreachable (its region is down)' };
  if (source.stoppedByArm) return { available: false, state: 'Stopped' };
  if (!source.instance.isRunning()) return { available: false, state: 'Inaccessible' };
  return { available: true };
}

/**
 * The refusal of a Planned promote whose primary is not available, or undefined.
 *
 * "Promote read replicas" (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote):
 * a planned promote synchronizes the replica with its primary first, so both servers must be
 * available; a forced promote runs whatever the primary's state, for a regional outage. Azure does
 * not document the error code or message of this refusal: the code is the one this emulator already
 * answers for a promotion the service refuses (`ReadReplicaPromotionFailed`, 409), answered at the
 * PATCH itself, before any operation starts, as ARM answers a request it validates up front.
 */
export function plannedPromoteRefusal(
  replica: LocalFlexibleServer,
  source: LocalFlexibleServer | undefined,
  isRegionDown: (region: RegionRole) => boolean,
): ArmError | undefined {
  const primary = primaryAvailability(source, isRegionDown);
  if (primary.available) return undefined;
  return promotionFailed(
    `Cannot promote replica "${replica.name}" (${replica.resourceGroup}) with promoteOption Planned: its primary ` +
      `server${source ? ` "${source.name}"` : ''} is ${primary.state}. A planned promote needs both servers available; ` +
      'use promoteOption Forced if the primary region is down.',
  );
}

/** The instance's status; a failure to ask counts as not running. */
export async function readStatus(instance: PgInstance): Promise<PgInstanceStatus> {
  if (!instance.isRunning()) return { running: false };
  try {
    return await instance.status();
  } catch {
    return { running: false };
  }
}

/**
 * The WAL position that covers every transaction committed on the primary so far.
 *
 * With `synchronous_commit = off` (as on the local stack) a commit may still sit unflushed in the
 * WAL buffers, where no standby can receive it, and `pg_current_wal_flush_lsn()` is behind it. So
 * one transaction is committed synchronously first: its commit flushes the WAL up to it, and with
 * it everything committed before. It writes a transactional logical-decoding message (prefix
 * `kyvos-dr-emulator`), because a transaction must write WAL for its commit to be flushed; the
 * message changes no data and only a logical decoding plugin would see it.
 */
async function committedLsn(primary: PgInstance): Promise<string | undefined> {
  try {
    await primary.query(
      "SELECT set_config('synchronous_commit', 'on', true), pg_logical_emit_message(true, 'kyvos-dr-emulator', 'planned promotion')",
    );
    const rows = await primary.query<{ lsn: string | null }>(
      'SELECT pg_current_wal_flush_lsn()::text AS lsn',
    );
    return rows[0]?.lsn ?? undefined;
  } catch {
    return undefined;
  }
}

interface ReplayProgress {
  target: string | null;
  replayed: string | null;
  remainingBytes: number;
  paused: boolean;
}

/**
 * Waits until the replica has replayed up to `targetLsn`, or, without one, up to what it has
 * received when the wait starts.
 */
async function waitForReplay(
  replica: PgInstance,
  targetLsn: string | undefined,
  timeoutInMs: number,
  label: string,
): Promise<void> {
  const [first] = await replica.query<{ target: string | null }>(
    'SELECT GREATEST($1::pg_lsn, pg_last_wal_receive_lsn())::text AS target',
    [targetLsn ?? null],
  );
  const target = first?.target ?? null;
  if (target === null) return;
  const deadline = Date.now() + timeoutInMs;
  let progress: ReplayProgress;
  for (;;) {
    const [row] = await replica.query<{ replayed: string | null; remaining: string | null; paused: boolean }>(
      `SELECT pg_last_wal_replay_lsn()::text AS replayed,
              pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS remaining,
              pg_is_wal_replay_paused() AS paused`,
      [target],
    );
    progress = {
      target,
      replayed: row?.replayed ?? null,
      remainingBytes: Number(row?.remaining ?? Number.POSITIVE_INFINITY),
      paused: row?.paused === true,
    };
    if (progress.remainingBytes <= 0) return;
    if (Date.now() >= deadline) break;
    await delay(POLL_INTERVAL_IN_MS);
  }
  throw promotionFailed(
    `Cannot promote ${label} with promoteOption Planned: it has not replayed up to LSN ${progress.target} within ` +
      `${timeoutInMs / 1000} s (replayed ${progress.replayed ?? 'nothing'}, ${progress.remainingBytes} bytes ` +
      `behind${progress.paused ? ', WAL replay is paused' : ''}). Resolve the lag or use promoteOption Forced.`,
  );
}

function promotionFailed(message: string): ArmError {
  return new ArmError(409, 'ReadReplicaPromotionFailed', message);
}
