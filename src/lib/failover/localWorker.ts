import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { decodePartitionMessage } from '../copy/partitionMessage.js';
import { PARTITIONS_PER_INSTANCE } from '../copy/types.js';
import { handleCopyPartition } from './copyWorker.js';
import type { FailoverRun } from './FailoverRun.js';
import { advance, ensureQueues, type FailoverRuntime } from './FailoverService.js';
import { type QueueTrigger, runQueueHost } from './queueHost.js';
import { type AdvanceMessage, COPY_QUEUE, decodeMessage, FAILOVER_QUEUE, poisonQueueOf } from './queues.js';

export interface LocalWorkerOptions {
  /** Copy partitions handled at once. Default `PARTITIONS_PER_INSTANCE`, as on an instance. */
  partitionConcurrency?: number;
  /** Wait between receives when both queues are empty. Default 200 ms. */
  pollIntervalInMs?: number;
  /**
   * After a failed delivery the message reappears after this long. Default host.json's 30 s; tests
   * that make every delivery fail shorten it.
   */
  retryDelayInSeconds?: number;
  /** Gives up after this long (the run goes on: its messages stay queued). Default 1 hour. */
  timeoutInMs?: number;
  /** Called after every message, with the latest run record (for progress displays). */
  onProgress?: (run: FailoverRun) => void;
  abortSignal?: AbortSignal;
}

/**
 * Runs the Function app's queue-triggered functions in this process until the run ends: the same
 * handlers as `failoverWorker` and `copyWorker`, on the same queues, under `runQueueHost`, which
 * receives, renews, deletes and poisons messages as the Functions host does. Used where no Functions
 * host runs for us: the CLI's break-glass path, the drill, the tests.
 */
export async function runUntilDone(
  runtime: FailoverRuntime,
  runId: string,
  options: LocalWorkerOptions = {},
): Promise<FailoverRun> {
  await ensureQueues(runtime);
  const workerId = `local-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const queues = runtime.deps.clients.queueService(runtime.deps.appStorageAccount);
  const report = () =>
    runtime.store.get(runId).then(
      (run) => (run ? options.onProgress?.(run) : undefined),
      () => {},
    );
  const triggers: QueueTrigger[] = [
    {
      queue: runtime.failoverQueue,
      poisonQueue: queues.getQueueClient(poisonQueueOf(FAILOVER_QUEUE)),
      // A run's steps are claimed: a second advance of the same run at once would find them taken.
      concurrency: 1,
      handler: (text) =>
        advance(runtime, decodeMessage<AdvanceMessage>(text).runId, workerId).finally(report),
    },
    {
      queue: runtime.copyQueue,
      poisonQueue: queues.getQueueClient(poisonQueueOf(COPY_QUEUE)),
      concurrency: options.partitionConcurrency ?? PARTITIONS_PER_INSTANCE,
      visibilityTimeoutInSeconds: runtime.options.copyMessageVisibilityInSeconds,
      handler: (text) => handleCopyPartition(runtime, decodePartitionMessage(text)).finally(report),
    },
  ];

  const timeLimit = new AbortController();
  const timer = setTimeout(
    () =>
      timeLimit.abort(new Error(`Failover run ${runId} did not end within the local worker's time limit.`)),
    options.timeoutInMs ?? 60 * 60_000,
  );
  let ended: FailoverRun | undefined;
  try {
    await runQueueHost(triggers, {
      stopWhen: async () => {
        const run = await runtime.store.get(runId);
        if (run && run.state !== 'Running') ended = run;
        return ended !== undefined;
      },
      pollIntervalInMs: options.pollIntervalInMs ?? 200,
      ...(options.retryDelayInSeconds !== undefined
        ? { retryDelayInSeconds: options.retryDelayInSeconds }
        : {}),
      logger: runtime.deps.logger,
      abortSignal: options.abortSignal
        ? AbortSignal.any([options.abortSignal, timeLimit.signal])
        : timeLimit.signal,
    });
  } finally {
    clearTimeout(timer);
  }
  if (!ended) throw new Error(`The queue host stopped before failover run ${runId} ended.`);
  options.onProgress?.(ended);
  return ended;
}
