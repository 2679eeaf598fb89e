import { setMaxListeners } from 'node:events';
import type { ContainerClient } from '@azure/storage-blob';
import { pMapSettled } from 'p-map';
import { ConfigError, codeOf } from '../errors.js';
import { describeError } from '../redact.js';
import { applyAccessControl } from './accessControl.js';
import { listBlobPage } from './blobListing.js';
import {
  type BlobCopyTarget,
  blobCopyTarget,
  blobFailureOf,
  type CopyMethod,
  isAtDestination,
  writeBlob,
} from './blobWriter.js';
import type { BlobFailure, PartitionCheckpoint, PartitionStatus } from './CheckpointStore.js';
import type { BlobOutcome, CopyProgressCallback } from './CopyProgress.js';
import type { ListedBlob } from './ListedBlob.js';
import { noBlobsCounted, PartitionProgress, type ResumePoint } from './PartitionProgress.js';
import { RetriesExhausted, withRetries } from './retry.js';
import { type CopyDeps, type CopyPartition, SYNC_COPY_LIMIT_IN_BYTES } from './types.js';

export interface CopyOptions {
  /**
   * Copy calls in flight for this partition. Default 32: server-side copies are latency-bound, not
   * bandwidth-bound, on the client. Run several partitions at once to go wider.
   */
  concurrency?: number;
  /** Up to this size Copy Blob From URL (synchronous); above, asynchronous Copy Blob. Default 256 MiB, the service's limit. */
  largeBlobThresholdInBytes?: number;
  /**
   * Tries per blob, the first included, of a copy that failed although its requests succeeded (an
   * asynchronous copy that ended `failed`, a source that failed the destination's fetch: `retry.ts`).
   * Failed requests are retried by the SDK pipeline, not here. Default 5.
   */
  maxAttempts?: number;
  /** First backoff between tries of one blob; doubles, jittered (`calculateRetryDelay`). Default 250 ms. */
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

const DEFAULT_COPY_OPTIONS = {
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
  /** Blobs copied again after a copy failure that `retry.ts` owns (failed requests are the SDK's). */
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
 *   settled (`settledThrough`, saved every few seconds while copying) is skipped without a call
 *   (`PartitionProgress`).
 * - Each blob is written by `writeBlob`: Copy Blob From URL up to `largeBlobThresholdInBytes`, the
 *   asynchronous Copy Blob above it (and for page or append blobs), a copy through the engine for a
 *   source URL too long for the service, and directory stubs (`hdi_isfolder=true`) recreated as
 *   directories with the same metadata and headers, never put over a path that exists.
 * - With `deps.accessControl`, each path's owner, group and ACL are read at the source (secondary
 *   Data Lake endpoint) and set at the destination once its data is written; a blob found at the
 *   destination on resume is then written again, since its access control may be missing.
 * - Failed requests are retried by the SDK pipeline; a copy that failed although its requests
 *   succeeded is copied again (`retry.ts`). A blob that still fails, or fails for good (403, a 404
 *   because it was deleted after listing…), is recorded by name and the partition ends
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
  const startedAtMs = performance.now();
  const { runId, index } = partition;
  const callerSignal = options.abortSignal;
  callerSignal?.throwIfAborted();
  const calls = noCalls();
  const existing = await deps.checkpoints.get(
    runId,
    index,
    callerSignal ? { abortSignal: callerSignal } : {},
  );
  if (existing?.record.status === 'done') {
    deps.logger.info('copy.partition.skip', { runId, partition: index, reason: 'done' });
    return resultOf('already-done', { ...existing.record, ...noBlobsCounted() }, calls, startedAtMs);
  }
  // One signal for the partition: the caller's abort, a progress callback that threw, or a
  // destination that cannot take any blob. Every request in flight listens to it: far more than
  // Node's default of 10 listeners.
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const signal = controller.signal;
  const progress = await PartitionProgress.claim(deps.checkpoints, partition, existing, {
    ...(callerSignal ? { abortSignal: callerSignal } : {}),
    clock: deps.clock ?? (() => new Date()),
    progressCheckpointIntervalInMs: settings.progressCheckpointIntervalInMs,
    reservationInBlobs: settings.reservationInBlobs,
    onProgressNotSaved: (error) => {
      if (signal.aborted) return;
      deps.logger.warn('copy.partition.progress_not_saved', {
        runId,
        partition: index,
        reason: describeError(error),
      });
    },
  });
  const mode = existing ? 'resumed' : 'copied';
  deps.logger.info('copy.partition.start', {
    runId,
    partition: index,
    attempt: progress.record.attempts,
    mode,
  });
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    const { source, blobs, manifest } = await openPartition(deps, partition, progress, signal);
    const run: PartitionRun = {
      deps,
      settings,
      progress,
      calls,
      controller,
      source,
      destination: deps.clients
        .blobService(deps.destination.account)
        .getContainerClient(deps.destination.container),
      resuming: existing !== undefined,
      resume: progress.track(blobs, manifest, existing?.record),
      since: new Date(progress.record.startedAt),
      onProgress: options.onProgress,
    };
    // Positions are handed out as copy slots free up, so the partition holds `concurrency` calls
    // and their closures, not one pending task per blob. An abort stops handing out new ones.
    function* positions(): Generator<number> {
      for (let position = 0; position < blobs.length && !signal.aborted; position++) yield position;
    }
    const settled = await pMapSettled(
      positions(),
      (position) => copyOne(run, blobs[position] as ListedBlob, position),
      { concurrency: settings.concurrency },
    ).finally(() => progress.idle());
    if (run.fatal) throw await failPartition(deps, progress, run.fatal);
    if (signal.aborted) throw signal.reason;
    const unexpected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (unexpected) throw unexpected.reason;

    await progress.finish();
    const result = resultOf(mode, progress.record, calls, startedAtMs);
    const { status, attempt, blobsListed, blobsCopied, blobsSkipped, blobsFailed, bytesCopied } = result;
    deps.logger.info('copy.partition.end', {
      runId,
      partition: index,
      status,
      attempt,
      blobsListed,
      blobsCopied,
      blobsSkipped,
      blobsFailed,
      bytesCopied,
      durationInMs: result.durationInMs,
    });
    return result;
  } finally {
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}

/** One attempt at a partition, as each of its blobs needs it. */
interface PartitionRun {
  deps: CopyDeps;
  settings: ReturnType<typeof resolveOptions>;
  progress: PartitionProgress;
  calls: CopyCallCounts;
  controller: AbortController;
  source: ContainerClient;
  destination: ContainerClient;
  /** A previous attempt left a checkpoint: blobs are looked up before they are copied. */
  resuming: boolean;
  resume: ResumePoint;
  /** Destination blobs written since then count as this run's (`isAlreadyCopied`). */
  since: Date;
  onProgress: CopyProgressCallback | undefined;
  /** Set when the destination cannot take any blob: the partition stops instead of failing each one. */
  fatal?: Error;
}

/**
 * The blobs of the partition (its manifest, or its page listed again) and the source container.
 * A listing that fails, or a source SAS that cannot be used, fails the whole partition.
 */
async function openPartition(
  deps: CopyDeps,
  partition: CopyPartition,
  progress: PartitionProgress,
  signal: AbortSignal,
): Promise<{ source: ContainerClient; blobs: ListedBlob[]; manifest: boolean }> {
  const { runId, index } = partition;
  // Read from the app's own storage: an error here is not the source's, and the message comes back.
  const manifest = partition.manifest
    ? await deps.checkpoints.getManifest(runId, index, { abortSignal: signal })
    : undefined;
  if (partition.manifest && !manifest) {
    deps.logger.warn('copy.partition.no_manifest', { runId, partition: index, fallback: 'listing' });
  }
  try {
    const source = deps.source.containerClient();
    if (manifest) return { source, blobs: manifest, manifest: true };
    const page = await listBlobPage(deps.source.listable(), deps.source.prefix, {
      ...(partition.marker !== undefined ? { marker: partition.marker } : {}),
      pageSize: partition.pageSize,
      abortSignal: signal,
    });
    return { source, blobs: page.blobs, manifest: false };
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    // An unusable SAS (expired, unsigned) is a configuration error, as it is.
    throw await failPartition(
      deps,
      progress,
      error instanceof ConfigError ? error : deps.source.listingFailed(error),
    );
  }
}

/** Skips, writes or records as failed the blob at `position`, and tells `onProgress`. */
async function copyOne(run: PartitionRun, blob: ListedBlob, position: number): Promise<void> {
  const { deps, progress, controller, resume } = run;
  const signal = controller.signal;
  signal.throwIfAborted();
  if (position >= resume.settledBefore) await progress.reserve(position);
  signal.throwIfAborted();
  const target = blobCopyTarget(run.source, run.destination, blob.name);
  // A blob found at the destination may lack its access control (a crash between the two writes):
  // with access control carried, it is written again rather than skipped.
  const lookUp = run.resuming && position >= resume.settledBefore && position < resume.lookUpBefore;
  const skip =
    position < resume.settledBefore ||
    (lookUp && !deps.accessControl && (await foundAtDestination(run, target, blob)));
  let outcome: BlobOutcome = 'skipped';
  if (skip) progress.skipped(blob, position);
  else {
    try {
      await withRetries(() => writeOne(run, target, blob), {
        maxAttempts: run.settings.maxAttempts,
        baseDelayInMs: run.settings.retryBaseDelayInMs,
        maxDelayInMs: run.settings.retryMaxDelayInMs,
        abortSignal: signal,
        onRetry: (error, attempt, delayInMs) => {
          run.calls.retries += 1;
          deps.logger.warn('copy.blob.retry', {
            runId: progress.record.runId,
            partition: progress.record.partitionIndex,
            blob: blob.name,
            attempt,
            delayInMs,
            reason: describeError(error),
          });
        },
      });
      progress.copied(blob, position);
      outcome = 'copied';
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      const last = error instanceof RetriesExhausted ? error.lastError : error;
      if (codeOf(last) === 'ContainerNotFound') {
        run.fatal ??= new Error(
          `The destination container "${deps.destination.container}" does not exist in ${deps.destination.account}: create it (the storage step does) before copying.`,
        );
        controller.abort(run.fatal);
        throw run.fatal;
      }
      const failure = blobFailureOf(blob.name, error);
      progress.failed(failure, run.settings.maxRecordedFailures);
      deps.logger.warn('copy.blob.failed', {
        runId: progress.record.runId,
        partition: progress.record.partitionIndex,
        blob: blob.name,
        attempts: failure.attempts,
        reason: failure.reason,
      });
      outcome = 'failed';
    }
  }
  report(run, blob, outcome);
}

/** Whether the blob is already at the destination (one Get Blob Properties, counted). */
function foundAtDestination(run: PartitionRun, target: BlobCopyTarget, blob: ListedBlob): Promise<boolean> {
  run.calls.destinationHead += 1;
  return isAtDestination(target, blob, run.since, run.controller.signal);
}

/** Which count a write by each method adds to. */
const CALL_OF_METHOD = {
  'directory-stub': 'directoryStub',
  stream: 'streamCopy',
  sync: 'syncCopy',
  async: 'asyncCopy',
} as const satisfies Record<CopyMethod, keyof CopyCallCounts>;

/** One try at a blob: its data, then its access control. Counted when it succeeded. */
async function writeOne(run: PartitionRun, target: BlobCopyTarget, blob: ListedBlob): Promise<void> {
  const { deps, controller, settings } = run;
  const signal = controller.signal;
  const method = await writeBlob(target, blob, {
    largeBlobThresholdInBytes: settings.largeBlobThresholdInBytes,
    copyPollIntervalInMs: settings.copyPollIntervalInMs,
    abortSignal: signal,
  });
  run.calls[CALL_OF_METHOD[method]] += 1;
  if (deps.accessControl) {
    const access = await deps.source.readAccessControl(blob.name, signal);
    await applyAccessControl(deps, blob.name, access, signal);
    run.calls.accessControl += 1;
  }
}

/** Tells `onProgress`; a callback that throws stops the partition as a crash would. */
function report(run: PartitionRun, blob: ListedBlob, outcome: BlobOutcome): void {
  if (!run.onProgress) return;
  try {
    run.onProgress({
      runId: run.progress.record.runId,
      partitionIndex: run.progress.record.partitionIndex,
      blobName: blob.name,
      outcome,
      bytes: blob.contentLength,
    });
  } catch (error) {
    run.controller.abort(error);
    throw error;
  }
}

/** Records the whole partition as `failed` and returns the error to throw. */
async function failPartition(deps: CopyDeps, progress: PartitionProgress, failed: Error): Promise<Error> {
  await progress.fail(failed);
  const { runId, partitionIndex } = progress.record;
  deps.logger.error('copy.partition.failed', { runId, partition: partitionIndex, reason: failed.message });
  return failed;
}

function resultOf(
  mode: CopyPartitionResult['mode'],
  record: PartitionCheckpoint,
  calls: CopyCallCounts,
  startedAtMs: number,
): CopyPartitionResult {
  return {
    runId: record.runId,
    partitionIndex: record.partitionIndex,
    mode,
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
    durationInMs: Math.round(performance.now() - startedAtMs),
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
