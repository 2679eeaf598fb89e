import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverRetry } from '../../../src/functions/failoverRetry.js';
import { decodePartitionMessage } from '../../../src/lib/copy/partitionMessage.js';
import { type FailoverRun, newRun, reopenForRetry } from '../../../src/lib/failover/FailoverRun.js';
import { advance } from '../../../src/lib/failover/FailoverService.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { COPY_QUEUE, poisonQueueOf } from '../../../src/lib/failover/queues.js';
import { awaitsOperator } from '../../../src/lib/failover/runbook.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import {
  capturingLogger,
  confirmKyvosStopped,
  confirmWhenWaiting,
  drBlobCount,
  expectCompleteFailover,
  failoverDepsFor,
  httpRequest,
  invocation,
  postFailover,
} from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

/** Seeds `files` files in the engine work directory, 100 to a directory. */
function seedWorkDirectory(stack: LocalStack, files: number) {
  return seedKyvosDataset(
    stack.clients.blobService(stack.names.primaryStorageAccount),
    stack.names.container,
    {
      prefix: stack.names.engineWorkDirectory,
      files,
      filesPerDirectory: 100,
    },
  );
}

function retryRequest(runId: string, body: unknown) {
  return httpRequest('POST', `${BASE}/failover/${runId}/retry?code=k`, body, { runId });
}

describe('reopenForRetry', () => {
  it('sets the failed and skipped steps pending, keeps what succeeded and moves the errors into the retry', () => {
    const run = newRun(
      'fo-20261124T080000Z-abcdef',
      { mode: 'forced', reason: 'outage', dryRun: false, requestedBy: 'op' },
      new Date('2026-11-24T08:00:00Z'),
    );
    run.state = 'Failed';
    run.endedAt = '2026-11-24T08:10:00Z';
    run.errors = ['storage.copy: The copy did not finish within 1 min'];
    run.report = { state: 'Failed' };
    run.progress.listingComplete = true;
    run.progress.partitionsListed = 4;
    run.progress.totalsFromCheckpoints = true;
    for (const name of [
      'preflight',
      'storage.ensureAccount',
      'database.promote',
      'database.fence',
    ] as const) {
      run.steps[name] = { status: 'Succeeded', attempts: 1, startedAt: '2026-11-24T08:00:01Z' };
    }
    run.steps['storage.copy'] = {
      status: 'Failed',
      attempts: 1,
      startedAt: '2026-11-24T08:00:02Z',
      endedAt: '2026-11-24T08:10:00Z',
      error: 'The copy did not finish within 1 min',
      detail: { phase: 'copying', nextPartition: { index: 3, marker: 'm3' } },
    };
    for (const name of ['record', 'verify', 'report'] as const) run.steps[name].status = 'Skipped';

    reopenForRetry(run, { reason: 'workers fixed', requestedBy: 'op2' }, new Date('2026-11-24T09:00:00Z'));

    expect(run.state).toBe('Running');
    expect(run.endedAt).toBeUndefined();
    expect(run.report).toBeUndefined();
    expect(run.errors).toEqual([]);
    expect(run.progress.totalsFromCheckpoints).toBe(false);
    expect(run.retries).toEqual([
      {
        requestedAt: '2026-11-24T09:00:00.000Z',
        requestedBy: 'op2',
        reason: 'workers fixed',
        failedAt: '2026-11-24T08:10:00Z',
        failedSteps: ['storage.copy'],
        errors: ['storage.copy: The copy did not finish within 1 min'],
      },
    ]);
    expect(run.steps['database.promote']).toEqual({
      status: 'Succeeded',
      attempts: 1,
      startedAt: '2026-11-24T08:00:01Z',
    });
    const copy = run.steps['storage.copy'];
    expect(copy.status).toBe('Pending');
    expect(copy.error).toBeUndefined();
    expect(copy.startedAt).toBeUndefined();
    // The plan is kept (where listing continues), and every unfinished partition is to be sent again.
    expect(copy.detail).toEqual({
      phase: 'copying',
      nextPartition: { index: 3, marker: 'm3' },
      requeueUnfinished: true,
    });
    for (const name of ['record', 'verify', 'report'] as const)
      expect(run.steps[name].status).toBe('Pending');
  });

  it('asks to send partitions again only when the copy had listed some', () => {
    const run: FailoverRun = newRun(
      'fo-20261124T080000Z-abcdef',
      { mode: 'forced', reason: 'outage', dryRun: false, requestedBy: 'op' },
      new Date(),
    );
    run.state = 'Failed';
    run.steps['storage.copy'] = { status: 'Failed', attempts: 1, detail: { phase: 'listing' } };
    reopenForRetry(run, { reason: 'secondary back', requestedBy: 'op' }, new Date());
    expect(run.steps['storage.copy'].detail).toEqual({ phase: 'listing' });

    // Cut off after two pages: those two are sent again, then the listing goes on.
    run.state = 'Failed';
    run.progress.partitionsListed = 2;
    run.steps['storage.copy'] = {
      status: 'Failed',
      attempts: 1,
      detail: { nextPartition: { index: 2, marker: 'm2' } },
    };
    reopenForRetry(run, { reason: 'secondary back', requestedBy: 'op' }, new Date());
    expect(run.steps['storage.copy'].detail).toEqual({
      nextPartition: { index: 2, marker: 'm2' },
      requeueUnfinished: true,
    });
    expect(run.retries).toHaveLength(2);
  });
});

describe('copy queue messages', () => {
  it('carry the retry number they were sent at, and reject one that is not a whole number', () => {
    const base = { runId: 'fo-20261124T080000Z-abcdef', index: 2, pageSize: 100, manifest: true };
    expect(decodePartitionMessage(JSON.stringify({ ...base, retry: 2 })).retry).toBe(2);
    expect(decodePartitionMessage(JSON.stringify(base)).retry).toBeUndefined();
    expect(() => decodePartitionMessage(JSON.stringify({ ...base, retry: -1 }))).toThrow(/retry number/);
    expect(() => decodePartitionMessage(JSON.stringify({ ...base, retry: '1' }))).toThrow(/retry number/);
  });
});

describe('retrying a failed failover run', () => {
  let stack: LocalStack;
  let blobs: number;

  beforeAll(async () => {
    stack = await startLocalStack();
    blobs = (await seedWorkDirectory(stack, 1500)).blobs;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a bad run id, a missing reason and an unknown run with 400, 400 and 404', async () => {
    const deps = failoverDepsFor(stack, capturingLogger().logger);
    const badId = await failoverRetry(
      retryRequest('latest', { reason: 'x' }),
      invocation('failoverRetry'),
      deps,
    );
    expect(badId.status).toBe(400);
    expect(badId.jsonBody).toMatchObject({ error: { field: 'runId' } });
    const noReason = await failoverRetry(
      retryRequest('fo-20200101T000000Z-000000', {}),
      invocation('failoverRetry'),
      deps,
    );
    expect(noReason.status).toBe(400);
    expect(noReason.jsonBody).toMatchObject({ error: { code: 'BadRequest', field: 'reason' } });
    const unknown = await failoverRetry(
      retryRequest('fo-20200101T000000Z-000000', { reason: 'x' }),
      invocation('failoverRetry'),
      deps,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.jsonBody).toMatchObject({ error: { code: 'NotFound' } });
  });

  it('continues a copy that failed part way: only the missing blobs are copied, the promotion is kept', async () => {
    // The copy gives up after 2 s, long before 1,500 files are copied one call at a time per
    // partition: the step fails, the partitions in flight finish, and the run ends Failed with part
    // of the data copied.
    const impatient = failoverDepsFor(stack, capturingLogger().logger, {
      partitionSize: 100,
      copyConcurrency: 1,
      copyTimeoutInMs: 2_000,
    });
    const runId = await postFailover(impatient, { mode: 'planned', reason: 'retry test' });
    void confirmWhenWaiting(impatient, runId);
    const failed = await runUntilDone(failoverRuntime(impatient), runId, { timeoutInMs: 120_000 });
    expect(failed.state).toBe('Failed');
    expect(failed.steps['storage.copy'].status).toBe('Failed');
    expect(failed.steps['storage.copy'].error).toMatch(/did not finish within/);
    expect(failed.steps['database.promote'].status).toBe('Succeeded');
    expect(failed.steps.verify.status).toBe('Skipped');
    const copiedBefore = await drBlobCount(stack);
    expect(copiedBefore).toBeGreaterThan(0);
    expect(copiedBefore).toBeLessThan(blobs);
    const callsBefore = failed.progress.copyCalls;
    expect(callsBefore).toBe(copiedBefore);

    const deps = failoverDepsFor(stack, capturingLogger().logger, { partitionSize: 100, copyConcurrency: 4 });
    const retried = await failoverRetry(
      retryRequest(runId, { reason: 'copy workers scaled out', requestedBy: 'oncall' }),
      invocation('failoverRetry'),
      deps,
    );
    expect(retried.status).toBe(202);
    expect(retried.jsonBody).toMatchObject({ runId, state: 'Running', retries: 1 });
    expect(retried.headers).toMatchObject({ location: `${BASE}/failover/${runId}` });

    // While it runs, it is not retryable.
    const again = await failoverRetry(
      retryRequest(runId, { reason: 'twice' }),
      invocation('failoverRetry'),
      deps,
    );
    expect(again.status).toBe(409);
    expect(again.jsonBody).toMatchObject({ error: { code: 'RunNotRetryable', state: 'Running' } });

    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 240_000 });
    await expectCompleteFailover(stack, run, blobs);
    // One copy call per missing blob: nothing already at the destination was copied again.
    expect(run.progress.copyCalls - callsBefore).toBe(blobs - copiedBefore);
    // The promotion of the failed attempt stands: the step was not run again.
    expect(run.steps['database.promote']).toMatchObject({
      status: 'Succeeded',
      startedAt: failed.steps['database.promote'].startedAt,
      endedAt: failed.steps['database.promote'].endedAt,
    });
    expect(run.retries).toHaveLength(1);
    expect(run.retries?.[0]).toMatchObject({
      requestedBy: 'oncall',
      reason: 'copy workers scaled out',
      failedAt: failed.endedAt,
      failedSteps: ['storage.copy'],
    });
    expect(run.retries?.[0]?.errors.join(' ')).toMatch(/did not finish within/);
    expect((run.report as { retries: unknown[] }).retries).toHaveLength(1);

    const succeeded = await failoverRetry(
      retryRequest(runId, { reason: 'once more' }),
      invocation('failoverRetry'),
      deps,
    );
    expect(succeeded.status).toBe(409);
    expect(succeeded.jsonBody).toMatchObject({ error: { code: 'RunNotRetryable', state: 'Succeeded' } });

    // A run that had failed before this one succeeded must not run again: its copy would write the
    // old secondary over what is now the primary.
    const store = failoverRuntime(deps).store;
    const older = newRun(
      'fo-20261124T000000Z-0abcde',
      { mode: 'forced', reason: 'an earlier attempt', dryRun: false, requestedBy: 'oncall' },
      new Date('2026-11-24T00:00:00Z'),
    );
    older.state = 'Failed';
    older.steps.preflight.status = 'Succeeded';
    older.steps['storage.ensureAccount'].status = 'Failed';
    await store.create(older);
    const stale = await failoverRetry(
      retryRequest(older.runId, { reason: 'try the old one again' }),
      invocation('failoverRetry'),
      deps,
    );
    expect(stale.status).toBe(409);
    expect(stale.jsonBody).toMatchObject({ error: { code: 'RunNotRetryable', state: 'Failed' } });
    expect((stale.jsonBody as { error: { message: string } }).error.message).toContain(
      `run ${runId} has since failed this DR pair over`,
    );
    expect((await store.get(older.runId))?.state).toBe('Failed');
    expect(await store.lockHolder()).toBeUndefined();
  });
});

describe('a copy partition whose message went to the poison queue', () => {
  it('fails the copy once everything else is copied, naming the partition; a retry copies it', async () => {
    const stack = await startLocalStack();
    try {
      const dataset = await seedWorkDirectory(stack, 300);
      const deps = failoverDepsFor(stack, capturingLogger().logger, { partitionSize: 100 });
      const runtime = failoverRuntime(deps);
      const runId = await postFailover(deps, { mode: 'planned', reason: 'poison test' });
      // Up to the quiesce, where the run waits for the operator; then, confirmed, up to the copy's
      // listing, with no copy worker yet: every partition's message is queued.
      let waiting = await advance(runtime, runId);
      for (let i = 0; i < 5 && !awaitsOperator(waiting, 'quiesce'); i++)
        waiting = await advance(runtime, runId);
      expect(awaitsOperator(waiting, 'quiesce')).toBe(true);
      expect((await confirmKyvosStopped(deps, runId)).status).toBe(202);
      const planned = await advance(runtime, runId);
      expect(planned.progress.listingComplete).toBe(true);
      expect(planned.progress.partitionsListed).toBeGreaterThanOrEqual(3);

      // Partition 1's message fails on every delivery: the Functions host moves it, as it was, to
      // the poison queue after the fifth. Here it is moved at once.
      const queues = stack.clients.queueService(deps.appStorageAccount);
      const poison = queues.getQueueClient(poisonQueueOf(COPY_QUEUE));
      await poison.createIfNotExists();
      const received = await runtime.copyQueue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 1,
      });
      const victim = received.receivedMessageItems.find(
        (m) => decodePartitionMessage(m.messageText).index === 1,
      );
      expect(victim).toBeDefined();
      if (!victim) return;
      await poison.sendMessage(victim.messageText);
      await runtime.copyQueue.deleteMessage(victim.messageId, victim.popReceipt);

      const failed = await runUntilDone(runtime, runId, { timeoutInMs: 120_000 });
      expect(failed.state).toBe('Failed');
      const copyError = failed.steps['storage.copy'].error ?? '';
      expect(copyError).toContain(
        'the message of partition 1 failed 5 times and went to the poison queue kyvos-dr-copy-poison',
      );
      expect(copyError).toContain('then retry the run');
      // Everything else was copied before the step gave up.
      const copiedBefore = failed.progress.copyCalls;
      // The DR account holds what was copied, and the directories the copied files made (its
      // hierarchical namespace), some of them listed in the poisoned partition.
      expect(await drBlobCount(stack)).toBeGreaterThanOrEqual(copiedBefore);
      expect(copiedBefore).toBeLessThan(dataset.blobs);
      expect(copiedBefore).toBeGreaterThanOrEqual(dataset.blobs - 100);

      const retried = await failoverRetry(
        retryRequest(runId, { reason: 'worker fixed' }),
        invocation('failoverRetry'),
        deps,
      );
      expect(retried.status).toBe(202);
      // The old message is still in the poison queue; it is from before the retry and does not count.
      const run = await runUntilDone(runtime, runId, { timeoutInMs: 120_000 });
      await expectCompleteFailover(stack, run, dataset.blobs);
      expect(run.progress.copyCalls - failed.progress.copyCalls).toBe(dataset.blobs - copiedBefore);
      expect((await poison.peekMessages()).peekedMessageItems).toHaveLength(1);
    } finally {
      await stack.stop();
    }
  });
});

describe('a copy whose listing was cut off', () => {
  it('is retried from where the listing stopped, and the pages listed before are copied too', async () => {
    const stack = await startLocalStack();
    try {
      const dataset = await seedWorkDirectory(stack, 300);
      // Small pages and a slow storage service, so that the listing is cut off part way.
      const deps = failoverDepsFor(stack, capturingLogger().logger, { partitionSize: 10 });
      const runtime = failoverRuntime(deps);
      stack.faults.storageLatencyMs = 30;
      const runId = await postFailover(deps, { mode: 'forced', reason: 'listing test' });
      const working = runUntilDone(runtime, runId, { timeoutInMs: 120_000 });
      for (let i = 0; i < 1_000; i++) {
        const run = await runtime.store.get(runId);
        if ((run?.progress.partitionsListed ?? 0) >= 3) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The secondary stops answering: the next page cannot be listed.
      stack.setSecondaryUnavailable(true);
      const failed = await working;
      expect(failed.state).toBe('Failed');
      expect(failed.progress.listingComplete).toBe(false);
      expect(failed.progress.partitionsListed).toBeGreaterThanOrEqual(3);
      expect(failed.steps['storage.copy'].error).toMatch(/secondary/);

      stack.setSecondaryUnavailable(false);
      stack.faults.storageLatencyMs = 0;
      const retried = await failoverRetry(
        retryRequest(runId, { reason: 'secondary answers again' }),
        invocation('failoverRetry'),
        deps,
      );
      expect(retried.status).toBe(202);
      const run = await runUntilDone(runtime, runId, { timeoutInMs: 120_000 });
      await expectCompleteFailover(stack, run, dataset.blobs);
      // Listed once: the listing went on from its saved position rather than from the start.
      expect(run.progress.listingComplete).toBe(true);
      expect(run.progress.blobsListed).toBe(dataset.blobs);
      expect(run.progress.partitionsListed).toBe(Math.ceil(dataset.blobs / 10));
    } finally {
      await stack.stop();
    }
  });
});
