import type { BlobServiceClient } from '@azure/storage-blob';
import { BlobDocumentStore, type DocumentStore, updateDocument } from '../state/DocumentStore.js';
import type { FailoverRun } from './FailoverRun.js';

/** The container in the app's own storage account that holds run records, checkpoints and health history. */
export const STATE_CONTAINER = 'kyvos-dr';

const LOCK_KEY = 'locks/failover.json';

export interface LockRecord {
  runId: string;
  acquiredAt: string;
}

/**
 * How long a new lock holder may take to make its run Running before another start may take the
 * lock over. A start writes its run record right after the lock, a retry reopens its ended record
 * right after it; until this has passed, a holder whose record does not exist yet, or ended before
 * the lock was taken, is being set up, not stale.
 */
export const LOCK_SETUP_GRACE_IN_MS = 5 * 60_000;

export type LockOutcome = { acquired: true } | { acquired: false; holder: string };

/**
 * Run records, the failover lock and alert bindings in the app's storage, as documents with ETag
 * conditions (`DocumentStore`), so that two workers never overwrite each other's changes, a step is
 * claimed by exactly one of them, and exactly one run holds the lock.
 */
export class RunStore {
  readonly documents: DocumentStore;
  /** Stamps `updatedAt`; the runtime's clock, so that a fake clock in tests agrees with the records. */
  readonly #clock: () => Date;

  constructor(documents: DocumentStore | BlobServiceClient, options: { clock?: () => Date } = {}) {
    this.documents = stateDocuments(documents);
    this.#clock = options.clock ?? (() => new Date());
  }

  async get(runId: string): Promise<FailoverRun | undefined> {
    return (await this.documents.read<FailoverRun>(runKey(runId)))?.value;
  }

  /** Creates the record; returns false, writing nothing, when a run with this id exists. */
  async create(run: FailoverRun): Promise<boolean> {
    return (await this.documents.write(runKey(run.runId), run, { ifAbsent: true })) !== undefined;
  }

  /**
   * Applies `mutate` to the latest record and writes it back if nobody wrote in between; otherwise
   * re-reads and tries again. `mutate` may return `false` to write nothing. Returns the record as
   * written (or as read, when nothing was written).
   *
   * `updatedAt` says when the run's own work (a step, the copy) last changed it, which is how the
   * sweeper tells a run that advances from one that is stuck; a note about the run (the sweeper's,
   * a failed delivery's) is written with `progress: false` and leaves it as it was.
   */
  async update(
    runId: string,
    mutate: (run: FailoverRun) => boolean | undefined,
    options: { progress?: boolean } = {},
  ): Promise<FailoverRun> {
    const { value } = await updateDocument<FailoverRun>(this.documents, runKey(runId), (run) => {
      if (!run) throw new Error(`Failover run ${runId} does not exist.`);
      if (mutate(run) === false) return undefined;
      if (options.progress !== false) run.updatedAt = this.#clock().toISOString();
      return run;
    });
    return value as FailoverRun;
  }

  /**
   * Takes the failover lock for `runId`. Returns the holder's run id when another run holds it.
   *
   * The lock is one document created with `If-None-Match: *`: whoever creates it holds it. It is
   * taken over only from a holder that cannot be running: its run record says it ended after it
   * took the lock, or it has not made its run Running within `graceInMs` of taking the lock (a start
   * or retry that died before writing its record). A holder still writing its record (a start), or
   * still reopening its ended record (a retry), is inside the grace period, so it keeps the lock.
   * The takeover replaces the document at the version that was judged stale (`If-Match`), so of two
   * starts that judge the same holder stale, exactly one wins.
   *
   * A run that takes the lock it already holds takes it again at `now` (a retry of a run whose lock
   * was left behind), so its own grace period starts over. The lock's time and a record's `endedAt`
   * come from the clocks of the app's instances: a retry sooner after its run ended than the skew
   * between them would look ended, for the moment until it reopens its record.
   */
  async acquireLock(runId: string, now: Date, graceInMs = LOCK_SETUP_GRACE_IN_MS): Promise<LockOutcome> {
    const mine: LockRecord = { runId, acquiredAt: now.toISOString() };
    // Someone else changing the lock in between (taking it, taking it over, releasing it) is an
    // ETag conflict: the lock is judged again as it is then.
    const { value: lock } = await updateDocument<LockRecord>(this.documents, LOCK_KEY, async (lock) => {
      if (!lock || lock.runId === runId) return lock?.acquiredAt === mine.acquiredAt ? undefined : mine;
      return (await this.#isStale(lock, now, graceInMs)) ? mine : undefined;
    });
    return lock?.runId === runId ? { acquired: true } : { acquired: false, holder: lock?.runId ?? 'unknown' };
  }

  async #isStale(lock: LockRecord, now: Date, graceInMs: number): Promise<boolean> {
    const holderRun = await this.get(lock.runId);
    if (holderRun?.state === 'Running') return false;
    const acquiredAt = Date.parse(lock.acquiredAt);
    if (!Number.isFinite(acquiredAt)) return true;
    if (holderRun) {
      // It ended after taking this lock (or does not say when it ended): nothing of it can be running.
      const endedAt = holderRun.endedAt ? Date.parse(holderRun.endedAt) : Number.NaN;
      if (!(endedAt < acquiredAt)) return true;
    }
    // No record yet (a start), or one that ended before the lock was taken (a retry): being set up.
    return now.getTime() - acquiredAt > graceInMs;
  }

  async lockHolder(): Promise<string | undefined> {
    return (await this.lock())?.runId;
  }

  /** The lock as it stands: its holder and when it took it; undefined when nobody holds it. */
  async lock(): Promise<LockRecord | undefined> {
    return (await this.documents.read<LockRecord>(LOCK_KEY))?.value;
  }

  /**
   * Releases the lock if `runId` holds it, deleting exactly the version it read (`If-Match`), so a
   * lock that another run took over in between is never deleted.
   */
  async releaseLock(runId: string): Promise<void> {
    const lock = await this.documents.read<LockRecord>(LOCK_KEY);
    if (lock?.value.runId !== runId) return;
    await this.documents.delete(LOCK_KEY, lock.etag);
  }

  /**
   * Binds an alert id to a run id, once: Azure Monitor action groups retry webhooks, and the same
   * alert must join the same run. Returns the run id bound first.
   */
  async bindAlert(alertId: string, runId: string): Promise<string> {
    const { value } = await updateDocument<AlertBinding>(this.documents, alertKey(alertId), (current) =>
      current ? undefined : { alertId, runId },
    );
    return (value as AlertBinding).runId;
  }

  /**
   * Points an alert at the run that was already running when it fired, if it is still bound to
   * `fromRunId` (the run it was about to start): a concurrent delivery that rebound it already is
   * left alone.
   */
  async rebindAlert(alertId: string, fromRunId: string, toRunId: string): Promise<void> {
    await updateDocument<AlertBinding>(this.documents, alertKey(alertId), (current) =>
      current && current.runId !== fromRunId ? undefined : { alertId, runId: toRunId },
    );
  }

  async alertRun(alertId: string): Promise<string | undefined> {
    return (await this.documents.read<AlertBinding>(alertKey(alertId)))?.value.runId;
  }
}

/** The documents of the app's state: the given store, or the state container of the app's storage account. */
export function stateDocuments(documents: DocumentStore | BlobServiceClient): DocumentStore {
  return 'getContainerClient' in documents
    ? new BlobDocumentStore(documents.getContainerClient(STATE_CONTAINER))
    : documents;
}

interface AlertBinding {
  alertId: string;
  runId: string;
}

function runKey(runId: string): string {
  return `runs/${runId}/run.json`;
}

function alertKey(alertId: string): string {
  return `alerts/${encodeURIComponent(alertId)}.json`;
}
