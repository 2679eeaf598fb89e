import type { QueueClient } from '@azure/storage-queue';
import type { CopyProgressCallback } from '../src/lib/copy/CopyProgress.js';
import {
  type CopyCallCounts,
  type CopyPartitionResult,
  copyPartition,
  noCalls,
} from '../src/lib/copy/copyPartition.js';
import { decodePartitionMessage, encodePartitionMessage } from '../src/lib/copy/partitionMessage.js';
import { planPartitions } from '../src/lib/copy/planPartitions.js';
import type { CopyDeps } from '../src/lib/copy/types.js';
import { verifyCopy } from '../src/lib/copy/verifyCopy.js';
import { type PoisonQueue, runQueueHost } from '../src/lib/failover/queueHost.js';
import { DEFAULT_FAILOVER_OPTIONS } from '../src/lib/failover/StepContext.js';

/** The settings of the copy that a failover uses, and which the benchmark can vary. */
export interface EngineSettings {
  /** Blobs per partition (one listing page, one queue message). */
  partitionSize: number;
  /** Copy calls in flight per partition. */
  copyConcurrency: number;
  /** Partitions copied at once; undefined: the queue host's default (`runQueueHost`). */
  partitionConcurrency?: number;
  largeBlobThresholdInBytes: number;
}

/** The failover's defaults: what `copyData` plans with and `handleCopyPartition` copies with. */
export function failoverEngineSettings(): EngineSettings {
  return {
    partitionSize: DEFAULT_FAILOVER_OPTIONS.partitionSize,
    copyConcurrency: DEFAULT_FAILOVER_OPTIONS.copyConcurrency,
    largeBlobThresholdInBytes: DEFAULT_FAILOVER_OPTIONS.largeBlobThresholdInBytes,
  };
}

export interface EngineCopyResult {
  blobsListed: number;
  bytesListed: number;
  partitions: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsFailed: number;
  bytesCopied: number;
  /** Storage calls of every `copyPartition`, summed: what proves the cost of a resume. */
  calls: CopyCallCounts;
  /** How each partition ran: copied fresh, resumed after a crash, or skipped as done. */
  partitionModes: Record<CopyPartitionResult['mode'], number>;
  timings: {
    /** Start to verification end: the figure throughput is computed from. */
    totalInMs: number;
    /** Start to the end of planning (which overlaps the copy, as in a failover). */
    planningInMs: number;
    /** Start to the end of the last partition. */
    copyInMs: number;
    verifyInMs: number;
  };
  verification: {
    ok: boolean;
    sourceCount: number;
    matched: number;
    missingCount: number;
    mismatchedCount: number;
    extraCount: number;
    listingOrder: string;
  };
}

export interface EngineCopyOptions {
  runId: string;
  settings: EngineSettings;
  /** An empty queue of its own for this copy's partitions (created and deleted by the caller). */
  queue: QueueClient;
  /** Where a partition that failed on every delivery goes (`<queue>-poison`). */
  poisonQueue: PoisonQueue;
  onProgress?: CopyProgressCallback;
  /** Called when verification starts, so that memory can be told apart by phase. */
  onVerify?: () => void;
  /** Gives up after this long; a copy that hangs must not hang the benchmark. Default 30 min. */
  timeoutInMs?: number;
}

/**
 * The copy engine end to end, as a failover runs it: `planPartitions` lists the source through the
 * secondary, stores each page as the partition's manifest and sends one queue message per partition
 * (the copy step); `runQueueHost`, with its default partition concurrency, hands each message to
 * `copyPartition`, which checkpoints to blob storage (the copy queue's worker); when every partition is done, `verifyCopy` merges both
 * listings (the verify step). Planning and copying overlap, as they do when the queue workers start
 * on the first partitions while the listing continues.
 *
 * The run-record bookkeeping of the failover (run store updates, step claims) is left out: it is
 * the runbook's, not the copy's.
 */
export async function copyWithEngine(deps: CopyDeps, options: EngineCopyOptions): Promise<EngineCopyResult> {
  const { runId, settings, queue } = options;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const stopDraining = new AbortController();
  const timeoutInMs = options.timeoutInMs ?? 30 * 60_000;
  const timeout = setTimeout(
    () => stopDraining.abort(new Error(`The engine copy ${runId} did not end within ${timeoutInMs} ms.`)),
    timeoutInMs,
  );

  const results: CopyPartitionResult[] = [];
  let planned = 0;
  let planningDone = false;
  let allCopied: () => void = () => {};
  const copied = new Promise<void>((resolve) => {
    allCopied = resolve;
  });
  const checkDone = () => {
    if (planningDone && results.length >= planned) allCopied();
  };

  const draining = runQueueHost(
    [
      {
        queue,
        poisonQueue: options.poisonQueue,
        ...(settings.partitionConcurrency !== undefined
          ? { concurrency: settings.partitionConcurrency }
          : {}),
        handler: async (text) => {
          const result = await copyPartition(deps, decodePartitionMessage(text), {
            concurrency: settings.copyConcurrency,
            largeBlobThresholdInBytes: settings.largeBlobThresholdInBytes,
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          });
          results.push(result);
          checkDone();
        },
      },
    ],
    {
      stopWhen: () => planningDone && results.length >= planned,
      abortSignal: stopDraining.signal,
    },
  ).catch((error: unknown) => {
    if (!stopDraining.signal.aborted || stopDraining.signal.reason instanceof Error) throw error;
  });

  let blobsListed = 0;
  let bytesListed = 0;
  let planningInMs = 0;
  try {
    for await (const partition of planPartitions(deps, runId, {
      pageSize: settings.partitionSize,
      largeBlobThresholdInBytes: settings.largeBlobThresholdInBytes,
    })) {
      await deps.checkpoints.putManifest(runId, partition.partition.index, partition.blobs);
      await queue.sendMessage(encodePartitionMessage({ ...partition.partition, manifest: true }));
      planned += 1;
      blobsListed += partition.blobCount;
      bytesListed += partition.bytes;
    }
    planningInMs = elapsed();
    planningDone = true;
    checkDone();
    await Promise.race([copied, draining]);
  } finally {
    clearTimeout(timeout);
    if (!stopDraining.signal.aborted) stopDraining.abort('copied');
  }
  await draining;
  if (results.length < planned)
    throw new Error(`Only ${results.length} of ${planned} partitions were copied.`);
  const copyInMs = elapsed();

  options.onVerify?.();
  const verifyStarted = performance.now();
  const verification = await verifyCopy(deps);
  const verifyInMs = Math.round(performance.now() - verifyStarted);
  const totalInMs = elapsed();

  const calls = noCalls();
  const partitionModes: EngineCopyResult['partitionModes'] = { copied: 0, resumed: 0, 'already-done': 0 };
  let blobsCopied = 0;
  let blobsSkipped = 0;
  let blobsFailed = 0;
  let bytesCopied = 0;
  for (const r of results) {
    for (const key of Object.keys(calls) as Array<keyof CopyCallCounts>) calls[key] += r.calls[key];
    partitionModes[r.mode] += 1;
    blobsCopied += r.blobsCopied;
    blobsSkipped += r.blobsSkipped;
    blobsFailed += r.blobsFailed;
    bytesCopied += r.bytesCopied;
  }
  return {
    blobsListed,
    bytesListed,
    partitions: planned,
    blobsCopied,
    blobsSkipped,
    blobsFailed,
    bytesCopied,
    calls,
    partitionModes,
    timings: { totalInMs, planningInMs, copyInMs, verifyInMs },
    verification: {
      ok: verification.ok,
      sourceCount: verification.sourceCount,
      matched: verification.matched,
      missingCount: verification.missingCount,
      mismatchedCount: verification.mismatchedCount,
      extraCount: verification.extraCount,
      listingOrder: verification.listingOrder,
    },
  };
}
