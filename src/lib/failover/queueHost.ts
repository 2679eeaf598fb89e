/**
 * The Functions host's queue triggers, in this process: the one stand-in for them. It receives from
 * Storage queues and hands each message to its function's handler as the host's queue extension
 * does (Microsoft.Azure.WebJobs.Extensions.Storage.Queues, `Listeners/QueueListener.cs` and
 * `QueueProcessor.cs` in Azure/azure-sdk-for-net):
 * - a received message stays invisible for 10 minutes (`QueueListener`'s `_visibilityTimeout`), and
 *   its visibility is renewed halfway to expiry while the handler runs, so that the message of a
 *   process that dies reappears for another worker;
 * - it is deleted when the handler succeeds;
 * - when the handler throws, the message is made visible again after `visibilityTimeout` of
 *   host.json (`ReleaseMessageAsync`); on its `maxDequeueCount`th delivery it is copied, as it was,
 *   to `<queue>-poison` and deleted instead (`CompleteProcessingMessageAsync`);
 * - a message received more often than `maxDequeueCount` (the processes that had it died) goes to the
 *   poison queue without being handled (`BeginProcessingMessageAsync`);
 * - a queue's messages are handled at most `batchSize + newBatchThreshold` at once (host.json).
 * Not modelled: the host's randomized polling backoff (here a fixed `pollIntervalInMs`), the
 * function timeout, and scale-out (one process).
 *
 * It is production code, in src/ and not in local/: the CLI's break-glass path (`kyvos-dr failover`
 * or `resume` following a run in-process while the Function app is down) runs it against the real
 * queues, and src/ is compiled alone. The drill, the tests and the benchmark use it too.
 */
import { delay } from '@azure/core-util';
import { PARTITIONS_PER_INSTANCE } from '../copy/types.js';
import { type Logger, silentLogger } from '../log.js';
import { describeError } from '../redact.js';
import { FAILED_MESSAGE_DELAY_IN_SECONDS, MAX_DEQUEUE_COUNT } from './queues.js';

/** How long the host keeps a received message invisible while its handler runs (`QueueListener`). */
const HOST_VISIBILITY_TIMEOUT_IN_SECONDS = 600;

/** Get Messages returns at most 32 messages a call (Queue service REST API, `numofmessages`). */
const MAX_MESSAGES_PER_RECEIVE = 32;

/** A received message: what the host reads of it. */
export interface HostedMessage {
  messageId: string;
  popReceipt: string;
  /** The text as stored: base64 for the app's own messages, as the Functions host writes them. */
  messageText: string;
  dequeueCount: number;
}

/** The queue calls the host makes: those of `QueueClient`, which satisfies this. */
export interface HostedQueue {
  readonly name: string;
  receiveMessages(options: {
    numberOfMessages: number;
    visibilityTimeout: number;
    abortSignal?: AbortSignal;
  }): Promise<{ receivedMessageItems: HostedMessage[] }>;
  updateMessage(
    messageId: string,
    popReceipt: string,
    message: string,
    visibilityTimeout: number,
  ): Promise<{ popReceipt?: string }>;
  deleteMessage(messageId: string, popReceipt: string): Promise<unknown>;
}

/** Where failed messages go: `<queue>-poison` in the same account (`poisonQueueOf`). */
export interface PoisonQueue {
  readonly name: string;
  createIfNotExists(): Promise<unknown>;
  sendMessage(messageText: string): Promise<unknown>;
}

/** One queue-triggered function. */
export interface QueueTrigger {
  queue: HostedQueue;
  poisonQueue: PoisonQueue;
  /**
   * The function: gets the message text as stored. A throw fails this delivery. It must be
   * idempotent: a message may be delivered again after it succeeded (its process died before the
   * delete).
   */
  handler: (messageText: string) => Promise<unknown>;
  /** Messages of this queue handled at once. Default `PARTITIONS_PER_INSTANCE`, as on an instance. */
  concurrency?: number;
  /** How long a received message stays invisible, renewed at half time. Default the host's 600 s. */
  visibilityTimeoutInSeconds?: number;
}

export interface QueueHostOptions {
  /**
   * When to return. Asked whenever no handler is running and the last receive got nothing, with
   * how long that has been so (`idleForInMs`: since a message was last received or handled).
   */
  stopWhen: (state: { idleForInMs: number }) => boolean | Promise<boolean>;
  /** After a failed delivery the message reappears after this long. Default host.json's 30 s. */
  retryDelayInSeconds?: number;
  /** Deliveries of a message before it goes to the poison queue. Default host.json's 5. */
  maxDequeueCount?: number;
  /** Wait between receives while no queue has a message or every handler slot is busy. Default 200 ms. */
  pollIntervalInMs?: number;
  logger?: Logger;
  /**
   * Stops receiving and renewing, and rejects with the signal's reason at once. Handlers still
   * running finish unobserved; their messages reappear after their visibility timeout, as when the
   * process dies.
   */
  abortSignal?: AbortSignal;
}

/** What the host did, counted over every queue. */
export interface QueueHostResult {
  /** Deliveries whose handler succeeded (the message was deleted). */
  handled: number;
  /** Deliveries whose handler threw. */
  failed: number;
  /** Messages moved to a poison queue. */
  poisoned: number;
}

/**
 * Runs the triggers until `stopWhen` says so (or `abortSignal` aborts). A failed receive rejects:
 * the caller decides whether to run the host again.
 */
export async function runQueueHost(
  triggers: QueueTrigger[],
  options: QueueHostOptions,
): Promise<QueueHostResult> {
  const signal = options.abortSignal;
  const host = new Host(options);
  const slots = triggers.map((trigger) => ({ trigger, running: 0 }));
  const inFlight = new Set<Promise<void>>();
  let idleSince = Date.now();
  try {
    for (;;) {
      signal?.throwIfAborted();
      let received = 0;
      for (const slot of slots) {
        const free = concurrencyOf(slot.trigger) - slot.running;
        if (free <= 0) continue;
        const { receivedMessageItems } = await slot.trigger.queue.receiveMessages({
          numberOfMessages: Math.min(MAX_MESSAGES_PER_RECEIVE, free),
          visibilityTimeout: visibilityOf(slot.trigger),
          ...(signal ? { abortSignal: signal } : {}),
        });
        for (const message of receivedMessageItems) {
          received += 1;
          slot.running += 1;
          const task: Promise<void> = host.deliver(slot.trigger, message).finally(() => {
            slot.running -= 1;
            inFlight.delete(task);
          });
          inFlight.add(task);
        }
      }
      if (received > 0 || inFlight.size > 0) idleSince = Date.now();
      else if (await options.stopWhen({ idleForInMs: Date.now() - idleSince })) return host.result;
      // More may be waiting where slots are free: receive again at once.
      if (received > 0 && slots.some((s) => s.running < concurrencyOf(s.trigger))) continue;
      await Promise.race([
        delay(options.pollIntervalInMs ?? 200, signal ? { abortSignal: signal } : {}),
        ...inFlight,
      ]);
    }
  } catch (error) {
    if (signal?.aborted) {
      host.stopRenewing();
      throw signal.reason;
    }
    throw error;
  }
}

function concurrencyOf(trigger: QueueTrigger): number {
  return Math.max(1, trigger.concurrency ?? PARTITIONS_PER_INSTANCE);
}

function visibilityOf(trigger: QueueTrigger): number {
  return Math.max(1, trigger.visibilityTimeoutInSeconds ?? HOST_VISIBILITY_TIMEOUT_IN_SECONDS);
}

/** One delivery at a time, as `QueueListener.ProcessMessageAsync` and `QueueProcessor` do it. */
class Host {
  readonly result: QueueHostResult = { handled: 0, failed: 0, poisoned: 0 };
  private readonly logger: Logger;
  private readonly maxDequeueCount: number;
  private readonly retryDelayInSeconds: number;
  private readonly renewals = new Set<() => void>();

  constructor(options: QueueHostOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxDequeueCount = options.maxDequeueCount ?? MAX_DEQUEUE_COUNT;
    this.retryDelayInSeconds = Math.max(0, options.retryDelayInSeconds ?? FAILED_MESSAGE_DELAY_IN_SECONDS);
  }

  /** Never rejects: every outcome is logged and counted. */
  async deliver(trigger: QueueTrigger, message: HostedMessage): Promise<void> {
    const { queue } = trigger;
    try {
      if (message.dequeueCount > this.maxDequeueCount) {
        await this.poison(trigger, message, message.popReceipt, 'delivered more often than it was handled');
        return;
      }
      const renewal = this.renew(trigger, message);
      let failure: unknown;
      let failed = false;
      try {
        await trigger.handler(message.messageText);
      } catch (error) {
        failed = true;
        failure = error;
      }
      const popReceipt = await renewal.stop();
      if (!failed) {
        await queue.deleteMessage(message.messageId, popReceipt);
        this.result.handled += 1;
        return;
      }
      this.result.failed += 1;
      this.logger.warn('queue_host.handler_failed', {
        queue: queue.name,
        messageId: message.messageId,
        dequeueCount: message.dequeueCount,
        reason: describeError(failure),
      });
      if (message.dequeueCount >= this.maxDequeueCount) {
        await this.poison(
          trigger,
          message,
          popReceipt,
          `failed on each of ${message.dequeueCount} deliveries`,
        );
      } else {
        await queue.updateMessage(
          message.messageId,
          popReceipt,
          message.messageText,
          this.retryDelayInSeconds,
        );
      }
    } catch (error) {
      // A receipt another worker has replaced, a message or queue gone: the host lets it go too.
      this.logger.warn('queue_host.settle_failed', {
        queue: queue.name,
        messageId: message.messageId,
        reason: describeError(error),
      });
    }
  }

  /** Stops renewing every message: they reappear after their visibility timeout. */
  stopRenewing(): void {
    for (const stop of this.renewals) stop();
  }

  /** Copies the message as it was to the poison queue, then deletes it. */
  private async poison(
    trigger: QueueTrigger,
    message: HostedMessage,
    popReceipt: string,
    reason: string,
  ): Promise<void> {
    await trigger.poisonQueue.createIfNotExists();
    await trigger.poisonQueue.sendMessage(message.messageText);
    await trigger.queue.deleteMessage(message.messageId, popReceipt);
    this.result.poisoned += 1;
    this.logger.error('queue_host.poisoned', {
      queue: trigger.queue.name,
      poisonQueue: trigger.poisonQueue.name,
      messageId: message.messageId,
      dequeueCount: message.dequeueCount,
      reason,
    });
  }

  /**
   * Keeps the message invisible while its handler runs: renews halfway to expiry. `stop` waits for
   * a renewal under way and returns the latest pop receipt (each renewal replaces it).
   */
  private renew(trigger: QueueTrigger, message: HostedMessage): { stop: () => Promise<string> } {
    const visibility = visibilityOf(trigger);
    let popReceipt = message.popReceipt;
    let chain: Promise<void> = Promise.resolve();
    const timer = setInterval(
      () => {
        chain = chain.then(async () => {
          try {
            const renewed = await trigger.queue.updateMessage(
              message.messageId,
              popReceipt,
              message.messageText,
              visibility,
            );
            if (renewed.popReceipt) popReceipt = renewed.popReceipt;
          } catch (error) {
            this.logger.warn('queue_host.renew_failed', {
              queue: trigger.queue.name,
              messageId: message.messageId,
              reason: describeError(error),
            });
          }
        });
      },
      (visibility * 1000) / 2,
    );
    const clear = () => {
      clearInterval(timer);
      this.renewals.delete(clear);
    };
    this.renewals.add(clear);
    return {
      stop: async () => {
        clear();
        await chain;
        return popReceipt;
      },
    };
  }
}
