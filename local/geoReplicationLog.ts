/**
 * The decisions of the local stack's geo-replication, with no I/O: which of the primary's writes the
 * secondary holds at a given time, and the `lastSyncTime` it reports.
 *
 * Azure's definition, which this follows: "All primary writes preceding this value are guaranteed to
 * be available for read operations at the secondary. Primary writes after this point in time may or
 * may not be available for reads." It is "a GMT date/time value, to the second"
 * (learn.microsoft.com/javascript/api/@azure/storage-blob/georeplication, `lastSyncOn`;
 * learn.microsoft.com/azure/storage/common/last-sync-time-get). Here the secondary holds exactly the
 * writes recorded up to `lastSyncTime` and none after it, the strictest reading: a write after it is
 * really missing, a delete after it has not happened there.
 */

/** One write the primary acknowledged, in the form the secondary replays it. */
export type ReplicatedWrite =
  /**
   * A blob's new state: `staged` names the copy of its content taken when the primary acknowledged
   * the write; null when the blob no longer existed (a delete).
   */
  | { kind: 'blob'; container: string; blob: string; staged: string | null }
  | { kind: 'createContainer'; container: string }
  | { kind: 'deleteContainer'; container: string };

export interface LoggedWrite {
  seq: number;
  /** When the primary acknowledged it (ms since the epoch). */
  at: number;
  write: ReplicatedWrite;
}

/** What lets replication advance. */
export interface ReplicationConditions {
  /** How far the secondary is behind the primary while replication runs. */
  delayMs: number;
  /** Replication was paused at this time; the secondary does not pass it. */
  pausedAt: Date | null;
  /**
   * Replication cannot run at all: the primary region is down (nothing sends writes), the DR region
   * is down or the secondary is unavailable (nothing receives them).
   */
  halted: boolean;
}

/** Whole seconds: `lastSyncTime` is a time "to the second". */
function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/**
 * The log of the primary's writes not yet on the secondary, and how far the secondary has synced.
 * Writes are recorded in the order of their acknowledgement; the secondary replays them in that
 * order, and `lastSyncTime` moves only once every write up to it has been replayed.
 */
export class GeoReplicationLog {
  private readonly pending: LoggedWrite[] = [];
  private syncedThrough: number;
  private nextSeq = 1;

  constructor(now: number, delayMs: number) {
    this.syncedThrough = floorToSecond(now - delayMs);
  }

  /** The secondary holds every write recorded before this time, and none recorded after it. */
  lastSyncTime(): Date {
    return new Date(this.syncedThrough);
  }

  /** Writes the secondary does not hold yet, oldest first. */
  backlog(): readonly LoggedWrite[] {
    return this.pending;
  }

  /**
   * With no delay, nothing paused or halted and nothing queued, a write is on the secondary as
   * soon as it is acknowledged (the local stack's behaviour without lag): it need not be logged.
   */
  appliesAtOnce(conditions: ReplicationConditions): boolean {
    return (
      conditions.delayMs === 0 &&
      !conditions.halted &&
      conditions.pausedAt === null &&
      this.pending.length === 0
    );
  }

  /** Sequence number for the staged copy of a write about to be recorded. */
  reserveSeq(): number {
    return this.nextSeq++;
  }

  /** Records an acknowledged write at `at`; times never go backwards in the log. */
  record(seq: number, write: ReplicatedWrite, at: number): LoggedWrite {
    const last = this.pending.at(-1);
    const logged = { seq, at: Math.max(at, last?.at ?? at, this.syncedThrough + 1), write };
    this.pending.push(logged);
    return logged;
  }

  /**
   * The time the secondary can sync to now: `delayMs` behind, never past the moment replication
   * was paused, not moving while halted, never going back.
   */
  target(now: number, conditions: ReplicationConditions): number {
    if (conditions.halted) return this.syncedThrough;
    const reachable = Math.min(now, conditions.pausedAt?.getTime() ?? now);
    return Math.max(this.syncedThrough, floorToSecond(reachable - conditions.delayMs));
  }

  /** The writes to replay, in order, to sync to `target`. */
  due(target: number): LoggedWrite[] {
    const due: LoggedWrite[] = [];
    for (const logged of this.pending) {
      if (logged.at > target) break;
      due.push(logged);
    }
    return due;
  }

  /**
   * Forgets every write the secondary does not hold yet and returns them: an unplanned failover
   * loses them.
   */
  discardBacklog(): LoggedWrite[] {
    return this.pending.splice(0);
  }

  /** The oldest pending write has been replayed on the secondary. */
  replayed(logged: LoggedWrite): void {
    if (this.pending[0] !== logged)
      throw new Error('Writes must be replayed in the order they were recorded');
    this.pending.shift();
  }

  /** Every write up to `target` has been replayed: `lastSyncTime` moves to it. */
  syncedTo(target: number): void {
    const first = this.pending[0];
    if (first && first.at <= target) {
      throw new Error(`Cannot sync to ${new Date(target).toISOString()}: write ${first.seq} is not replayed`);
    }
    this.syncedThrough = Math.max(this.syncedThrough, target);
  }
}
