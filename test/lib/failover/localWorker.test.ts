import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeps } from '../../../src/lib/deps.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { createFailoverRuntime, ensureQueues } from '../../../src/lib/failover/FailoverService.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { COPY_QUEUE, MAX_DEQUEUE_COUNT, poisonQueueOf } from '../../../src/lib/failover/queues.js';
import { capturingLogger } from '../../helpers/failoverHarness.js';
import { type StorageFixture, startStorageFixture } from '../../helpers/storageFixture.js';

describe('the local queue workers', () => {
  let storage: StorageFixture;

  beforeAll(async () => {
    storage = await startStorageFixture();
  });
  afterAll(async () => {
    await storage?.stop();
  });

  it('move a copy message that failed on every delivery to the poison queue, as the Functions host does', async () => {
    const log = capturingLogger();
    const deps = createDeps(
      {},
      { clients: storage.clients, logger: log.logger, appStorageAccount: storage.names.appStorageAccount },
    );
    const runtime = createFailoverRuntime({ ...deps, options: { copyMessageVisibilityInSeconds: 30 } });
    await ensureQueues(runtime);
    // A run that stays Running: nothing advances it, so the workers only see the copy queue.
    const run = newRun(
      'fo-20261124T090000Z-0a0b0c',
      { mode: 'planned', reason: 'worker test', dryRun: false, requestedBy: 'test' },
      new Date(),
    );
    await runtime.store.create(run);
    await runtime.copyQueue.sendMessage('not a copy partition');
    const poison = storage.clients
      .queueService(storage.names.appStorageAccount)
      .getQueueClient(poisonQueueOf(COPY_QUEUE));

    const controller = new AbortController();
    const working = runUntilDone(runtime, run.runId, {
      abortSignal: controller.signal,
      pollIntervalInMs: 50,
      // The Functions host waits host.json's visibilityTimeout (30 s) between deliveries.
      retryDelayInSeconds: 1,
    });
    working.catch(() => {});
    let moved: string[] = [];
    for (let i = 0; i < 200 && moved.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (await poison.exists()) {
        moved = (await poison.peekMessages()).peekedMessageItems.map((m) => m.messageText);
      }
    }
    controller.abort(new Error('test done'));
    await expect(working).rejects.toThrow('test done');

    expect(moved).toEqual(['not a copy partition']);
    expect((await runtime.copyQueue.peekMessages()).peekedMessageItems).toEqual([]);
    // One failure logged per delivery, no more.
    const failures = log.lines.filter((line) => line.includes('queue_host.handler_failed'));
    expect(failures).toHaveLength(MAX_DEQUEUE_COUNT);
  });
});
