import type { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { FailoverInProgress } from '../../../src/lib/errors.js';
import { type FailoverRun, newRun } from '../../../src/lib/failover/FailoverRun.js';
import {
  type FailoverRuntime,
  retryFailover,
  startFailover,
} from '../../../src/lib/failover/FailoverService.js';
import { LOCK_SETUP_GRACE_IN_MS, RunStore } from '../../../src/lib/failover/RunStore.js';
import { DEFAULT_FAILOVER_OPTIONS } from '../../../src/lib/failover/StepContext.js';
import { silentLogger } from '../../../src/lib/log.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const A = 'fo-20261201T100000Z-aaaaaa';
const B = 'fo-20261201T100000Z-bbbbbb';
const request = { mode: 'planned' as const, reason: 'test', dryRun: false, requestedBy: 'test' };

/** A failover runtime over an in-memory store; queued advance messages are kept in `sent`. */
function runtimeWith(documents: InMemoryDocumentStore, now: () => Date) {
  const sent: string[] = [];
  const queue = {
    createIfNotExists: async () => ({}),
    sendMessage: async (text: string) => {
      sent.push(text);
      return {};
    },
  } as unknown as QueueClient;
  const runtime: FailoverRuntime = {
    deps: {
      settings: {},
      clients: {} as ClientFactory,
      config: async () => ({}) as DrConfig,
      logger: silentLogger,
      clock: now,
      appStorageAccount: 'kyvosdrapp',
    },
    options: DEFAULT_FAILOVER_OPTIONS,
    store: new RunStore(documents),
    failoverQueue: queue,
    copyQueue: queue,
  };
  return { runtime, sent };
}

async function runs(documents: InMemoryDocumentStore): Promise<FailoverRun[]> {
  const found: FailoverRun[] = [];
  for await (const key of documents.keys('runs/')) {
    if (key.endsWith('/run.json')) found.push((await documents.read<FailoverRun>(key))?.value as FailoverRun);
  }
  return found;
}

/** Runs `other` once, just before the first write of `key` is decided. */
function justBeforeWriteOf(documents: InMemoryDocumentStore, key: string, other: () => Promise<unknown>) {
  let outcome: Promise<unknown> | undefined;
  documents.beforeWrite = async (written) => {
    if (written !== key || outcome) return;
    outcome = other().catch((error: unknown) => error);
    await outcome;
  };
  return () => outcome;
}

describe('two failover starts racing for the lock', () => {
  it('give exactly one Running run when one arrives between the other’s lock and its run record', async () => {
    const documents = new InMemoryDocumentStore();
    const { runtime, sent } = runtimeWith(documents, () => T0);
    const outcomeOfB = justBeforeWriteOf(documents, `runs/${A}/run.json`, () =>
      startFailover(runtime, request, B),
    );

    const a = await startFailover(runtime, request, A);

    const b = await outcomeOfB();
    expect(b).toBeInstanceOf(FailoverInProgress);
    expect((b as FailoverInProgress).runId).toBe(A);
    expect((b as FailoverInProgress).message).toContain(A);
    expect(a.state).toBe('Running');
    expect((await runs(documents)).map((run) => [run.runId, run.state])).toEqual([[A, 'Running']]);
    expect(await runtime.store.lockHolder()).toBe(A);
    expect(sent).toHaveLength(1);
  });
});

describe('a retry racing a start for the lock', () => {
  it('keeps the lock while it reopens its failed run: the start gets FailoverInProgress naming it', async () => {
    const documents = new InMemoryDocumentStore();
    let now = T0;
    const { runtime } = runtimeWith(documents, () => now);
    const failed = newRun(A, request, T0);
    failed.state = 'Failed';
    failed.endedAt = new Date(T0.getTime() + 60_000).toISOString();
    failed.steps.preflight.status = 'Failed';
    await runtime.store.create(failed);
    now = new Date(T0.getTime() + 10 * 60_000);
    // The start arrives once the retry holds the lock and before its run record is Running again.
    const outcomeOfB = justBeforeWriteOf(documents, `runs/${A}/run.json`, () =>
      startFailover(runtime, request, B),
    );

    const retried = await retryFailover(runtime, A, { reason: 'fixed', requestedBy: 'op' });

    const b = await outcomeOfB();
    expect(b).toBeInstanceOf(FailoverInProgress);
    expect((b as FailoverInProgress).runId).toBe(A);
    expect(retried.state).toBe('Running');
    expect((await runs(documents)).map((run) => [run.runId, run.state])).toEqual([[A, 'Running']]);
    expect(await runtime.store.lockHolder()).toBe(A);
  });

  it('takes again, at its own time, the lock its run left behind', async () => {
    const documents = new InMemoryDocumentStore();
    let now = T0;
    const { runtime } = runtimeWith(documents, () => now);
    // The run took the lock, ended Failed, and did not release it (its worker died).
    await runtime.store.acquireLock(A, T0);
    const failed = newRun(A, request, T0);
    failed.state = 'Failed';
    failed.endedAt = new Date(T0.getTime() + 60_000).toISOString();
    failed.steps.preflight.status = 'Failed';
    await runtime.store.create(failed);
    now = new Date(T0.getTime() + 10 * 60_000);
    const outcomeOfB = justBeforeWriteOf(documents, `runs/${A}/run.json`, () =>
      startFailover(runtime, request, B),
    );

    await retryFailover(runtime, A, { reason: 'fixed', requestedBy: 'op' });

    expect(await outcomeOfB()).toBeInstanceOf(FailoverInProgress);
    expect((await runs(documents)).map((run) => [run.runId, run.state])).toEqual([[A, 'Running']]);
  });
});

describe('a start that stalls between its lock and its run record', () => {
  it('ends before doing anything when another start took the lock over meanwhile; only the other runs', async () => {
    const documents = new InMemoryDocumentStore();
    let now = T0;
    const { runtime, sent } = runtimeWith(documents, () => now);
    // A stalls past the setup grace right before writing its record; B then judges A's lock stale.
    const outcomeOfB = justBeforeWriteOf(documents, `runs/${A}/run.json`, async () => {
      now = new Date(T0.getTime() + LOCK_SETUP_GRACE_IN_MS + 1);
      return startFailover(runtime, request, B);
    });

    const error = await startFailover(runtime, request, A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailoverInProgress);
    expect((error as FailoverInProgress).runId).toBe(B);
    expect(((await outcomeOfB()) as FailoverRun).runId).toBe(B);

    const all = await runs(documents);
    expect(all.filter((r) => r.state === 'Running').map((r) => r.runId)).toEqual([B]);
    const a = all.find((r) => r.runId === A);
    expect(a?.state).toBe('Failed');
    expect(a?.errors[0]).toContain(`lost the failover lock to run ${B}`);
    expect(Object.values(a?.steps ?? {}).every((step) => step.status === 'Skipped')).toBe(true);
    expect(await runtime.store.lockHolder()).toBe(B);
    expect(sent).toHaveLength(1);
    expect(Buffer.from(sent[0] ?? '', 'base64').toString('utf8')).toContain(B);
  });
});
