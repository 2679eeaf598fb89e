import { describeError } from '../redact.js';

/**
 * The two waits of a planned run's quiesce, after the operator confirmed that Kyvos is stopped: the
 * database's WAL no longer moves and the replica has replayed it, and the storage secondary has
 * synced past the quiesce moment. Each reads through functions it is given and waits with the
 * `sleep` it is given, so the decisions are tested with a fake clock.
 */
export interface WaitDeps {
  clock: () => Date;
  /** Waits `ms` (rejects when `abortSignal` aborts); `@azure/core-util` `delay` in the app. */
  sleep: (ms: number) => Promise<void>;
}

/** A wait that ran out of time. `detail` goes into the step's detail on the status URL. */
export class QuiesceTimeout extends Error {
  override readonly name = 'QuiesceTimeout';
  constructor(
    message: string,
    readonly detail: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** One reading of the secondary's last sync time; null when no source reported one. */
export interface LastSyncReading {
  lastSyncTime: Date | null;
  /** Why there is no usable reading, when there is none (a source failed, none reported a time). */
  problem?: string;
}

export interface StorageSyncOptions {
  /** The primary storage account, for the messages. */
  account: string;
  /** When the primary stopped taking writes: the operator's confirmation. */
  quiescedAt: Date;
  timeoutInMs: number;
  pollIntervalInMs: number;
}

export interface StorageSyncResult {
  quiescedAt: string;
  lastSyncTime: string;
  waitedSeconds: number;
  readings: number;
}

/**
 * Waits until the secondary's `lastSyncTime` is later than the quiesce moment. Azure documents it as
 * "all primary writes preceding this value are guaranteed to be available for read operations at
 * the secondary" (Get Blob Service Stats, `GeoReplication.LastSyncTime`, to the second;
 * https://learn.microsoft.com/en-us/rest/api/storageservices/get-blob-service-stats), so only a
 * time strictly after the moment covers a write made in the same second. The failover copy reads
 * the secondary: before that, it would miss the writes made since the last sync. Throws
 * `QuiesceTimeout` naming the account and the last time read when it does not get there in time.
 */
export async function waitForStorageSync(
  read: () => Promise<LastSyncReading>,
  options: StorageSyncOptions,
  deps: WaitDeps,
): Promise<StorageSyncResult> {
  const started = deps.clock().getTime();
  const quiescedAt = options.quiescedAt.getTime();
  let readings = 0;
  let last: LastSyncReading = { lastSyncTime: null };
  for (;;) {
    try {
      last = await read();
    } catch (error) {
      last = { lastSyncTime: null, problem: describeError(error) };
    }
    readings += 1;
    const now = deps.clock().getTime();
    if (last.lastSyncTime && last.lastSyncTime.getTime() > quiescedAt) {
      return {
        quiescedAt: options.quiescedAt.toISOString(),
        lastSyncTime: last.lastSyncTime.toISOString(),
        waitedSeconds: seconds(now - started),
        readings,
      };
    }
    const remaining = options.timeoutInMs - (now - started);
    if (remaining <= 0) {
      const seen = last.lastSyncTime
        ? `its lastSyncTime is still ${last.lastSyncTime.toISOString()}`
        : `no lastSyncTime could be read${last.problem ? ` (${last.problem})` : ''}`;
      throw new QuiesceTimeout(
        `The storage secondary of "${options.account}" has not synced past the quiesce moment ${options.quiescedAt.toISOString()} within ${seconds(options.timeoutInMs)} s: ${seen}. The copy reads the secondary, which would lack the writes made since then, so nothing was copied or promoted. Check the account's geo-replication (status Live, lastSyncTime advancing), then retry the run.`,
        {
          storage: {
            synced: false,
            quiescedAt: options.quiescedAt.toISOString(),
            lastSyncTime: last.lastSyncTime?.toISOString() ?? null,
            readings,
          },
        },
      );
    }
    await deps.sleep(Math.min(options.pollIntervalInMs, remaining));
  }
}

/**
 * Reads a WAL position and whether the replica has replayed a position. The position is the
 * primary's (its insert and flush positions) when a primary connection is configured, else what the
 * replica's WAL receiver has received.
 */
export interface WalReader {
  /** Where the position is read, for the messages: the primary server, or the replica's receiver. */
  basis: 'primary' | 'replica-received';
  /**
   * `position`: what must not change between two readings (nothing writes any more); `lsn`: the
   * position the replica must have replayed.
   */
  position(): Promise<{ position: string; lsn: string }>;
  /** The replica's `pg_last_wal_replay_lsn()`, and whether it is at or past `lsn`. */
  replayed(lsn: string): Promise<{ replayLsn: string | null; reached: boolean }>;
}

export interface WalQuiesceOptions {
  /** The server whose position is read, and the replica, for the messages. */
  primaryServer: string;
  replicaServer: string;
  steadyIntervalInMs: number;
  timeoutInMs: number;
}

export interface WalQuiesceResult {
  basis: WalReader['basis'];
  /** The position that stayed the same over `steadyIntervalInMs`: the last write of the old primary. */
  finalLsn: string;
  /** The replica's replay position when it had replayed `finalLsn`. */
  replicaReplayLsn: string | null;
  steadyOverSeconds: number;
  waitedSeconds: number;
  /** How many times the position was found moving. */
  movedReadings: number;
}

/**
 * Waits until the WAL position stays the same over `steadyIntervalInMs` (nothing writes any more)
 * and the replica has replayed up to it (`pg_last_wal_replay_lsn() >= position`): from then on the
 * replica holds every transaction the primary acknowledged, and a Planned promote, which "applies
 * all the pending logs", loses none. A position that moves means something still writes: wait,
 * and fail with both positions at the timeout. A read that fails is retried until then too.
 */
export async function waitForQuiescedWal(
  reader: WalReader,
  options: WalQuiesceOptions,
  deps: WaitDeps,
): Promise<WalQuiesceResult> {
  const started = deps.clock().getTime();
  const where =
    reader.basis === 'primary'
      ? `the primary "${options.primaryServer}"`
      : `the WAL the replica "${options.replicaServer}" receives`;
  let previous: { position: string; lsn: string } | undefined;
  let moved = 0;
  let lastMove: { from: string; to: string } | undefined;
  let notReplayed: { lsn: string; replayLsn: string | null } | undefined;
  let problem: string | undefined;
  for (;;) {
    try {
      const current = await reader.position();
      problem = undefined;
      if (previous !== undefined && current.position !== previous.position) {
        moved += 1;
        lastMove = { from: previous.lsn, to: current.lsn };
        notReplayed = undefined;
      } else if (previous !== undefined) {
        const replay = await reader.replayed(current.lsn);
        if (replay.reached) {
          return {
            basis: reader.basis,
            finalLsn: current.lsn,
            replicaReplayLsn: replay.replayLsn,
            steadyOverSeconds: seconds(options.steadyIntervalInMs),
            waitedSeconds: seconds(deps.clock().getTime() - started),
            movedReadings: moved,
          };
        }
        notReplayed = { lsn: current.lsn, replayLsn: replay.replayLsn };
      }
      previous = current;
    } catch (error) {
      problem = describeError(error);
    }
    const remaining = options.timeoutInMs - (deps.clock().getTime() - started);
    if (remaining <= 0) throw walTimeout(options, where, { lastMove, notReplayed, problem, moved });
    await deps.sleep(Math.min(options.steadyIntervalInMs, remaining));
  }
}

function walTimeout(
  options: WalQuiesceOptions,
  where: string,
  seen: {
    lastMove: { from: string; to: string } | undefined;
    notReplayed: { lsn: string; replayLsn: string | null } | undefined;
    problem: string | undefined;
    moved: number;
  },
): QuiesceTimeout {
  const within = `within ${seconds(options.timeoutInMs)} s of the confirmation`;
  const after = 'Nothing was promoted or copied; retry the run once that is fixed, and confirm again.';
  let message: string;
  if (seen.problem) {
    message = `The WAL position of ${where} could not be read ${within}: ${seen.problem}. ${after}`;
  } else if (seen.notReplayed) {
    message = `The replica "${options.replicaServer}" has not replayed ${where}'s final WAL position ${seen.notReplayed.lsn} (it is at ${seen.notReplayed.replayLsn ?? 'unknown'}) ${within}: check that replication is Active and replay is not paused. ${after}`;
  } else {
    const move = seen.lastMove ? ` (${seen.lastMove.from} → ${seen.lastMove.to})` : '';
    message = `The WAL position of ${where} still moves${move} ${within}: something still writes to it. Stop every writer (Kyvos, jobs, maintenance). ${after}`;
  }
  return new QuiesceTimeout(message, {
    database: {
      quiesced: false,
      movedReadings: seen.moved,
      lastMove: seen.lastMove ?? null,
      notReplayed: seen.notReplayed ?? null,
    },
  });
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
