import { delay } from '@azure/core-util';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { type Logger, silentLogger } from '../log.js';
import { decodePartitionMessage } from './partitionMessage.js';
import { describeStorageError } from './storageErrors.js';
import { type CopyPartition, PARTITIONS_PER_INSTANCE } from './types.js';

export interface DrainQueueOptions {
  /**
   * Partitions handled at once. Default `PARTITIONS_PER_INSTANCE` (each copies with its own
   * concurrency).
   */
  concurrency?: number;
  /** Return once the queue has been empty, with nothing in flight, for this long. Default 5,000 ms. */
  idleTimeoutInMs?: number;
  /** Wait between receives while the queue is empty or all slots are busy. Default 250 ms. */
  pollIntervalInMs?: number;
  /** How long a received message stays invisible; renewed at half time while its handler runs. Default 120 s. */
  visibilityTimeoutInSeconds?: number;
  /** After a failed handler the message reappears after this long. Default 1 s. */
  retryDelayInSeconds?: number;
  /** A message received more often than this is poison, as for the Functions host. Default 5. */
  maxDequeueCount?: number;
  /**
   * Where poison messages (received too often, or not a partition) go, as the Functions host moves
   * them to `<queue>-poison`. Without one, a poison message is deleted after being logged in full
   * (`copy.queue.poison`, at error level); its partition's checkpoint still shows it unfinished.
   */
  poisonQueue?: QueueClient;
  logger?: Logger;
  abortSignal?: AbortSignal;
}

export interface DrainQueueResult {
  /** Messages whose handler succeeded (and which were deleted). */
  handled: number;
  /** Handler failures (the message was left to reappear). */
  failed: number;
  /** Messages moved to the poison queue. */
  poisoned: number;
}

/**
 * Consumes copy partitions from a Storage queue in this process, with the same handler the
 * queue-triggered function uses: on the local stack, in the CLI and in the drill. A message is
 * deleted when its handler succeeds; when the handler throws the message is made visible again
 * after `retryDelayInSeconds`, and after `maxDequeueCount` receipts it is poison (`poisonQueue`).
 * The handler must be idempotent (copying a partition is). Returns when the queue stays empty for
 * `idleTimeoutInMs`.
 */
export async function drainQueue(
  queue: QueueClient,
  handler: (partition: CopyPartition) => Promise<unknown>,
  options: DrainQueueOptions = {},
): Promise<DrainQueueResult> {
  const concurrency = Math.max(1, options.concurrency ?? PARTITIONS_PER_INSTANCE);
  const idleTimeoutInMs = options.idleTimeoutInMs ?? 5_000;
  const pollIntervalInMs = options.pollIntervalInMs ?? 250;
  const visibilityTimeout = Math.max(2, options.visibilityTimeoutInSeconds ?? 120);
  const retryDelay = Math.max(0, options.retryDelayInSeconds ?? 1);
  const maxDequeueCount = options.maxDequeueCount ?? 5;
  const logger = options.logger ?? silentLogger;
  const signal = options.abortSignal;
  const result: DrainQueueResult = { handled: 0, failed: 0, poisoned: 0 };
  const inFlight = new Set<Promise<void>>();

  const poison = async (message: DequeuedMessageItem, reason: string) => {
    if (options.poisonQueue) {
      await options.poisonQueue.createIfNotExists();
      await options.poisonQueue.sendMessage(message.messageText);
    }
    await queue.deleteMessage(message.messageId, message.popReceipt);
    result.poisoned += 1;
    logger.error('copy.queue.poison', {
      queue: queue.name,
      messageId: message.messageId,
      message: message.messageText,
      movedTo: options.poisonQueue?.name ?? null,
      reason,
    });
  };

  const handle = async (message: DequeuedMessageItem) => {
    let partition: CopyPartition;
    try {
      partition = decodePartitionMessage(message.messageText);
    } catch (error) {
      await poison(message, describeStorageError(error));
      return;
    }
    if (message.dequeueCount > maxDequeueCount) {
      await poison(message, `received ${message.dequeueCount} times`);
      return;
    }
    let popReceipt = message.popReceipt;
    let renewal: Promise<void> = Promise.resolve();
    const timer = setInterval(
      () => {
        renewal = renewal.then(async () => {
          try {
            const renewed = await queue.updateMessage(
              message.messageId,
              popReceipt,
              message.messageText,
              visibilityTimeout,
            );
            if (renewed.popReceipt) popReceipt = renewed.popReceipt;
          } catch (error) {
            logger.warn('copy.queue.renew', {
              messageId: message.messageId,
              reason: describeStorageError(error),
            });
          }
        });
      },
      (visibilityTimeout * 1000) / 2,
    );
    try {
      await handler(partition);
      clearInterval(timer);
      await renewal;
      await queue.deleteMessage(message.messageId, popReceipt);
      result.handled += 1;
    } catch (error) {
      clearInterval(timer);
      await renewal;
      result.failed += 1;
      logger.warn('copy.queue.failed', {
        runId: partition.runId,
        partition: partition.index,
        dequeueCount: message.dequeueCount,
        reason: describeStorageError(error),
      });
      await queue
        .updateMessage(message.messageId, popReceipt, message.messageText, retryDelay)
        .catch(() => {});
    }
  };

  let idleSince = Date.now();
  while (!signal?.aborted) {
    const free = concurrency - inFlight.size;
    let received = 0;
    if (free > 0) {
      let response: Awaited<ReturnType<QueueClient['receiveMessages']>>;
      try {
        response = await queue.receiveMessages({
          numberOfMessages: Math.min(32, free),
          visibilityTimeout,
          ...(signal ? { abortSignal: signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted) break;
        throw error;
      }
      for (const message of response.receivedMessageItems) {
        const task: Promise<void> = handle(message)
          .catch((error) => {
            logger.error('copy.queue.error', {
              messageId: message.messageId,
              reason: describeStorageError(error),
            });
          })
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      }
      received = response.receivedMessageItems.length;
    }
    if (received > 0 || inFlight.size > 0) idleSince = Date.now();
    else if (Date.now() - idleSince >= idleTimeoutInMs) break;
    if (received > 0 && inFlight.size < concurrency) continue;
    await Promise.race([
      // Aborted: the loop ends below and throws the reason.
      delay(pollIntervalInMs, signal ? { abortSignal: signal } : {}).catch(() => {}),
      ...inFlight,
    ]);
  }
  await Promise.allSettled([...inFlight]);
  if (signal?.aborted) throw signal.reason;
  return result;
}
