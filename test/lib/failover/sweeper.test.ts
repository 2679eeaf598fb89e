import { delay } from '@azure/core-util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import { failoverStatus } from '../../../src/functions/failoverStatus.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import type { FailoverDeps } from '../../../src/lib/failover/FailoverService.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import {
  type AdvanceMessage,
  decodeMessage,
  FAILOVER_QUEUE,
  poisonQueueOf,
} from '../../../src/lib/failover/queues.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { DEFAULT_SWEEPER_OPTIONS, sweepFailoverRuns } from '../../../src/lib/failover/sweeper.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  expectCompleteFailover,
  failoverDepsFor,
  httpRequest,
  invocation,
  postFailover,
} from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

/** The run as `GET /api/failover/{runId}` answers it. */
async function statusOf(deps: FailoverDeps, runId: string) {
  const response = await failoverStatus(
    httpRequest('GET', `${BASE}/failover/${runId}`, undefined, { runId }),
    invocation('failoverStatus'),
    deps,
  );
  expect(response.status).toBe(200);
  return response.jsonBody as {
    state: FailoverRun['state'];
    waitingFor: string | null;
    errors: string[];
    steps: Array<{ name: string; status: string }>;
  };
}

describe('a run whose advance messages all fail while Key Vault is unreachable', () => {
  let stack: LocalStack;
  let blobs: number;
  const log = capturingLogger();

  beforeAll(async () => {
    stack = await startLocalStack();
    const dataset = await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      { prefix: stack.names.engineWorkDirectory, files: 40 },
    );
    blobs = dataset.blobs;
  });
  afterAll(async () => {
    stack.setKeyVaultUnavailable(false);
    await stack?.stop();
  });

  /** How many of the run's advance messages the worker has moved to the poison queue. */
  async function poisoned(runId: string): Promise<number> {
    const poison = stack.clients
      .queueService(stack.names.appStorageAccount)
      .getQueueClient(poisonQueueOf(FAILOVER_QUEUE));
    if (!(await poison.exists())) return 0;
    const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
    return peekedMessageItems.filter((m) => decodeMessage<AdvanceMessage>(m.messageText).runId === runId)
      .length;
  }

  async function untilPoisoned(runId: string, count: number): Promise<void> {
    while ((await poisoned(runId)) < count) await delay(200);
  }

  /** Starts a run with Key Vault down and works it in this process, as the queue-triggered functions would. */
  async function startWhileKeyVaultIsDown(deps: FailoverDeps) {
    stack.setKeyVaultUnavailable(true);
    const runId = await postFailover(deps, { mode: 'planned', reason: 'Key Vault outage at the start' });
    // The operator confirms the quiesce once the run gets there (after Key Vault is back).
    void confirmWhenWaiting(deps, runId);
    const controller = new AbortController();
    const working = runUntilDone(failoverRuntime(deps), runId, {
      abortSignal: controller.signal,
      pollIntervalInMs: 50,
      // Every advance fails until the vault is back: 1 s between deliveries, not host.json's 30 s.
      retryDelayInSeconds: 1,
      timeoutInMs: 600_000,
    });
    working.catch(() => {});
    await untilPoisoned(runId, 1);
    return { runId, working, stop: () => controller.abort(new Error('test done')) };
  }

  it('is re-advanced by the sweeper once Key Vault is back, and goes on to Succeeded', async () => {
    const deps = failoverDepsFor(stack, log.logger);
    const { runId, working, stop } = await startWhileKeyVaultIsDown(deps);
    try {
      // Every delivery failed and the message is in the poison queue: the run is stuck, and says why.
      const stuck = await statusOf(deps, runId);
      expect(stuck.state).toBe('Running');
      expect(stuck.steps.every((s) => s.status === 'Pending')).toBe(true);
      expect(stuck.waitingFor).toMatch(
        /^every advance fails before a step can run: the configuration could not be loaded: .+/,
      );
      expect(stuck.waitingFor).not.toMatch(/sig=(?!REDACTED)/);
      const refused = await failoverStart(
        httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'another' }),
        invocation('failoverStart'),
        deps,
      );
      expect(refused.status).toBe(409);

      stack.setKeyVaultUnavailable(false);
      const outcome = await sweepFailoverRuns(failoverRuntime(deps), {
        ...DEFAULT_SWEEPER_OPTIONS,
        readvanceAfterInMs: 1_000,
      });
      expect(outcome).toMatchObject({ action: 'readvanced', runId });

      const run = await working;
      await expectCompleteFailover(stack, run, blobs);
      expect(run.watch?.readvances).toBe(1);
      expect(log.lines.some((l) => l.includes('"event":"failover.sweeper.readvanced"'))).toBe(true);
    } finally {
      stop();
    }
  });

  it('is ended Failed by the sweeper while Key Vault stays down, visible with the reason and unlocked; a new start is accepted', async () => {
    const deps = failoverDepsFor(stack, log.logger);
    const { runId, working, stop } = await startWhileKeyVaultIsDown(deps);
    try {
      const runtime = failoverRuntime(deps);
      // Past the first bound: re-advanced, and those deliveries fail too.
      expect(
        await sweepFailoverRuns(runtime, { ...DEFAULT_SWEEPER_OPTIONS, readvanceAfterInMs: 1_000 }),
      ).toMatchObject({ action: 'readvanced', runId });
      await untilPoisoned(runId, 2);
      expect((await statusOf(deps, runId)).waitingFor).toMatch(/; the sweeper re-advanced it at /);

      // Past the second bound: ended, with the reason, and the lock is free.
      const ended = await sweepFailoverRuns(runtime, {
        ...DEFAULT_SWEEPER_OPTIONS,
        readvanceAfterInMs: 1_000,
        failAfterInMs: 2_000,
      });
      expect(ended).toMatchObject({ action: 'failed', runId });
      const status = await statusOf(deps, runId);
      expect(status.state).toBe('Failed');
      expect(status.waitingFor).toBeNull();
      expect(status.errors).toHaveLength(1);
      expect(status.errors[0]).toMatch(
        /^The run made no progress for [\d.]+ (s|min|h) \(since .+\), so the sweeper ended it after re-advancing it 1 time\(s\)\./,
      );
      expect(status.errors[0]).toContain('the configuration could not be loaded: ');
      expect(status.errors[0]).not.toMatch(/sig=(?!REDACTED)/);
      expect(await runtime.store.lockHolder()).toBeUndefined();
      expect((await working).state).toBe('Failed');

      const next = await postFailover(deps, {
        mode: 'planned',
        reason: 'after the sweeper ended the stuck run',
      });
      expect(next).not.toBe(runId);
      expect(await runtime.store.lockHolder()).toBe(next);
    } finally {
      stop();
    }
  });
});
