import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type QueueHostOptions,
  type QueueTrigger,
  runQueueHost,
} from '../../../src/lib/failover/queueHost.js';
import { FAILED_MESSAGE_DELAY_IN_SECONDS, MAX_DEQUEUE_COUNT } from '../../../src/lib/failover/queues.js';
import { InMemoryQueue } from '../../helpers/inMemoryQueue.js';

/** Moves the fake clock on in small steps until `work` settles (at most `limitInMs`). */
async function runToEnd<T>(work: Promise<T>, limitInMs = 60 * 60_000): Promise<T> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let elapsed = 0; !settled && elapsed < limitInMs; elapsed += 100) {
    await vi.advanceTimersByTimeAsync(100);
  }
  return work;
}

/** Waits `ms` on the fake clock. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function trigger(queue: InMemoryQueue, handler: QueueTrigger['handler'], extra: Partial<QueueTrigger> = {}) {
  return { queue, poisonQueue: new InMemoryQueue(`${queue.name}-poison`), handler, ...extra };
}

/** Stops once every queue has been empty, with no handler running, for a second. */
const untilIdle: QueueHostOptions['stopWhen'] = ({ idleForInMs }) => idleForInMs >= 1_000;

describe('the in-process queue host', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('deletes a message once its handler succeeds, and returns once the queues stay idle', async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('a');
    await queue.sendMessage('b');
    const seen: string[] = [];

    const result = await runToEnd(
      runQueueHost([trigger(queue, async (text) => seen.push(text))], { stopWhen: untilIdle }),
    );

    expect(result).toEqual({ handled: 2, failed: 0, poisoned: 0 });
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(queue.messages).toEqual([]);
  });

  it("makes a failed message visible again after host.json's visibilityTimeout, not before", async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('flaky');
    const deliveries: number[] = [];

    const result = await runToEnd(
      runQueueHost(
        [
          trigger(queue, async () => {
            deliveries.push(Date.now());
            if (deliveries.length === 1) throw new Error('transient');
          }),
        ],
        { stopWhen: ({ idleForInMs }) => idleForInMs >= 60_000 },
      ),
    );

    expect(result).toEqual({ handled: 1, failed: 1, poisoned: 0 });
    const [first = 0, second = 0] = deliveries;
    expect(second - first).toBeGreaterThanOrEqual(FAILED_MESSAGE_DELAY_IN_SECONDS * 1000);
    // The next poll after that, not the receive's visibility timeout (10 minutes).
    expect(second - first).toBeLessThan(FAILED_MESSAGE_DELAY_IN_SECONDS * 1000 + 1_000);
  });

  it('moves a message that failed on each of maxDequeueCount deliveries, as it was, to <queue>-poison', async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('bad');
    const work = trigger(queue, async () => {
      throw new Error('never works');
    });
    let calls = 0;
    const handler = work.handler;
    work.handler = (text) => {
      calls += 1;
      return handler(text);
    };

    const result = await runToEnd(runQueueHost([work], { stopWhen: untilIdle, retryDelayInSeconds: 0 }));

    expect(calls).toBe(MAX_DEQUEUE_COUNT);
    expect(result).toEqual({ handled: 0, failed: MAX_DEQUEUE_COUNT, poisoned: 1 });
    // Released after each failure but the last, which moved it at once.
    expect(queue.updates.filter((u) => u.visibilityTimeout === 0)).toHaveLength(MAX_DEQUEUE_COUNT - 1);
    expect(queue.messages).toEqual([]);
    expect(work.poisonQueue.name).toBe('work-poison');
    expect((work.poisonQueue as InMemoryQueue).messages.map((m) => m.messageText)).toEqual(['bad']);
  });

  it('moves a message delivered more often than maxDequeueCount (its processes died) to the poison queue unhandled', async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('crashes its worker', { dequeueCount: MAX_DEQUEUE_COUNT });
    let calls = 0;
    const work = trigger(queue, async () => {
      calls += 1;
    });

    const result = await runToEnd(runQueueHost([work], { stopWhen: untilIdle }));

    expect(calls).toBe(0);
    expect(result).toEqual({ handled: 0, failed: 0, poisoned: 1 });
    expect((work.poisonQueue as InMemoryQueue).messages.map((m) => m.messageText)).toEqual([
      'crashes its worker',
    ]);
  });

  it('keeps a message invisible while its handler outlasts the visibility timeout, and deletes it with the renewed receipt', async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('long');
    const seenByAnotherWorker: string[] = [];
    const handler = async () => {
      for (let i = 0; i < 7; i++) {
        await sleep(5_000);
        const { receivedMessageItems } = await queue.receiveMessages({
          numberOfMessages: 1,
          visibilityTimeout: 1,
        });
        seenByAnotherWorker.push(...receivedMessageItems.map((m) => m.messageText));
      }
    };

    const result = await runToEnd(
      runQueueHost([trigger(queue, handler, { visibilityTimeoutInSeconds: 10 })], { stopWhen: untilIdle }),
    );

    expect(seenByAnotherWorker).toEqual([]);
    expect(result).toEqual({ handled: 1, failed: 0, poisoned: 0 });
    expect(queue.messages).toEqual([]);
    // Renewed every 5 s (half the visibility timeout) for 35 s.
    expect(queue.updates.filter((u) => u.visibilityTimeout === 10).length).toBeGreaterThanOrEqual(6);
  });

  it('handles at most `concurrency` messages of a queue at once, each queue on its own', async () => {
    const busy = new InMemoryQueue('busy');
    const other = new InMemoryQueue('other');
    for (let i = 0; i < 6; i++) await busy.sendMessage(`busy-${i}`);
    for (let i = 0; i < 3; i++) await other.sendMessage(`other-${i}`);
    const running = { busy: 0, other: 0 };
    const most = { busy: 0, other: 0 };
    const handlerFor = (name: 'busy' | 'other') => async () => {
      running[name] += 1;
      most[name] = Math.max(most[name], running[name]);
      await sleep(1_000);
      running[name] -= 1;
    };

    const result = await runToEnd(
      runQueueHost(
        [
          trigger(busy, handlerFor('busy'), { concurrency: 2 }),
          trigger(other, handlerFor('other'), { concurrency: 3 }),
        ],
        { stopWhen: untilIdle },
      ),
    );

    expect(result.handled).toBe(9);
    expect(most).toEqual({ busy: 2, other: 3 });
  });

  it('asks stopWhen only while no handler runs', async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('slow');
    let running = false;
    const askedWhileRunning: boolean[] = [];

    await runToEnd(
      runQueueHost(
        [
          trigger(queue, async () => {
            running = true;
            await sleep(5_000);
            running = false;
          }),
        ],
        {
          stopWhen: () => {
            askedWhileRunning.push(running);
            return true;
          },
        },
      ),
    );

    expect(askedWhileRunning).toEqual([false]);
    expect(queue.messages).toEqual([]);
  });

  it('on abort, rejects with the reason at once and stops renewing: the message reappears after its visibility timeout', async () => {
    const queue = new InMemoryQueue('work');
    await queue.sendMessage('stuck');
    const controller = new AbortController();
    const host = runQueueHost(
      [trigger(queue, () => sleep(60 * 60_000), { visibilityTimeoutInSeconds: 10 })],
      {
        stopWhen: untilIdle,
        abortSignal: controller.signal,
      },
    );
    host.catch(() => {});
    await vi.advanceTimersByTimeAsync(1_000);

    controller.abort(new Error('operator stopped'));
    await expect(host).rejects.toThrow('operator stopped');
    expect(
      (await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 10 })).receivedMessageItems,
    ).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);

    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 1,
      visibilityTimeout: 10,
    });
    expect(receivedMessageItems).toMatchObject([{ messageText: 'stuck', dequeueCount: 2 }]);
  });
});
