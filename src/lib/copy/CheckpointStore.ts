/**
 * Where the copy engine records, per run and partition, how far it got. A checkpoint is what makes
 * a re-run after a crash copy only what is missing:
 * - `done` / no failures: the partition is skipped entirely on a re-run (no listing, no calls);
 * - `started` (a worker died, or was aborted, mid-partition), `done-with-failures` and `failed`: the
 *   partition is resumed, checking each blob at the destination before copying it;
 * - no checkpoint: the partition is copied without any check, since a copy is an idempotent
 *   overwrite.
 *
 * Records hold blob names and redacted reasons, never a SAS. The store also keeps each partition's
 * manifest: the page of blobs the planner listed. The one implementation is `BlobCheckpointStore`
 * (over an `InMemoryDocumentStore` in fast tests).
 */
import type { ListedBlob } from './ListedBlob.js';

export type PartitionStatus = 'started' | 'done' | 'done-with-failures' | 'failed';

/** A blob that could not be copied, by name, with the redacted reason of its last try. */
export interface BlobFailure {
  name: string;
  reason: string;
  statusCode?: number;
  code?: string;
  attempts: number;
}

export interface PartitionCheckpoint {
  runId: string;
  partitionIndex: number;
  status: PartitionStatus;
  /** Continuation token the partition starts at (not secret: a position in the listing). */
  marker?: string;
  /** How many times a worker started this partition. */
  attempts: number;
  /** ISO time the first attempt started. Destination blobs written since then count as this run's. */
  startedAt: string;
  /** ISO time the latest attempt started. */
  attemptStartedAt: string;
  /** ISO time the latest attempt ended; absent while `started`. */
  endedAt?: string;
  blobsListed: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsFailed: number;
  bytesCopied: number;
  bytesSkipped: number;
  /** The failed blobs, up to a cap; `blobsFailed` is the full count. */
  failures: BlobFailure[];
  /**
   * With a manifest: every blob of the manifest before this position was written, or found
   * identical, by an attempt of this run. Saved while the partition is copied; a resumed attempt
   * skips those blobs without looking them up at the destination.
   */
  settledThrough?: number;
  /**
   * With a manifest: no attempt started a blob at or past this position. Written before an attempt
   * starts blobs beyond it, so a resumed attempt copies the blobs past it without looking them up.
   */
  reservedThrough?: number;
  /**
   * SHA-256 of the manifest's blob names: `settledThrough` and `reservedThrough` count only for
   * that same manifest.
   */
  manifestDigest?: string;
  /** Why the whole partition failed (`failed`), redacted. */
  error?: string;
}

/** A checkpoint with the version it was read at, for a conditional write. */
export interface VersionedCheckpoint {
  record: PartitionCheckpoint;
  etag: string;
}

export interface CheckpointWriteOptions {
  /**
   * Write only if the stored checkpoint is still at this version (`If-Match`). Undefined: write only
   * if there is none yet (`If-None-Match: *`).
   */
  etag?: string;
  abortSignal?: AbortSignal;
}

/** Another worker wrote the checkpoint since it was read. */
export class CheckpointConflict extends Error {
  override readonly name = 'CheckpointConflict';
  readonly isCheckpointConflict = true;
  constructor(
    readonly runId: string,
    readonly partitionIndex: number,
    options?: ErrorOptions,
  ) {
    super(
      `The checkpoint of partition ${partitionIndex} of run ${runId} changed while this worker held it: another worker is on the same partition.`,
      options,
    );
  }
}

export interface CheckpointStore {
  get(
    runId: string,
    partitionIndex: number,
    options?: { abortSignal?: AbortSignal },
  ): Promise<VersionedCheckpoint | undefined>;
  /** Writes conditionally (see `CheckpointWriteOptions.etag`); returns the new version. */
  put(
    runId: string,
    partitionIndex: number,
    record: PartitionCheckpoint,
    options?: CheckpointWriteOptions,
  ): Promise<string>;
  /** Stores the blobs a partition's page listed (see `PartitionManifest`); overwrites. */
  putManifest(
    runId: string,
    partitionIndex: number,
    blobs: ListedBlob[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<void>;
  /** Whether a manifest is stored, without reading it. */
  hasManifest(
    runId: string,
    partitionIndex: number,
    options?: { abortSignal?: AbortSignal },
  ): Promise<boolean>;
  /** The stored manifest's blobs, or undefined when there is none. */
  getManifest(
    runId: string,
    partitionIndex: number,
    options?: { abortSignal?: AbortSignal },
  ): Promise<ListedBlob[] | undefined>;
}
