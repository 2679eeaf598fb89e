import { createHash } from 'node:crypto';
import type {
  BlobFailure,
  CheckpointStore,
  PartitionCheckpoint,
  VersionedCheckpoint,
} from './CheckpointStore.js';
import { CheckpointConflict } from './CheckpointStore.js';
import type { ListedBlob } from './ListedBlob.js';
import type { CopyPartition } from './types.js';

export interface PartitionProgressOptions {
  /** Aborts checkpoint reads and writes (the caller's signal: a failed partition is still recorded). */
  abortSignal?: AbortSignal;
  /** Wall clock, for the checkpoint's times. */
  clock: () => Date;
  /** Monotonic milliseconds, for the interval of progress checkpoints. Default `performance.now`. */
  now?: () => number;
  /** A progress checkpoint is written at most this often (see `CopyOptions`). */
  progressCheckpointIntervalInMs: number;
  /** Blobs a reservation covers (see `PartitionCheckpoint.reservedThrough`). */
  reservationInBlobs: number;
  /** A progress checkpoint failed: the copy goes on, and the next one may succeed. */
  onProgressNotSaved?: (error: unknown) => void;
}

/** Where a resumed attempt may save calls, from the previous attempts' checkpoint of the same manifest. */
export interface ResumePoint {
  /** Blobs before this position are settled: skipped without a call. */
  settledBefore: number;
  /** Blobs at or past this position were never started: copied without a lookup. */
  lookUpBefore: number;
}

/**
 * One attempt's checkpoint of a partition while it is copied: the counts, the settled prefix and
 * the reservation, written to the `CheckpointStore`.
 *
 * - Writes are conditional on the version this attempt last wrote and run one after the other, so
 *   that an older record never lands over a newer one.
 * - A write that finds another version (a redelivered message: another worker on the same
 *   partition) is written again over it: both attempts copy every blob by overwriting, so either
 *   record is true. Only the first write of an attempt (`claim`) lets the conflict through.
 * - With a manifest, a blob is started only below a reservation already written
 *   (`reservedThrough`); the next one is written when half of the current one is used. A resumed
 *   attempt then copies the blobs past the previous reservation without looking them up first.
 * - `settledThrough` is the prefix of the manifest with every blob copied or found identical,
 *   however out of order the copies finish; it is written with the periodic progress checkpoints.
 */
export class PartitionProgress {
  readonly record: PartitionCheckpoint;
  readonly #store: CheckpointStore;
  readonly #options: PartitionProgressOptions;
  readonly #now: () => number;
  #etag: string;
  #saving: Promise<void> = Promise.resolve();
  #savesQueued = 0;
  #lastProgressSaveAt: number;
  #settled = new Uint8Array(0);
  #durablyReserved = Number.POSITIVE_INFINITY;
  #reserving: Promise<void> | undefined;

  private constructor(
    store: CheckpointStore,
    record: PartitionCheckpoint,
    etag: string,
    options: PartitionProgressOptions,
  ) {
    this.#store = store;
    this.record = record;
    this.#etag = etag;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#lastProgressSaveAt = this.#now();
  }

  /**
   * Starts an attempt: writes its first record (`started`, the attempt counted), conditional on the
   * version `previous` was read at, or on there being no checkpoint. Rejects with
   * `CheckpointConflict` when another worker claimed the partition in between.
   */
  static async claim(
    store: CheckpointStore,
    partition: CopyPartition,
    previous: VersionedCheckpoint | undefined,
    options: PartitionProgressOptions,
  ): Promise<PartitionProgress> {
    const now = options.clock().toISOString();
    const record: PartitionCheckpoint = {
      runId: partition.runId,
      partitionIndex: partition.index,
      status: 'started',
      ...(partition.marker !== undefined ? { marker: partition.marker } : {}),
      attempts: (previous?.record.attempts ?? 0) + 1,
      startedAt: previous?.record.startedAt ?? now,
      attemptStartedAt: now,
      ...noBlobsCounted(),
    };
    const etag = await store.put(partition.runId, partition.index, record, {
      ...(previous ? { etag: previous.etag } : {}),
      ...ioOf(options),
    });
    return new PartitionProgress(store, record, etag, options);
  }

  /**
   * The blobs this attempt copies. With a `manifest` (the blobs are the planner's stored page), the
   * previous record's settled prefix and reservation count when it was for the same manifest.
   */
  track(blobs: readonly ListedBlob[], manifest: boolean, previous?: PartitionCheckpoint): ResumePoint {
    this.record.blobsListed = blobs.length;
    this.#settled = new Uint8Array(blobs.length);
    if (!manifest) return { settledBefore: 0, lookUpBefore: blobs.length };
    const digest = manifestDigest(blobs);
    const same = previous?.manifestDigest === digest;
    const settledBefore = same ? Math.min(previous.settledThrough ?? 0, blobs.length) : 0;
    const lookUpBefore = same ? (previous.reservedThrough ?? blobs.length) : blobs.length;
    this.record.manifestDigest = digest;
    this.record.settledThrough = settledBefore;
    this.record.reservedThrough = Math.max(previous?.reservedThrough ?? 0, settledBefore);
    this.#durablyReserved = this.record.reservedThrough;
    return { settledBefore, lookUpBefore };
  }

  /** Resolves once a checkpoint holds a reservation past `position` (at once without a manifest). */
  async reserve(position: number): Promise<void> {
    if (this.record.reservedThrough === undefined) return;
    const half = this.#options.reservationInBlobs / 2;
    if (position < this.#durablyReserved - half || this.#durablyReserved >= this.#settled.length) return;
    this.#reserveNext().catch(() => {});
    // The blocking case; a failed reservation fails this blob's start, as a failed write would.
    while (position >= this.#durablyReserved) await this.#reserveNext();
  }

  copied(blob: ListedBlob, position: number): void {
    this.record.blobsCopied += 1;
    this.record.bytesCopied += blob.contentLength;
    this.#settle(position);
  }

  skipped(blob: ListedBlob, position: number): void {
    this.record.blobsSkipped += 1;
    this.record.bytesSkipped += blob.contentLength;
    this.#settle(position);
  }

  /** A blob that failed for good: counted, and recorded by name up to `maxRecorded`. */
  failed(failure: BlobFailure, maxRecorded: number): void {
    this.record.blobsFailed += 1;
    if (this.record.failures.length < maxRecorded) this.record.failures.push(failure);
  }

  /** Records the attempt's end: `done`, or `done-with-failures` when a blob failed. */
  async finish(): Promise<void> {
    this.record.status = this.record.blobsFailed > 0 ? 'done-with-failures' : 'done';
    this.record.endedAt = this.#options.clock().toISOString();
    await this.save();
  }

  /** Records the whole partition as `failed`, with `error`'s (redacted) message. */
  async fail(error: Error): Promise<void> {
    this.record.status = 'failed';
    this.record.error = error.message;
    this.record.endedAt = this.#options.clock().toISOString();
    await this.save();
  }

  /** Writes the record as it is now, after every write already queued. */
  save(): Promise<void> {
    this.#savesQueued += 1;
    const next = this.#saving
      .then(() => this.#write())
      .finally(() => {
        this.#savesQueued -= 1;
      });
    this.#saving = next.catch(() => {});
    return next;
  }

  /** Resolves when no write is queued or in flight. */
  idle(): Promise<void> {
    return this.#saving;
  }

  #settle(position: number): void {
    this.#settled[position] = 1;
    if (this.record.settledThrough !== undefined) {
      while (
        this.record.settledThrough < this.#settled.length &&
        this.#settled[this.record.settledThrough] === 1
      ) {
        this.record.settledThrough += 1;
      }
    }
    this.#saveProgress();
  }

  /** A progress checkpoint, when none is queued and the last one is old enough. */
  #saveProgress(): void {
    const now = this.#now();
    if (
      this.#savesQueued > 0 ||
      now - this.#lastProgressSaveAt < this.#options.progressCheckpointIntervalInMs
    ) {
      return;
    }
    this.#lastProgressSaveAt = now;
    this.save().catch((error: unknown) => this.#options.onProgressNotSaved?.(error));
  }

  #reserveNext(): Promise<void> {
    if (this.#reserving) return this.#reserving;
    const through = Math.min(this.#settled.length, this.#durablyReserved + this.#options.reservationInBlobs);
    this.record.reservedThrough = Math.max(this.record.reservedThrough ?? 0, through);
    this.#reserving = this.save()
      .then(() => {
        this.#durablyReserved = Math.max(this.#durablyReserved, through);
      })
      .finally(() => {
        this.#reserving = undefined;
      });
    return this.#reserving;
  }

  async #write(): Promise<void> {
    const { runId, partitionIndex } = this.record;
    const io = ioOf(this.#options);
    try {
      this.#etag = await this.#store.put(runId, partitionIndex, this.record, { etag: this.#etag, ...io });
    } catch (error) {
      if (!(error instanceof CheckpointConflict)) throw error;
      // Another worker ran the same partition (a redelivered message). Both copies are complete
      // overwrites, so this attempt's record is as true as the other's: write it over.
      const latest = await this.#store.get(runId, partitionIndex, io);
      this.#etag = await this.#store.put(runId, partitionIndex, this.record, {
        ...(latest ? { etag: latest.etag } : {}),
        ...io,
      });
    }
  }
}

/** The counts of a partition before any blob: a new attempt's, or a call that copied nothing. */
export function noBlobsCounted(): Pick<
  PartitionCheckpoint,
  'blobsListed' | 'blobsCopied' | 'blobsSkipped' | 'blobsFailed' | 'bytesCopied' | 'bytesSkipped' | 'failures'
> {
  return {
    blobsListed: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsFailed: 0,
    bytesCopied: 0,
    bytesSkipped: 0,
    failures: [],
  };
}

function ioOf(options: PartitionProgressOptions): { abortSignal?: AbortSignal } {
  return options.abortSignal ? { abortSignal: options.abortSignal } : {};
}

/** SHA-256 of a manifest's blob names, in order. */
function manifestDigest(blobs: readonly ListedBlob[]): string {
  const hash = createHash('sha256');
  for (const blob of blobs) hash.update(blob.name).update('\n');
  return hash.digest('hex');
}
