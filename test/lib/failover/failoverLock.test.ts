import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import {
  type FailoverRuntime,
  newRunId,
  retryFailover,
  startFailover,
} from '../../../src/lib/failover/FailoverService.js';
import { RunStore, STATE_CONTAINER } from '../../../src/lib/failover/RunStore.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import {
  BlobDocumentStore,
  type DocumentStore,
  type Versioned,
  type WriteCondition,
} from '../../../src/lib/state/DocumentStore.js';
import { capturingLogger, failoverDepsFor, httpRequest, invocation } from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

/**
 * The app's real document store (Azurite), with `other` run once just before the first write of
 * `key` is sent: the interleaving that a busy host produces by chance, forced.
 */
class Interleaved implements DocumentStore {
  outcome: Promise<unknown> | undefined;
  constructor(
    private readonly inner: DocumentStore,
    private readonly key: string,
    private readonly other: () => Promise<unknown>,
  ) {}
  read<T>(key: string, options?: { abortSignal?: AbortSignal }): Promise<Versioned<T> | undefined> {
    return this.inner.read<T>(key, options);
  }
  async write<T>(key: string, value: T, condition: WriteCondition): Promise<string | undefined> {
    if (key === this.key && !this.outcome) {
      this.outcome = this.other();
      await this.outcome;
    }
    return this.inner.write(key, value, condition);
  }
  delete(key: string, etag: string): Promise<boolean> {
    return this.inner.delete(key, etag);
  }
  keys(prefix: string): AsyncIterable<string> {
    return this.inner.keys(prefix);
  }
}

describe('the failover lock on the local stack', () => {
  let stack: LocalStack;
  let deps: ReturnType<typeof failoverDepsFor>;
  let runtime: FailoverRuntime;
  let documents: BlobDocumentStore;

  beforeAll(async () => {
    stack = await startLocalStack();
    deps = failoverDepsFor(stack, capturingLogger().logger);
    runtime = failoverRuntime(deps);
    documents = new BlobDocumentStore(
      stack.clients.blobService(deps.appStorageAccount).getContainerClient(STATE_CONTAINER),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Every run record in the app's storage, by id and state. */
  const runStates = async () => {
    const found: Array<[string, string]> = [];
    for await (const key of documents.keys('runs/')) {
      if (!key.endsWith('/run.json')) continue;
      const run = (await documents.read<FailoverRun>(key))?.value;
      if (run) found.push([run.runId, run.state]);
    }
    return found;
  };
  /** A second operator's start through the HTTP trigger, with the app's own runtime. */
  const postStart = () =>
    failoverStart(
      httpRequest('POST', `${BASE}/failover`, { mode: 'forced', reason: 'second operator' }),
      invocation('failoverStart'),
      deps,
    );

  it('gives exactly one Running run when a start arrives between another start’s lock and its run record; the second gets 409 naming the first', async () => {
    const a = newRunId(new Date());
    const interleaved = new Interleaved(documents, `runs/${a}/run.json`, postStart);
    const started = await startFailover(
      { ...runtime, store: new RunStore(interleaved) },
      { mode: 'planned', reason: 'first operator', dryRun: false, requestedBy: 'op-a' },
      a,
    );

    const b = (await interleaved.outcome) as Awaited<ReturnType<typeof failoverStart>>;
    expect(b.status).toBe(409);
    const error = (b.jsonBody as { error: { code: string; runId: string; message: string } }).error;
    expect(error).toMatchObject({ code: 'FailoverInProgress', runId: a });
    expect(error.message).toContain(a);
    expect(started.state).toBe('Running');
    expect(await runStates()).toEqual([[a, 'Running']]);
    expect(await runtime.store.lockHolder()).toBe(a);
  });

  it('keeps the lock for a retry while it reopens its failed run: a start in between gets 409 naming it', async () => {
    const [[a]] = (await runStates()) as [[string, string]];
    // The run fails and releases the lock, as a worker ends it.
    await runtime.store.update(a, (run) => {
      run.state = 'Failed';
      run.endedAt = new Date().toISOString();
      run.steps.preflight.status = 'Failed';
      return true;
    });
    await runtime.store.releaseLock(a);
    expect(await runtime.store.lockHolder()).toBeUndefined();

    const interleaved = new Interleaved(documents, `runs/${a}/run.json`, postStart);
    const retried = await retryFailover({ ...runtime, store: new RunStore(interleaved) }, a, {
      reason: 'cause fixed',
      requestedBy: 'op-a',
    });

    const c = (await interleaved.outcome) as Awaited<ReturnType<typeof failoverStart>>;
    expect(c.status).toBe(409);
    expect(c.jsonBody).toMatchObject({ error: { code: 'FailoverInProgress', runId: a } });
    expect(retried.state).toBe('Running');
    expect(await runStates()).toEqual([[a, 'Running']]);
    expect(await runtime.store.lockHolder()).toBe(a);
  });
});
