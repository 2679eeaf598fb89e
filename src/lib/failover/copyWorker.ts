import { copyPartition } from '../copy/copyPartition.js';
import type { CopyPartition } from '../copy/types.js';
import { copyDepsFor } from './copyContext.js';
import { type FailoverRuntime, scheduleAdvance } from './FailoverService.js';

/**
 * Handles one copy-queue message: copies the partition, adds its figures to the run's live progress,
 * and, when it was the last one, advances the run at once instead of waiting for the next check.
 * Throws on failure so that the queue delivers the message again (the partition then resumes).
 */
export async function handleCopyPartition(runtime: FailoverRuntime, partition: CopyPartition): Promise<void> {
  const { deps, options, store } = runtime;
  const run = await store.get(partition.runId);
  if (run?.state !== 'Running') {
    deps.logger.warn('copy.partition.ignored', {
      runId: partition.runId,
      partition: partition.index,
      reason: run ? `run is ${run.state}` : 'no such run',
    });
    return;
  }
  const retries = run.retries?.length ?? 0;
  if ((partition.retry ?? 0) < retries) {
    deps.logger.info('copy.partition.ignored', {
      runId: partition.runId,
      partition: partition.index,
      reason: `sent before retry ${retries}, which sent the partition again`,
    });
    return;
  }
  const config = await deps.config();
  const copyDeps = await copyDepsFor({ ...deps, config });
  const result = await copyPartition(copyDeps, partition, {
    concurrency: options.copyConcurrency,
    largeBlobThresholdInBytes: options.largeBlobThresholdInBytes,
  });
  if (result.mode === 'already-done') return;
  const updated = await store.update(partition.runId, (r) => {
    // The calls are counted only here: checkpoints do not hold them.
    r.progress.copyCalls +=
      result.calls.syncCopy + result.calls.asyncCopy + result.calls.directoryStub + result.calls.streamCopy;
    // Live figures; the copy step replaces them with the exact sums of the checkpoints at the end,
    // and this partition's checkpoint may already be in those sums.
    if (r.progress.totalsFromCheckpoints) return true;
    r.progress.blobsCopied += result.blobsCopied;
    r.progress.blobsSkipped += result.blobsSkipped;
    r.progress.bytesCopied += result.bytesCopied;
    r.progress.partitionsDone = Math.min(r.progress.partitionsDone + 1, r.progress.partitionsListed);
    return true;
  });
  if (
    updated.progress.listingComplete &&
    updated.progress.partitionsDone >= updated.progress.partitionsListed
  ) {
    await scheduleAdvance(runtime, partition.runId);
  }
}
