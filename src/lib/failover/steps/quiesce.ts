import { delay } from '@azure/core-util';
import type pg from 'pg';
import type { PostgresConnection } from '../../config/DrConfig.js';
import { CONFIG_SECRETS } from '../../config/secretNames.js';
import { connectForHealth } from '../../health/postgresProbe.js';
import { readLastSyncTime } from '../../health/StorageGeoReplication.js';
import { WAL_RECEIVER_COLUMNS, walReceiverHiddenReason, walReceiverView } from '../../health/walReceiver.js';
import type { FailoverRun } from '../FailoverRun.js';
import { type WalReader, waitForQuiescedWal, waitForStorageSync } from '../quiesceChecks.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/** `detail.waitingFor` of a quiesce step paused at its manual action; only a confirmation resumes it. */
export const AWAITING_CONFIRMATION = 'operator-confirmation';
/** `detail.waitingFor` once confirmed, while the step checks the WAL and the storage sync. */
export const CHECKING_QUIESCE = 'quiesce-checks';

/**
 * A planned failover loses no acknowledged write only if nothing writes to the primary side once the
 * replica and the storage secondary have caught up. Azure offers no way to stop the writers:
 *
 * - A `Planned` promote "ensures that data is synchronized before promoting. It applies all the
 *   pending logs" (https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-read-replicas-promote):
 *   pending at the promote. With `Standalone` both servers then "function as two independent
 *   read-write servers": a write that reaches the old primary after the catch-up, before
 *   `database.fence` stops it, is acknowledged and lost.
 * - `Switchover` ("promote to primary server") demotes the old primary to a replica, but the page
 *   does not say that it refuses writes before the final catch-up, and it does nothing for the
 *   storage: the copy reads the RA-GRS secondary, which lacks every blob write after its
 *   `lastSyncTime`. Kyvos has to be stopped for the storage either way, so the quiesce is required
 *   with Switchover too.
 *
 * So a planned, non-dry run pauses here at a manual action, as Azure Site Recovery recovery plans do
 * (https://learn.microsoft.com/en-us/azure/site-recovery/recovery-plan-overview): the operator stops
 * Kyvos and confirms (`POST /api/failover/{runId}/confirm`, `kyvos-dr confirm`); the moment of the
 * confirmation is the quiesce moment. The step then checks, with timeouts, that the WAL position no
 * longer moves and the replica has replayed it, and that the storage secondary's `lastSyncTime` has
 * passed the quiesce moment; only then do the promote and the copy start. A forced run (a region
 * outage: there is no primary to stop) skips it and records why.
 *
 * Idempotent: a worker that takes the step over after a crash checks again.
 */
export async function quiesce(ctx: StepContext): Promise<StepOutcome> {
  const { run, config } = ctx;
  if (run.request.mode === 'forced') {
    return {
      detail: {
        required: false,
        reason:
          'forced failover: Kyvos was not stopped and nothing was checked; the data loss is the estimate at decision',
      },
    };
  }
  if (!run.quiesce) {
    const instruction = quiesceInstruction(run, config.primary.postgresServer, config.primary.storageAccount);
    ctx.logger.info('failover.quiesce_waiting', { runId: run.runId, instruction });
    return {
      waiting: true,
      detail: {
        required: true,
        waitingFor: AWAITING_CONFIRMATION,
        // Each re-check returns here: the wait started at the first one.
        waitingSince: run.steps.quiesce.detail?.waitingSince ?? ctx.clock().toISOString(),
        instruction,
        quiescedAt: null,
        confirmedBy: null,
        database: null,
        storage: null,
      },
    };
  }

  const quiescedAt = new Date(run.quiesce.confirmedAt);
  const { options } = ctx;
  // One wait failing ends the other: the step fails with the first reason.
  const stop = new AbortController();
  const abortSignal = ctx.abortSignal ? AbortSignal.any([ctx.abortSignal, stop.signal]) : stop.signal;
  const deps = { clock: ctx.clock, sleep: (ms: number) => delay(ms, { abortSignal }) };
  try {
    const [database, storage] = await Promise.all([
      waitForQuiescedWal(
        walReader(ctx),
        {
          primaryServer: config.primary.postgresServer,
          replicaServer: config.dr.replicaServer,
          steadyIntervalInMs: options.walSteadyIntervalInMs,
          timeoutInMs: options.walQuiesceTimeoutInMs,
        },
        deps,
      ),
      waitForStorageSync(
        () => readLastSyncTime(config, ctx.clients, { abortSignal }),
        {
          account: config.primary.storageAccount,
          quiescedAt,
          timeoutInMs: options.storageSyncTimeoutInMs,
          pollIntervalInMs: options.storageSyncPollIntervalInMs,
        },
        deps,
      ),
    ]).catch((error: unknown) => {
      stop.abort();
      throw error;
    });
    ctx.logger.info('failover.quiesce_checked', {
      runId: run.runId,
      quiescedAt: run.quiesce.confirmedAt,
      confirmedBy: run.quiesce.confirmedBy,
      finalLsn: database.finalLsn,
      replicaReplayLsn: database.replicaReplayLsn,
      lastSyncTime: storage.lastSyncTime,
    });
    return {
      detail: {
        required: true,
        waitingFor: null,
        instruction: null,
        quiescedAt: run.quiesce.confirmedAt,
        confirmedBy: run.quiesce.confirmedBy,
        database: { quiesced: true, ...database },
        storage: { synced: true, ...storage },
      },
    };
  } finally {
    stop.abort();
  }
}

/** What the operator is asked to do; the status URL, the log and the CLI show it. */
function quiesceInstruction(run: FailoverRun, postgresServer: string, storageAccount: string): string {
  return `Stop Kyvos (writes to PostgreSQL server ${postgresServer} and storage account ${storageAccount}), then confirm: POST /api/failover/${run.runId}/confirm {"kyvosStopped":true} or kyvos-dr confirm ${run.runId}. The promote and the copy wait for it.`;
}

/**
 * Reads the primary's WAL positions over the primary connection string when one is configured. Without it (it is optional), the replica's received position stands in: steady while
 * its WAL receiver is streaming means the primary sends nothing new. A planned run always has the
 * replica connection: preflight refuses one whose lag could not be measured.
 */
function walReader(ctx: StepContext): WalReader {
  const { config } = ctx;
  const replica = config.dr.replicaConnection;
  if (!replica) {
    throw new Error(
      `Cannot check the quiesce: no connection string for the replica "${config.dr.replicaServer}" (kyvos-dr-replica-connection-string).`,
    );
  }
  const primary = config.primary.postgresConnection;
  const replayed = async (lsn: string) =>
    query(replica, async (client) => {
      const row = (
        await client.query<{ replay_lsn: string | null; reached: boolean | null }>(
          'SELECT pg_last_wal_replay_lsn()::text AS replay_lsn, pg_last_wal_replay_lsn() >= $1::pg_lsn AS reached',
          [lsn],
        )
      ).rows[0];
      return { replayLsn: row?.replay_lsn ?? null, reached: row?.reached === true };
    });
  if (primary) {
    return {
      basis: 'primary',
      // Both the insert and the flush position must stay still. With synchronous_commit off, a
      // commit is acknowledged from the WAL buffers (insert position moved, not yet flushed) and the
      // WAL writer flushes it within 3 × wal_writer_delay (200 ms by default): a flush position
      // that no longer moves over the interval covers it. The flush position is the one the replica
      // must reach (an insert position at a page boundary counts the next page's header, which no
      // record ends at).
      position: () =>
        query(primary, async (client) => {
          const row = (
            await client.query<{ insert_lsn: string; flush_lsn: string }>(
              'SELECT pg_current_wal_insert_lsn()::text AS insert_lsn, pg_current_wal_flush_lsn()::text AS flush_lsn',
            )
          ).rows[0];
          if (!row?.flush_lsn) throw new Error('pg_current_wal_flush_lsn() returned nothing');
          return { position: `${row.insert_lsn}/${row.flush_lsn}`, lsn: row.flush_lsn };
        }),
      replayed,
    };
  }
  return {
    basis: 'replica-received',
    position: () =>
      query(replica, async (client) => {
        const row = (
          await client.query<{
            lsn: string | null;
            wal_receiver_pid: number | null;
            wal_receiver_status: string | null;
          }>(`SELECT pg_last_wal_receive_lsn()::text AS lsn, ${WAL_RECEIVER_COLUMNS}`)
        ).rows[0];
        const receiver = walReceiverView(row?.wal_receiver_pid, row?.wal_receiver_status);
        if (receiver.kind === 'hidden') {
          throw new Error(
            `${walReceiverHiddenReason(replica.user)}, so whether its received position is the primary's cannot be told; or set ${CONFIG_SECRETS.primaryConnectionString} to read the primary's`,
          );
        }
        if (receiver.kind !== 'visible' || receiver.status !== 'streaming' || !row?.lsn) {
          throw new Error(
            `the replica's WAL receiver is ${receiver.kind === 'visible' ? receiver.status : 'not running'}, so its received position says nothing about the primary; set ${CONFIG_SECRETS.primaryConnectionString} to read the primary's`,
          );
        }
        return { position: row.lsn, lsn: row.lsn };
      }),
    replayed,
  };
}

async function query<T>(connection: PostgresConnection, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectForHealth(connection, 10_000, 'kyvos-dr-failover');
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}
