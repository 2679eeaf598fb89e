import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { delay } from '@azure/core-util';
import type { QueueClient } from '@azure/storage-queue';
import { decodePartitionMessage } from '../copy/partitionMessage.js';
import { PARTITIONS_PER_INSTANCE } from '../copy/types.js';
import { handleCopyPartition } from './copyWorker.js';
import type { FailoverRun } from './FailoverRun.js';
import { advance, ensureQueues, type FailoverRuntime } from './FailoverService.js';
import { type AdvanceMessage, decodeMessage, MAX_DEQUEUE_COUNT, poisonQueueOf } from './queues.js';

export interface LocalWorkerOptions {
  /** Copy partitions handled at once. Default `PARTITIONS_PER_INSTANCE`, as on an instance. */
  partitionConcurrency?: number;
  /** Wait between receives when both queues are empty. */
  pollIntervalInMs?: number;
  /** Gives up after this long. */
  timeoutInMs?: number;
  /** Called after every message, with the latest run record (for progress displays). */
  onProgress?: (run: FailoverRun) => void;
  abortSignal?: AbortSignal;
}

/**
 * Runs the Function app's queue workers in this process until the run ends: the same handlers the
 * queue-triggered functions use, on the same queues. Used on the local stack (tests, the CLI's
 * break-glass path, the drill), where no Functions host runs. Messages are received with a
 * visibility timeout and deleted after success, as the host does; a failed message reappears.
 */
export async function runUntilDone(
  runtime: FailoverRuntime,
  runId: string,
  options: LocalWorkerOptions = {},
): Promise<FailoverRun> {
  await ensureQueues(runtime);
  const workerId = `local-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = Math.max(1, options.partitionConcurrency ?? PARTITIONS_PER_INSTANCE);
  const pollInterval = options.pollIntervalInMs ?? 200;
  const deadline = Date.now() + (options.timeoutInMs ?? 60 * 60_000);
  const inFlight = new Set<Promise<void>>();

  const report = async () => {
    const run = await runtime.store.get(runId);
    if (run) options.onProgress?.(run);
    return run;
  };

  for (;;) {
    options.abortSignal?.throwIfAborted();
    if (Date.now() > deadline)
      throw new Error(`Failover run ${runId} did not end within the local worker's time limit.`);
    let worked = false;

    const advanceMessages = await runtime.failoverQueue.receiveMessages({
      numberOfMessages: 1,
      visibilityTimeout: 300,
    });
    for (const m of advanceMessages.receivedMessageItems) {
      worked = true;
      const message = decodeMessage<AdvanceMessage>(m.messageText);
      try {
        await advance(runtime, message.runId, workerId);
        await runtime.failoverQueue.deleteMessage(m.messageId, m.popReceipt);
      } catch (error) {
        runtime.deps.logger.error('local_worker.advance_failed', {
          runId: message.runId,
          error: String(error),
        });
        if (m.dequeueCount >= MAX_DEQUEUE_COUNT) {
          await moveToPoison(runtime, runtime.failoverQueue, m.messageId, m.popReceipt, m.messageText).catch(
            () => {},
          );
        } else {
          // Deliver it again soon, as the host does after its retry delay, not after the receive's
          // visibility timeout.
          await runtime.failoverQueue
            .updateMessage(m.messageId, m.popReceipt, m.messageText, 1)
            .catch(() => {});
        }
      }
      await report().catch(() => {});
    }

    const free = concurrency - inFlight.size;
    if (free > 0) {
      const copyMessages = await runtime.copyQueue.receiveMessages({
        numberOfMessages: Math.min(32, free),
        visibilityTimeout: runtime.options.copyMessageVisibilityInSeconds,
      });
      for (const m of copyMessages.receivedMessageItems) {
        worked = true;
        const task = (async () => {
          // Keep the message invisible while the partition is being copied, as the Functions host
          // does; if this process dies, the renewals stop and the message reappears for another worker.
          const visibility = runtime.options.copyMessageVisibilityInSeconds;
          let receipt = m.popReceipt;
          let renewal = Promise.resolve();
          const renew = setInterval(
            () => {
              renewal = runtime.copyQueue
                .updateMessage(m.messageId, receipt, undefined, visibility)
                .then((r) => {
                  receipt = r.popReceipt ?? receipt;
                })
                .catch(() => {});
            },
            Math.max(500, (visibility * 1000) / 3),
          );
          try {
            await handleCopyPartition(runtime, decodePartitionMessage(m.messageText));
            clearInterval(renew);
            await renewal;
            await runtime.copyQueue.deleteMessage(m.messageId, receipt);
          } catch (error) {
            clearInterval(renew);
            await renewal;
            runtime.deps.logger.error('local_worker.copy_failed', { error: String(error) });
            if (m.dequeueCount >= MAX_DEQUEUE_COUNT) {
              await moveToPoison(runtime, runtime.copyQueue, m.messageId, receipt, m.messageText).catch(
                () => {},
              );
            } else {
              // Make it visible again soon, as the host would after its retry delay.
              await runtime.copyQueue.updateMessage(m.messageId, receipt, m.messageText, 1).catch(() => {});
            }
          }
          await report().catch(() => {});
        })();
        inFlight.add(task);
        void task.finally(() => inFlight.delete(task));
      }
    }

    const run = await runtime.store.get(runId);
    if (run && run.state !== 'Running' && inFlight.size === 0) {
      options.onProgress?.(run);
      return run;
    }
    if (!worked) {
      if (inFlight.size > 0) await Promise.race([...inFlight, delay(pollInterval)]);
      else await delay(pollInterval);
    }
  }
}

/** As the Functions host does with a message that failed too often: to `<queue>-poison`, as it was. */
async function moveToPoison(
  runtime: FailoverRuntime,
  queue: QueueClient,
  messageId: string,
  popReceipt: string,
  messageText: string,
): Promise<void> {
  const poison = runtime.deps.clients
    .queueService(runtime.deps.appStorageAccount)
    .getQueueClient(poisonQueueOf(queue.name));
  await poison.createIfNotExists();
  await poison.sendMessage(messageText);
  await queue.deleteMessage(messageId, popReceipt);
}
