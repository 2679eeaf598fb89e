import { describe, expect, it } from 'vitest';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { LOCK_SETUP_GRACE_IN_MS, RunStore } from '../../../src/lib/failover/RunStore.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const request = { mode: 'planned' as const, reason: 'test', dryRun: false, requestedBy: 'test' };

function storeWith(documents = new InMemoryDocumentStore()) {
  return { documents, store: new RunStore(documents) };
}

describe('the failover lock', () => {
  it('is held by the first start; a second start is told who holds it', async () => {
    const { store } = storeWith();
    expect(await store.acquireLock('fo-a', T0)).toEqual({ acquired: true });
    expect(await store.acquireLock('fo-b', T0)).toEqual({ acquired: false, holder: 'fo-a' });
  });

  it('is not taken over while its holder is still writing its run record (inside the grace period)', async () => {
    const { store } = storeWith();
    await store.acquireLock('fo-a', T0);
    // fo-a has the lock but no run record yet: the interleaving that gave two Running runs.
    const later = new Date(T0.getTime() + LOCK_SETUP_GRACE_IN_MS - 1);
    expect(await store.acquireLock('fo-b', later)).toEqual({ acquired: false, holder: 'fo-a' });
  });

  it('is taken over from a holder that never wrote its run record, once the grace period has passed', async () => {
    const { store } = storeWith();
    await store.acquireLock('fo-a', T0);
    const later = new Date(T0.getTime() + LOCK_SETUP_GRACE_IN_MS + 1);
    expect(await store.acquireLock('fo-b', later)).toEqual({ acquired: true });
    expect(await store.lockHolder()).toBe('fo-b');
  });

  it('is taken over from a holder whose run has ended', async () => {
    const { store } = storeWith();
    await store.acquireLock('fo-a', T0);
    const ended = newRun('fo-a', request, T0);
    ended.state = 'Failed';
    await store.create(ended);
    expect(await store.acquireLock('fo-b', T0)).toEqual({ acquired: true });
  });

  it('is kept by a holder whose run is Running', async () => {
    const { store } = storeWith();
    await store.acquireLock('fo-a', T0);
    await store.create(newRun('fo-a', request, T0));
    const muchLater = new Date(T0.getTime() + 10 * LOCK_SETUP_GRACE_IN_MS);
    expect(await store.acquireLock('fo-b', muchLater)).toEqual({ acquired: false, holder: 'fo-a' });
  });

  it('is kept by a retry reopening a run that ended before it took the lock, until the grace period has passed', async () => {
    const { store } = storeWith();
    const failed = newRun('fo-a', request, T0);
    failed.state = 'Failed';
    failed.endedAt = T0.toISOString();
    await store.create(failed);
    const retriedAt = new Date(T0.getTime() + 60_000);
    expect(await store.acquireLock('fo-a', retriedAt)).toEqual({ acquired: true });
    const inside = new Date(retriedAt.getTime() + LOCK_SETUP_GRACE_IN_MS - 1);
    expect(await store.acquireLock('fo-b', inside)).toEqual({ acquired: false, holder: 'fo-a' });
    const after = new Date(retriedAt.getTime() + LOCK_SETUP_GRACE_IN_MS + 1);
    expect(await store.acquireLock('fo-b', after)).toEqual({ acquired: true });
  });

  it('of two starts that both judge a stale holder, exactly one takes it over', async () => {
    const { documents, store } = storeWith();
    await store.acquireLock('fo-a', T0);
    const ended = newRun('fo-a', request, T0);
    ended.state = 'Succeeded';
    await store.create(ended);
    // fo-c takes the lock over exactly between fo-b's judgement and fo-b's write.
    let injected = false;
    documents.beforeWrite = async (key) => {
      if (key !== 'locks/failover.json' || injected) return;
      const lock = await documents.read<{ runId: string }>(key);
      if (lock?.value.runId !== 'fo-a') return;
      injected = true;
      documents.beforeWrite = undefined;
      expect(await store.acquireLock('fo-c', T0)).toEqual({ acquired: true });
    };
    const outcome = await store.acquireLock('fo-b', T0);
    expect(injected).toBe(true);
    expect(outcome).toEqual({ acquired: false, holder: 'fo-c' });
    expect(await store.lockHolder()).toBe('fo-c');
  });

  it('is created afresh when its stale holder releases it between the judgement and the takeover', async () => {
    const { documents, store } = storeWith();
    await store.acquireLock('fo-a', T0);
    const ended = newRun('fo-a', request, T0);
    ended.state = 'Failed';
    await store.create(ended);
    // fo-a releases the lock exactly between fo-b's judgement (stale) and fo-b's takeover.
    let released = false;
    documents.beforeWrite = async (key) => {
      if (key !== 'locks/failover.json' || released) return;
      released = true;
      documents.beforeWrite = undefined;
      await store.releaseLock('fo-a');
    };
    expect(await store.acquireLock('fo-b', T0)).toEqual({ acquired: true });
    expect(released).toBe(true);
    expect(await store.lockHolder()).toBe('fo-b');
  });

  it('is released only by its holder, and never after another run took it over', async () => {
    const { documents, store } = storeWith();
    await store.acquireLock('fo-a', T0);
    await store.releaseLock('fo-b');
    expect(await store.lockHolder()).toBe('fo-a');
    // fo-b takes the lock over between fo-a's read and fo-a's delete: the delete must not remove it.
    documents.beforeWrite = async (key) => {
      documents.beforeWrite = undefined;
      const lock = await documents.read<{ runId: string }>(key);
      if (!lock) return;
      await documents.write(key, { runId: 'fo-b', acquiredAt: T0.toISOString() }, { ifMatch: lock.etag });
    };
    await store.releaseLock('fo-a');
    expect(await store.lockHolder()).toBe('fo-b');
    await store.releaseLock('fo-b');
    expect(await store.lockHolder()).toBeUndefined();
  });
});

describe('run records', () => {
  it('are created once: a second create of the same id writes nothing', async () => {
    const { store } = storeWith();
    expect(await store.create(newRun('fo-a', request, T0))).toBe(true);
    const other = newRun('fo-a', { ...request, reason: 'other' }, T0);
    expect(await store.create(other)).toBe(false);
    expect((await store.get('fo-a'))?.request.reason).toBe('test');
  });

  it('update re-applies a change on top of a concurrent writer, losing neither', async () => {
    const { documents, store } = storeWith();
    await store.create(newRun('fo-a', request, T0));
    let once = true;
    documents.beforeWrite = async () => {
      if (!once) return;
      once = false;
      await store.update('fo-a', (r) => {
        r.errors.push('from the other writer');
        return true;
      });
    };
    await store.update('fo-a', (r) => {
      r.errors.push('mine');
      return true;
    });
    expect((await store.get('fo-a'))?.errors).toEqual(['from the other writer', 'mine']);
  });
});
