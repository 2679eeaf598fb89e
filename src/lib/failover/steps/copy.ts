import type { QueueClient } from '@azure/storage-queue';
import type { PartitionCheckpoint, VersionedCheckpoint } from '../../copy/CheckpointStore.js';
import { copyScopeOf } from '../../copy/copyScope.js';
import { decodePartitionMessage, encodePartitionMessage } from '../../copy/partitionMessage.js';
import { planPartitions } from '../../copy/planPartitions.js';
import { statusOf } from '../../errors.js';
import { copyDepsFor } from '../copyContext.js';
import { COPY_QUEUE as COPY_QUEUE_NAME, MAX_DEQUEUE_COUNT, poisonQueueOf } from '../queues.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/** Partitions that ended with failed blobs are sent again this many times before the step fails. */
const MAX_PARTITION_ATTEMPTS = 3;

interface CopyStepState {
  /** Where listing continues after a crash: the next partition's index and marker. */
  nextPartition?: { index: number; marker: string };
  /** Set by a retry of the run: every partition not done is sent again (see `requeueUnfinished`). */
  requeueUnfinished?: boolean;
}

/**
 * The copy, spread over the copy queue's workers.
 *
 * First call: lists the source through the secondary, page by page, stores each page as the
 * partition's manifest and sends one queue message per page (a partition); the run's progress
 * counts what was listed so far, and listing resumes where it stopped after a crash. Later calls (the run is re-advanced every few seconds): when every
 * partition has a final checkpoint, re-sends those that ended with failed blobs (up to 3 attempts;
 * a resumed partition copies only what is missing), then sums the checkpoints into the run's exact
 * figures. A blob that still fails is named in the run's errors and fails the step.
 */
export async function copyData(ctx: StepContext): Promise<StepOutcome> {
  const deps = await copyDepsFor(ctx);
  const queue = ctx.clients.queueService(ctx.appStorageAccount).getQueueClient(COPY_QUEUE_NAME);
  await queue.createIfNotExists();
  let run = ctx.run;
  if ((run.steps['storage.copy'].detail as CopyStepState | undefined)?.requeueUnfinished) {
    // A retry: the partitions listed so far are sent again before the listing (if cut off) goes on.
    const sent = await requeueUnfinished(ctx, deps, queue, run.progress.partitionsListed);
    run = await ctx.store.update(run.runId, (r) => {
      const detail = { ...r.steps['storage.copy'].detail };
      delete detail.requeueUnfinished;
      r.steps['storage.copy'].detail = detail;
      return true;
    });
    if (run.progress.listingComplete) {
      return { waiting: true, detail: { phase: 'retrying', partitionsRetried: sent } };
    }
  }
  if (!run.progress.listingComplete) {
    const state = (run.steps['storage.copy'].detail ?? {}) as CopyStepState;
    for await (const planned of planPartitions(deps, run.runId, {
      pageSize: ctx.options.partitionSize,
      largeBlobThresholdInBytes: ctx.options.largeBlobThresholdInBytes,
      ...(state.nextPartition ? { resumeFrom: state.nextPartition } : {}),
      ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
    })) {
      await deps.checkpoints.putManifest(run.runId, planned.partition.index, planned.blobs, {
        ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
      });
      await queue.sendMessage(
        encodePartitionMessage({ ...planned.partition, manifest: true, ...retryOf(run) }),
      );
      run = await ctx.store.update(run.runId, (r) => {
        const step = r.steps['storage.copy'];
        r.progress.partitionsListed = planned.partition.index + 1;
        r.progress.blobsListed += planned.blobCount;
        r.progress.bytesListed += planned.bytes;
        step.detail = {
          ...step.detail,
          ...(planned.nextMarker
            ? { nextPartition: { index: planned.partition.index + 1, marker: planned.nextMarker } }
            : {}),
        };
        return true;
      });
    }
    run = await ctx.store.update(run.runId, (r) => {
      r.progress.listingComplete = true;
      return true;
    });
    return {
      waiting: true,
      detail: {
        phase: 'copying',
        scope: copyScopeOf(deps.source.prefix).description,
        partitions: run.progress.partitionsListed,
      },
    };
  }

  const total = run.progress.partitionsListed;
  const versions: Array<VersionedCheckpoint | undefined> = [];
  for (let index = 0; index < total; index++) versions.push(await deps.checkpoints.get(run.runId, index));
  const checkpoints = versions.map((v) => v?.record);
  const pending = checkpoints.filter((c) => !c || c.status === 'started').length;
  if (pending > 0) await failIfOnlyPoisonedRemain(ctx, checkpoints);
  const startedAt = Date.parse(run.steps['storage.copy'].startedAt ?? run.createdAt);
  if (pending > 0 && ctx.clock().getTime() - startedAt > ctx.options.copyTimeoutInMs) {
    throw new Error(
      `The copy did not finish within ${Math.round(ctx.options.copyTimeoutInMs / 60_000)} min: ${pending} of ${total} partitions are still in flight. Check that the copy queue's workers (copyWorker) run, then retry the run: partitions already copied are kept.`,
    );
  }
  if (pending > 0) {
    await ctx.store.update(run.runId, (r) => {
      r.progress.partitionsDone = total - pending;
      return true;
    });
    return {
      waiting: true,
      detail: { phase: 'copying', partitions: total, partitionsDone: total - pending },
    };
  }
  // Each retry of the run gives every partition as many attempts again.
  const allowedAttempts = MAX_PARTITION_ATTEMPTS * (1 + (run.retries?.length ?? 0));
  const retry = checkpoints.filter(
    (c): c is PartitionCheckpoint =>
      !!c && (c.status === 'done-with-failures' || c.status === 'failed') && c.attempts < allowedAttempts,
  );
  if (retry.length > 0) {
    for (const c of retry) await sendAgain(ctx, deps, queue, c.partitionIndex, versions[c.partitionIndex]);
    return { waiting: true, detail: { phase: 'retrying', partitionsRetried: retry.length } };
  }

  const sum = { copied: 0, skipped: 0, failed: 0, bytesCopied: 0 };
  const failedBlobs: Array<{ name: string; reason: string }> = [];
  const failedPartitions: number[] = [];
  for (const c of checkpoints as PartitionCheckpoint[]) {
    sum.copied += c.blobsCopied;
    sum.skipped += c.blobsSkipped;
    sum.failed += c.blobsFailed;
    sum.bytesCopied += c.bytesCopied;
    for (const f of c.failures)
      if (failedBlobs.length < 1000) failedBlobs.push({ name: f.name, reason: f.reason });
    if (c.status === 'failed') failedPartitions.push(c.partitionIndex);
  }
  await ctx.store.update(run.runId, (r) => {
    r.progress.partitionsDone = total;
    r.progress.blobsCopied = sum.copied;
    r.progress.blobsSkipped = sum.skipped;
    r.progress.blobsFailed = sum.failed;
    r.progress.bytesCopied = sum.bytesCopied;
    r.progress.failedBlobs = failedBlobs;
    r.progress.totalsFromCheckpoints = true;
    return true;
  });
  if (sum.failed > 0 || failedPartitions.length > 0) {
    const names = failedBlobs.slice(0, 20).map((f) => `${f.name} (${f.reason})`);
    throw new Error(
      `${sum.failed} blob(s) could not be copied after ${allowedAttempts} attempts${failedPartitions.length ? ` and partitions ${failedPartitions.join(', ')} failed` : ''}: ${names.join('; ')}${failedBlobs.length > 20 ? '; …' : ''}`,
    );
  }
  return {
    detail: {
      phase: 'done',
      scope: copyScopeOf(deps.source.prefix).description,
      partitions: total,
      blobsCopied: sum.copied,
      blobsSkipped: sum.skipped,
      bytesCopied: sum.bytesCopied,
    },
  };
}

type StepCopyDeps = Awaited<ReturnType<typeof copyDepsFor>>;

/**
 * Sends a partition again. One that ended with failures is marked in flight, so that the next check
 * waits for the new attempt.
 */
async function sendAgain(
  ctx: StepContext,
  deps: StepCopyDeps,
  queue: QueueClient,
  index: number,
  version?: VersionedCheckpoint,
): Promise<void> {
  const checkpoint = version?.record;
  await queue.sendMessage(
    encodePartitionMessage({
      runId: ctx.run.runId,
      index,
      ...(checkpoint?.marker !== undefined ? { marker: checkpoint.marker } : {}),
      pageSize: ctx.options.partitionSize,
      manifest: true,
      ...retryOf(ctx.run),
    }),
  );
  if (checkpoint && checkpoint.status !== 'started') {
    await deps.checkpoints.put(
      ctx.run.runId,
      index,
      { ...checkpoint, status: 'started' },
      { etag: version?.etag },
    );
  }
}

/**
 * After a retry of the run: sends again every partition that is not done. The failed run's
 * messages may be gone (a worker drops the messages of a run that has ended), so a partition that
 * never started, or whose worker stopped, is sent too; a message that turns out to be a duplicate
 * finds the partition done, or resumes it. A partition with no checkpoint is sent only when its
 * manifest is stored, since its message can name it by nothing else.
 */
async function requeueUnfinished(
  ctx: StepContext,
  deps: StepCopyDeps,
  queue: QueueClient,
  total: number,
): Promise<number> {
  let sent = 0;
  for (let index = 0; index < total; index++) {
    const version = await deps.checkpoints.get(ctx.run.runId, index);
    if (version?.record.status === 'done') continue;
    if (!version && !(await deps.checkpoints.hasManifest(ctx.run.runId, index))) {
      throw new Error(
        `Partition ${index} of run ${ctx.run.runId} has neither a checkpoint nor a stored manifest, so it cannot be sent again; start a new failover run.`,
      );
    }
    await sendAgain(ctx, deps, queue, index, version);
    sent += 1;
  }
  return sent;
}

/** The retry number that messages of this run carry (none before its first retry). */
function retryOf(run: StepContext['run']): { retry?: number } {
  const retries = run.retries?.length ?? 0;
  return retries > 0 ? { retry: retries } : {};
}

/**
 * Fails the step when every partition still without a final checkpoint had its message moved to
 * the copy queue's poison queue (it failed `MAX_DEQUEUE_COUNT` times): nothing would ever copy
 * them, and the run would otherwise wait until the copy timeout. The step waits for the other
 * partitions first. Only this run's messages since its latest retry count (a retry sends every
 * unfinished partition again). The poison queue is peeked, never changed: up to 32 messages, the
 * oldest first.
 */
async function failIfOnlyPoisonedRemain(
  ctx: StepContext,
  checkpoints: Array<PartitionCheckpoint | undefined>,
): Promise<void> {
  const poisonQueue = poisonQueueOf(COPY_QUEUE_NAME);
  const retries = ctx.run.retries?.length ?? 0;
  let peeked: Array<{ messageText: string }>;
  try {
    peeked = (
      await ctx.clients
        .queueService(ctx.appStorageAccount)
        .getQueueClient(poisonQueue)
        .peekMessages({ numberOfMessages: 32 })
    ).peekedMessageItems;
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw error;
  }
  const poisoned = new Set<number>();
  for (const item of peeked) {
    try {
      const message = decodePartitionMessage(item.messageText);
      if (message.runId === ctx.run.runId && (message.retry ?? 0) === retries) poisoned.add(message.index);
    } catch {
      // Not a copy partition: not ours to judge.
    }
  }
  const unfinished = checkpoints.flatMap((c, index) => (!c || c.status === 'started' ? [index] : []));
  if (poisoned.size === 0 || !unfinished.every((index) => poisoned.has(index))) return;
  const reasons = unfinished.flatMap((index) => {
    const error = checkpoints[index]?.error;
    return error ? [`partition ${index}: ${error}`] : [];
  });
  throw new Error(
    `The copy cannot finish: the message of partition${unfinished.length > 1 ? 's' : ''} ${unfinished.join(', ')} failed ${MAX_DEQUEUE_COUNT} times and went to the poison queue ${poisonQueue}${reasons.length ? ` (${reasons.slice(0, 5).join('; ')})` : ''}. Fix the cause (the copy worker's error is logged as copy.partition.failed, or queue_host.handler_failed when the CLI works the run), then retry the run: partitions already copied are kept.`,
  );
}
