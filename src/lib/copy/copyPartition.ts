import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { BlobClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { pMapSettled } from 'p-map';
import { ConfigError, codeOf, statusOf } from '../errors.js';
import { applyAccessControl } from './accessControl.js';
import { fromProperties, type ListedBlob, listBlobPage } from './blobListing.js';
import {
  type BlobFailure,
  CheckpointConflict,
  type PartitionCheckpoint,
  type PartitionStatus,
} from './CheckpointStore.js';
import type { BlobOutcome, CopyProgressCallback } from './CopyProgress.js';
import { directoryStubTarget, writeDirectoryStub } from './directoryStub.js';
import { RetriesExhausted, withRetries } from './retry.js';
import { describeStorageError, isCopySourceNetworkRefusal } from './storageErrors.js';
import { type CopyDeps, type CopyPartition, SYNC_COPY_LIMIT_IN_BYTES } from './types.js';

export interface CopyOptions {
  /**
   * Copy calls in flight for this partition. Default 32: server-side copies are latency-bound, not
   * bandwidth-bound, on the client. Run several partitions at once to go wider.
   */
  concurrency?: number;
  /** Up to this size Copy Blob From URL (synchronous); above, asynchronous Copy Blob. Default 256 MiB, the service's limit. */
  largeBlobThresholdInBytes?: number;
  /** Tries per blob on transient errors, the first included (on top of the SDK's transport retries). Default 5. */
  maxAttempts?: number;
  /** First backoff between tries of one blob; doubles, with full jitter. Default 250 ms. */
  retryBaseDelayInMs?: number;
  /** Longest backoff between tries of one blob. Default 15,000 ms. */
  retryMaxDelayInMs?: number;
  /** Poll interval of an asynchronous Copy Blob. Default 2,000 ms. */
  copyPollIntervalInMs?: number;
  /** Failed blobs recorded by name per partition (all are counted). Default 100. */
  maxRecordedFailures?: number;
  /**
   * How often the checkpoint records progress while the partition is copied (the counts, and with a
   * manifest how far every blob is settled). Default 5,000 ms.
   */
  progressCheckpointIntervalInMs?: number;
  /**
   * With a manifest, blobs started only under a reservation the checkpoint holds, this many at a
   * time (see `PartitionCheckpoint.reservedThrough`). Default 1,000.
   */
  reservationInBlobs?: number;
  onProgress?: CopyProgressCallback;
  /** Aborting stops the partition as a crash would: its checkpoint stays `started`. */
  abortSignal?: AbortSignal;
}

export const DEFAULT_COPY_OPTIONS = {
  concurrency: 32,
  largeBlobThresholdInBytes: SYNC_COPY_LIMIT_IN_BYTES,
  maxAttempts: 5,
  retryBaseDelayInMs: 250,
  retryMaxDelayInMs: 15_000,
  copyPollIntervalInMs: 2_000,
  maxRecordedFailures: 100,
  progressCheckpointIntervalInMs: 5_000,
  reservationInBlobs: 1_000,
} as const;

/** Storage calls made by one `copyPartition`, so a benchmark or test can prove what a resume cost. */
export interface CopyCallCounts {
  /** Blobs written with Copy Blob From URL (a failed try counts in `retries`, not here). */
  syncCopy: number;
  /** Blobs written with the asynchronous Copy Blob (a failed try counts in `retries`). */
  asyncCopy: number;
  /** Directory stubs recreated with a zero-length Put Blob. */
  directoryStub: number;
  /** Blobs read and written by the engine, because their source URL is too long for a service-side copy. */
  streamCopy: number;
  /** Get Blob Properties calls on the destination (only when resuming a partition). */
  destinationHead: number;
  /** Paths whose owner, group and ACL were read at the source and set at the destination. */
  accessControl: number;
  /** Backoffs taken after transient errors. */
  retries: number;
}

/** Call counts of zero: the start of a partition's counts, or of a sum. */
export function noCalls(): CopyCallCounts {
  return {
    syncCopy: 0,
    asyncCopy: 0,
    directoryStub: 0,
    streamCopy: 0,
    destinationHead: 0,
    accessControl: 0,
    retries: 0,
  };
}

/**
 * What one `copyPartition` call did. Counts are this call's: for `already-done` they are all zero
 * (nothing was listed or copied); for `resumed`, `blobsSkipped` are the blobs found already
 * identical at the destination.
 */
export interface CopyPartitionResult {
  runId: string;
  partitionIndex: number;
  /** `copied`: no checkpoint, copied without checks. `resumed`: a previous attempt did not finish. */
  mode: 'copied' | 'resumed' | 'already-done';
  status: PartitionStatus;
  /** Which attempt at this partition this was (from the checkpoint). */
  attempt: number;
  blobsListed: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsFailed: number;
  bytesCopied: number;
  bytesSkipped: number;
  /** Failed blobs by name with redacted reasons (capped; `blobsFailed` counts all). */
  failures: BlobFailure[];
  calls: CopyCallCounts;
  durationInMs: number;
}

/**
 * Copies one partition server-side from the source (through the secondary endpoint) to the
 * destination, and records the outcome in its checkpoint.
 *
 * - The blobs are the partition's manifest (the page the planner listed) when the partition has one;
 *   otherwise (or if it is gone) the page is listed again from its marker.
 * - A partition whose checkpoint is `done` is skipped entirely.
 * - With no checkpoint, every blob is copied with no prior check: a copy overwrites, so it is
 *   idempotent, and the first run keeps to one call per blob.
 * - With any other checkpoint (a previous attempt crashed, was aborted, or left failures), each blob
 *   is first looked up at the destination and skipped when it is already identical
 *   (see `isAlreadyCopied`); but with a manifest, the prefix of it that the checkpoint records as
 *   settled (`settledThrough`, saved every few seconds while copying) is skipped without a call.
 * - Blobs up to `largeBlobThresholdInBytes` use Copy Blob From URL; larger ones (and page or append
 *   blobs) the asynchronous Copy Blob, polled to completion. Both keep Content-Type,
 *   Content-Encoding, Content-Language, Cache-Control, Content-Disposition, Content-MD5 and metadata
 *   (the service copies them when the request names no metadata). Directory stubs
 *   (`hdi_isfolder=true`) are recreated as directories with the same metadata and headers, never
 *   put over a path that exists (`writeDirectoryStub`, as AzCopy).
 * - With `deps.accessControl`, each path's owner, group and ACL are read at the source (secondary
 *   Data Lake endpoint) and set at the destination once its data is written; a blob found at the
 *   destination on resume is then written again, since its access control may be missing.
 * - Transient failures are retried with backoff; a blob that still fails, or fails for good (403, a
 *   404 because it was deleted after listing…), is recorded by name and the partition ends
 *   `done-with-failures`: never silently dropped.
 * - If the listing fails (an error naming the secondary endpoint), or the destination container
 *   does not exist, the partition is recorded `failed` and the call rejects, so that a queue message
 *   is retried later.
 * - Two workers on one partition (a queue message seen twice) both copy it, which is harmless. If
 *   they claim it at the same moment, the later one rejects with `CheckpointConflict` and its
 *   message comes back to find the partition done or resumable; otherwise the checkpoint writes
 *   are conditional and the last one wins.
 */
export async function copyPartition(
  deps: CopyDeps,
  partition: CopyPartition,
  options: CopyOptions = {},
): Promise<CopyPartitionResult> {
  const settings = resolveOptions(options);
  const clock = deps.clock ?? (() => new Date());
  const startedAtMs = performance.now();
  const { runId, index } = partition;
  const callerSignal = options.abortSignal;
  callerSignal?.throwIfAborted();
  const withSignal = callerSignal ? { abortSignal: callerSignal } : {};
  const calls = noCalls();

  const existing = await deps.checkpoints.get(runId, index, withSignal);
  if (existing?.record.status === 'done') {
    deps.logger.info('copy.partition.skip', { runId, partition: index, reason: 'done' });
    return {
      runId,
      partitionIndex: index,
      mode: 'already-done',
      status: 'done',
      attempt: existing.record.attempts,
      blobsListed: 0,
      blobsCopied: 0,
      blobsSkipped: 0,
      blobsFailed: 0,
      bytesCopied: 0,
      bytesSkipped: 0,
      failures: [],
      calls,
      durationInMs: Math.round(performance.now() - startedAtMs),
    };
  }
  const resuming = existing !== undefined;
  const now = clock().toISOString();
  const record: PartitionCheckpoint = {
    runId,
    partitionIndex: index,
    status: 'started',
    ...(partition.marker !== undefined ? { marker: partition.marker } : {}),
    attempts: (existing?.record.attempts ?? 0) + 1,
    startedAt: existing?.record.startedAt ?? now,
    attemptStartedAt: now,
    blobsListed: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsFailed: 0,
    bytesCopied: 0,
    bytesSkipped: 0,
    failures: [],
  };
  let etag = await deps.checkpoints.put(runId, index, record, {
    ...(existing ? { etag: existing.etag } : {}),
    ...withSignal,
  });
  const saveRecord = async () => {
    try {
      etag = await deps.checkpoints.put(runId, index, record, { etag, ...withSignal });
    } catch (error) {
      if (!(error instanceof CheckpointConflict)) throw error;
      // Another worker ran the same partition (a redelivered message). Both copies are complete
      // overwrites, so this attempt's record is as true as the other's: write it over.
      const latest = await deps.checkpoints.get(runId, index, withSignal);
      etag = await deps.checkpoints.put(runId, index, record, {
        ...(latest ? { etag: latest.etag } : {}),
        ...withSignal,
      });
    }
  };
  deps.logger.info('copy.partition.start', {
    runId,
    partition: index,
    attempt: record.attempts,
    mode: resuming ? 'resumed' : 'copied',
  });

  // One signal for the partition: the caller's abort, or a progress callback that threw.
  const controller = new AbortController();
  // Every request in flight listens to this signal: far more than Node's default of 10.
  setMaxListeners(0, controller.signal);
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const signal = controller.signal;
  /** Records the whole partition as `failed` and returns the error to throw. */
  const failPartition = async (failed: Error): Promise<Error> => {
    record.status = 'failed';
    record.error = failed.message;
    record.endedAt = clock().toISOString();
    await saveRecord();
    deps.logger.error('copy.partition.failed', { runId, partition: index, reason: failed.message });
    return failed;
  };
  // Set when the destination cannot take any blob: the partition stops instead of failing each one.
  let fatal: Error | undefined;
  try {
    let source: ContainerClient;
    let blobs: ListedBlob[];
    // Read from the app's own storage: an error here is not the source's, and the message comes back.
    const manifest = partition.manifest
      ? await deps.checkpoints.getManifest(runId, index, { abortSignal: signal })
      : undefined;
    if (partition.manifest && !manifest) {
      deps.logger.warn('copy.partition.no_manifest', { runId, partition: index, fallback: 'listing' });
    }
    try {
      source = deps.source.containerClient();
      blobs =
        manifest ??
        (
          await listBlobPage(deps.source.listable(), deps.source.prefix, {
            ...(partition.marker !== undefined ? { marker: partition.marker } : {}),
            pageSize: partition.pageSize,
            abortSignal: signal,
          })
        ).blobs;
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      // An unusable SAS (expired, unsigned) is a configuration error, as it is.
      throw await failPartition(error instanceof ConfigError ? error : deps.source.listingFailed(error));
    }
    record.blobsListed = blobs.length;
    // A previous attempt's settled prefix of the same manifest is skipped without any call.
    const digest = manifest ? manifestDigest(manifest) : undefined;
    const sameManifest = digest !== undefined && existing?.record.manifestDigest === digest;
    const settledBefore = sameManifest ? Math.min(existing.record.settledThrough ?? 0, blobs.length) : 0;
    // Past the previous attempts' reservation nothing was started: copied without a lookup.
    const lookUpBefore = sameManifest ? (existing.record.reservedThrough ?? blobs.length) : blobs.length;
    if (digest !== undefined) {
      record.manifestDigest = digest;
      record.settledThrough = settledBefore;
      record.reservedThrough = Math.max(existing?.record.reservedThrough ?? 0, settledBefore);
    }

    const destination = deps.clients
      .blobService(deps.destination.account)
      .getContainerClient(deps.destination.container);
    const resumeSince = new Date(record.startedAt);
    const report = (blob: ListedBlob, outcome: BlobOutcome) => {
      if (!options.onProgress) return;
      try {
        options.onProgress({
          runId,
          partitionIndex: index,
          blobName: blob.name,
          outcome,
          bytes: blob.contentLength,
        });
      } catch (error) {
        controller.abort(error);
        throw error;
      }
    };
    const retryOptions = {
      maxAttempts: settings.maxAttempts,
      baseDelayInMs: settings.retryBaseDelayInMs,
      maxDelayInMs: settings.retryMaxDelayInMs,
      abortSignal: signal,
    };

    // Counted when the write succeeded: a failed attempt is a retry (calls.retries), not a copy.
    const writeBlob = async (blob: ListedBlob): Promise<void> => {
      await writeData(blob);
      if (deps.accessControl) {
        const access = await deps.source.readAccessControl(blob.name, signal);
        await applyAccessControl(deps, blob.name, access, signal);
        calls.accessControl += 1;
      }
    };
    const writeData = async (blob: ListedBlob): Promise<void> => {
      if (blob.isDirectoryStub) {
        await writeDirectoryStub(
          directoryStubTarget(destination.getBlockBlobClient(blob.name)),
          blob,
          signal,
        );
        calls.directoryStub += 1;
        return;
      }
      const sourceBlob = source.getBlobClient(blob.name);
      const sourceUrl = sourceBlob.url;
      const method = copyMethodOf(blob, sourceUrl, settings.largeBlobThresholdInBytes);
      if (method === 'stream') {
        await streamCopy(sourceBlob, destination.getBlockBlobClient(blob.name), signal);
        calls.streamCopy += 1;
        return;
      }
      if (method === 'sync') {
        const response = await destination
          .getBlockBlobClient(blob.name)
          .syncCopyFromURL(sourceUrl, { abortSignal: signal });
        if (response.copyStatus && response.copyStatus !== 'success') {
          throw new Error(`Copy Blob From URL answered copy status "${response.copyStatus}"`);
        }
        calls.syncCopy += 1;
        return;
      }
      await asyncCopy(destination.getBlobClient(blob.name), sourceUrl, settings.copyPollIntervalInMs, signal);
      calls.asyncCopy += 1;
    };

    const isAtDestination = async (blob: ListedBlob): Promise<boolean> => {
      try {
        const { value } = await withRetries(
          () => {
            calls.destinationHead += 1;
            return destination.getBlobClient(blob.name).getProperties({ abortSignal: signal });
          },
          { ...retryOptions, onRetry: () => calls.retries++ },
        );
        return isAlreadyCopied(
          blob,
          { ...fromProperties(blob.name, value), copyStatus: value.copyStatus },
          resumeSince,
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        // Absent (404) or unknown: copy it; an overwrite is always safe.
        return false;
      }
    };

    // Progress: which blobs are settled (written or found identical), how far without a gap, and
    // a checkpoint write now and then. Checkpoint writes run one after the other.
    const settledFlags = new Uint8Array(blobs.length);
    let saving: Promise<void> = Promise.resolve();
    let saves = 0;
    let lastProgressSaveAt = performance.now();
    const enqueueSave = (): Promise<void> => {
      saves += 1;
      const next = saving.then(saveRecord).finally(() => {
        saves -= 1;
      });
      saving = next.catch(() => {});
      return next;
    };
    const settle = (position: number) => {
      settledFlags[position] = 1;
      if (record.settledThrough === undefined) return;
      while (record.settledThrough < blobs.length && settledFlags[record.settledThrough] === 1) {
        record.settledThrough += 1;
      }
    };
    const saveProgress = () => {
      if (saves > 0 || performance.now() - lastProgressSaveAt < settings.progressCheckpointIntervalInMs) {
        return;
      }
      lastProgressSaveAt = performance.now();
      enqueueSave().catch((error: unknown) => {
        if (signal.aborted) return;
        deps.logger.warn('copy.partition.progress_not_saved', {
          runId,
          partition: index,
          reason: error instanceof Error ? error.message : String(error),
        });
      });
    };
    // With a manifest, a blob is started only below a reservation that a checkpoint already holds;
    // the next reservation is written when half of the current one is used.
    let durablyReserved = record.reservedThrough ?? blobs.length;
    let reserving: Promise<void> | undefined;
    const reserveNext = (): Promise<void> => {
      if (reserving) return reserving;
      const through = Math.min(blobs.length, durablyReserved + settings.reservationInBlobs);
      record.reservedThrough = Math.max(record.reservedThrough ?? 0, through);
      reserving = enqueueSave()
        .then(() => {
          durablyReserved = Math.max(durablyReserved, through);
        })
        .finally(() => {
          reserving = undefined;
        });
      return reserving;
    };
    const reserve = async (position: number) => {
      if (record.reservedThrough === undefined) return;
      if (position >= durablyReserved - settings.reservationInBlobs / 2 && durablyReserved < blobs.length) {
        const next = reserveNext();
        next.catch(() => {});
        // The blocking case; a failed reservation fails this blob's start, as a failed write would.
        while (position >= durablyReserved) await reserveNext();
      }
    };

    const copyOne = async (blob: ListedBlob, position: number): Promise<void> => {
      signal.throwIfAborted();
      if (position >= settledBefore) await reserve(position);
      signal.throwIfAborted();
      const lookUp = resuming && position >= settledBefore && position < lookUpBefore;
      // A blob found at the destination may lack its access control (a crash between the two
      // writes): with access control carried, it is written again rather than skipped.
      const skip =
        position < settledBefore || (lookUp && !deps.accessControl && (await isAtDestination(blob)));
      if (skip) {
        record.blobsSkipped += 1;
        record.bytesSkipped += blob.contentLength;
        settle(position);
        saveProgress();
        report(blob, 'skipped');
        return;
      }
      let outcome: BlobOutcome = 'copied';
      try {
        await withRetries(() => writeBlob(blob), {
          ...retryOptions,
          onRetry: (error, attempt, delayInMs) => {
            calls.retries += 1;
            deps.logger.warn('copy.blob.retry', {
              runId,
              partition: index,
              blob: blob.name,
              attempt,
              delayInMs,
              reason: describeStorageError(error),
            });
          },
        });
        record.blobsCopied += 1;
        record.bytesCopied += blob.contentLength;
        settle(position);
        saveProgress();
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        const last = error instanceof RetriesExhausted ? error.lastError : error;
        if (codeOf(last) === 'ContainerNotFound') {
          fatal ??= new Error(
            `The destination container "${deps.destination.container}" does not exist in ${deps.destination.account}: create it (the storage step does) before copying.`,
          );
          controller.abort(fatal);
          throw fatal;
        }
        outcome = 'failed';
        const failure = toFailure(blob.name, error);
        record.blobsFailed += 1;
        if (record.failures.length < settings.maxRecordedFailures) record.failures.push(failure);
        deps.logger.warn('copy.blob.failed', {
          runId,
          partition: index,
          blob: blob.name,
          attempts: failure.attempts,
          reason: failure.reason,
        });
      }
      report(blob, outcome);
    };

    // Positions are handed out as copy slots free up, so the partition holds `concurrency` calls
    // and their closures, not one pending task per blob. An abort stops handing out new ones.
    function* positions(): Generator<number> {
      for (let position = 0; position < blobs.length && !signal.aborted; position++) yield position;
    }
    let settled: PromiseSettledResult<void>[];
    try {
      settled = await pMapSettled(
        positions(),
        (position) => copyOne(blobs[position] as ListedBlob, position),
        {
          concurrency: settings.concurrency,
        },
      );
    } finally {
      await saving;
    }
    if (fatal) throw await failPartition(fatal);
    if (signal.aborted) throw signal.reason;
    const unexpected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (unexpected) throw unexpected.reason;

    record.status = record.blobsFailed > 0 ? 'done-with-failures' : 'done';
    record.endedAt = clock().toISOString();
    await saveRecord();
    const durationInMs = Math.round(performance.now() - startedAtMs);
    deps.logger.info('copy.partition.end', {
      runId,
      partition: index,
      status: record.status,
      attempt: record.attempts,
      blobsListed: record.blobsListed,
      blobsCopied: record.blobsCopied,
      blobsSkipped: record.blobsSkipped,
      blobsFailed: record.blobsFailed,
      bytesCopied: record.bytesCopied,
      durationInMs,
    });
    return {
      runId,
      partitionIndex: index,
      mode: resuming ? 'resumed' : 'copied',
      status: record.status,
      attempt: record.attempts,
      blobsListed: record.blobsListed,
      blobsCopied: record.blobsCopied,
      blobsSkipped: record.blobsSkipped,
      blobsFailed: record.blobsFailed,
      bytesCopied: record.bytesCopied,
      bytesSkipped: record.bytesSkipped,
      failures: record.failures.map((f) => ({ ...f })),
      calls: { ...calls },
      durationInMs,
    };
  } finally {
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}

/** SHA-256 of a manifest's blob names, in order. */
function manifestDigest(blobs: ListedBlob[]): string {
  const hash = createHash('sha256');
  for (const blob of blobs) hash.update(blob.name).update('\n');
  return hash.digest('hex');
}

/** What the destination holds for a blob, as Get Blob Properties reports it. */
export type DestinationBlob = ListedBlob & { copyStatus?: string | undefined };

/**
 * Whether a blob found at the destination while resuming can be skipped. It must not be in the
 * middle (or the failed end) of a copy, and must have the source's size and kind (directory stub or
 * not); then:
 * - when either side has a Content-MD5, the two must be equal (equal content, whoever wrote it);
 * - when neither has one, size alone proves little, so it must also have been written since the
 *   partition's first attempt started (`since`): by this run. The comparison is against the
 *   service's Last-Modified, so a destination clock behind ours only makes the engine copy again.
 */
export function isAlreadyCopied(source: ListedBlob, destination: DestinationBlob, since: Date): boolean {
  if (destination.copyStatus !== undefined && destination.copyStatus !== 'success') return false;
  if (source.contentLength !== destination.contentLength) return false;
  if (source.isDirectoryStub !== destination.isDirectoryStub) return false;
  if (source.contentMD5 !== undefined || destination.contentMD5 !== undefined) {
    return source.contentMD5 === destination.contentMD5;
  }
  return destination.lastModified !== undefined && destination.lastModified.getTime() >= since.getTime();
}

/**
 * The longest copy source URL the service takes: `x-ms-copy-source` of Copy Blob and Copy Blob From
 * URL is "a URL of up to 2 KiB in length"
 * (https://learn.microsoft.com/rest/api/storageservices/copy-blob-from-url, request headers; the
 * same limit is documented for `x-ms-copy-source` in Get Blob Properties). A blob name may be 1,024
 * characters, which URL-encode to up to about 9 KB when they are multi-byte, so some valid blobs
 * cannot be named as a copy source at all.
 */
export const MAX_COPY_SOURCE_URL_LENGTH = 2 * 1024;

/**
 * How one blob is written at the destination:
 * - `directory-stub`: a zero-length Put Blob with the source's metadata and headers;
 * - `stream`: the engine reads the source and writes the destination (Get Blob into Put Block /
 *   Put Block List), when the source URL (with its SAS) is longer than `MAX_COPY_SOURCE_URL_LENGTH`
 *   and the service would refuse to copy it; only block blobs;
 * - `sync`: Copy Blob From URL, for block blobs up to the threshold (256 MiB at most);
 * - `async`: Copy Blob, for larger blobs, page and append blobs.
 */
export type CopyMethod = 'directory-stub' | 'stream' | 'sync' | 'async';

export function copyMethodOf(
  blob: ListedBlob,
  sourceUrl: string,
  largeBlobThresholdInBytes: number,
): CopyMethod {
  if (blob.isDirectoryStub) return 'directory-stub';
  const isBlockBlob = blob.blobType === undefined || blob.blobType === 'BlockBlob';
  if (sourceUrl.length > MAX_COPY_SOURCE_URL_LENGTH) {
    if (!isBlockBlob) {
      throw new Error(
        `The ${blob.blobType} "${blob.name}" cannot be copied: its source URL is ${sourceUrl.length} characters, more than the ${MAX_COPY_SOURCE_URL_LENGTH} a service-side copy takes, and only block blobs are copied through the engine.`,
      );
    }
    return 'stream';
  }
  return isBlockBlob && blob.contentLength <= largeBlobThresholdInBytes ? 'sync' : 'async';
}

/** Block size of a copy through the engine, and blocks in flight per blob. */
const STREAM_BLOCK_BYTES = 8 * 1024 * 1024;
const STREAM_BLOCKS_IN_FLIGHT = 4;

/**
 * Copies a block blob through the engine: one Get Blob, its body staged as blocks and committed
 * with the source's HTTP properties (Content-MD5 included, as the source has it) and metadata, read
 * from the same Get Blob answer, so bytes and properties belong together. Idempotent: the commit
 * replaces the whole destination blob.
 */
async function streamCopy(
  source: BlobClient,
  target: BlockBlobClient,
  abortSignal: AbortSignal,
): Promise<void> {
  const download = await source.download(0, undefined, { abortSignal });
  const body = download.readableStreamBody;
  if (!body) throw new Error('Get Blob answered without a body');
  await target.uploadStream(body as Readable, STREAM_BLOCK_BYTES, STREAM_BLOCKS_IN_FLIGHT, {
    abortSignal,
    metadata: download.metadata ?? {},
    blobHTTPHeaders: {
      ...(download.contentType ? { blobContentType: download.contentType } : {}),
      ...(download.contentEncoding ? { blobContentEncoding: download.contentEncoding } : {}),
      ...(download.contentLanguage ? { blobContentLanguage: download.contentLanguage } : {}),
      ...(download.cacheControl ? { blobCacheControl: download.cacheControl } : {}),
      ...(download.contentDisposition ? { blobContentDisposition: download.contentDisposition } : {}),
      ...(download.contentMD5 ? { blobContentMD5: download.contentMD5 } : {}),
    },
  });
}

/**
 * Asynchronous Copy Blob, polled until it ends. A copy still pending at the destination from a
 * crashed attempt makes the service refuse a new one (409 PendingCopyOperation): that copy is
 * aborted and a new one started.
 */
async function asyncCopy(
  target: BlobClient,
  sourceUrl: string,
  intervalInMs: number,
  abortSignal: AbortSignal,
): Promise<void> {
  const begin = () => target.beginCopyFromURL(sourceUrl, { abortSignal, intervalInMs });
  let poller: Awaited<ReturnType<typeof begin>>;
  try {
    poller = await begin();
  } catch (error) {
    if (codeOf(error) !== 'PendingCopyOperation') throw error;
    const properties = await target.getProperties({ abortSignal });
    if (properties.copyId && properties.copyStatus === 'pending') {
      await target.abortCopyFromURL(properties.copyId, { abortSignal });
    }
    poller = await begin();
  }
  // Polled by hand: the poller's own pollUntilDone takes no abort signal.
  while (!poller.isDone()) {
    await delay(intervalInMs, undefined, { signal: abortSignal });
    await poller.poll({ abortSignal });
  }
  const state = poller.getOperationState();
  if (state.error) throw state.error;
  const status = poller.getResult()?.copyStatus;
  if (status !== undefined && status !== 'success') {
    throw new Error(`The asynchronous Copy Blob ended "${status}"`);
  }
}

function toFailure(name: string, error: unknown): BlobFailure {
  const last = error instanceof RetriesExhausted ? error.lastError : error;
  const attempts = error instanceof RetriesExhausted ? error.attempts : 1;
  const status = statusOf(last);
  const code = codeOf(last);
  let reason = describeStorageError(last);
  if (code === 'CannotVerifyCopySource' && status === 404) {
    reason = `The source blob no longer exists at the secondary (deleted after it was listed?): ${reason}`;
  } else if (isCopySourceNetworkRefusal(last)) {
    reason = `The source account's network rules (firewall) refused the destination account's storage service, which fetches the source of a server-side copy; the SAS is not the cause. Let every network reach the source account (az storage account update --default-action Allow) and retry the run: ${reason}`;
  } else if (status === 403) {
    reason = `Access denied (check the source SAS and the destination's role assignment): ${reason}`;
  }
  return {
    name,
    reason,
    ...(status !== undefined ? { statusCode: status } : {}),
    ...(code !== undefined ? { code } : {}),
    attempts,
  };
}

function resolveOptions(options: CopyOptions) {
  const pick = <K extends keyof typeof DEFAULT_COPY_OPTIONS>(key: K): number => {
    const value = options[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : DEFAULT_COPY_OPTIONS[key];
  };
  return {
    concurrency: Math.max(1, Math.floor(pick('concurrency'))),
    largeBlobThresholdInBytes: Math.min(pick('largeBlobThresholdInBytes'), SYNC_COPY_LIMIT_IN_BYTES),
    maxAttempts: Math.max(1, Math.floor(pick('maxAttempts'))),
    retryBaseDelayInMs: pick('retryBaseDelayInMs'),
    retryMaxDelayInMs: pick('retryMaxDelayInMs'),
    copyPollIntervalInMs: pick('copyPollIntervalInMs'),
    maxRecordedFailures: Math.max(0, Math.floor(pick('maxRecordedFailures'))),
    progressCheckpointIntervalInMs: Math.max(0, pick('progressCheckpointIntervalInMs')),
    reservationInBlobs: Math.max(2, Math.floor(pick('reservationInBlobs'))),
  };
}
