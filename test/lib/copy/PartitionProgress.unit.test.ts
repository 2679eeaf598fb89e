import { describe, expect, it } from 'vitest';
import { BlobCheckpointStore } from '../../../src/lib/copy/BlobCheckpointStore.js';
import { CheckpointConflict, type PartitionCheckpoint } from '../../../src/lib/copy/CheckpointStore.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { PartitionProgress, type PartitionProgressOptions } from '../../../src/lib/copy/PartitionProgress.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const partition = { runId: 'r', index: 0, pageSize: 10 };
const blobs: ListedBlob[] = Array.from({ length: 10 }, (_, i) => ({
  name: `engine/work/f${i}`,
  contentLength: 1,
  metadata: {},
  isDirectoryStub: false,
}));

/** A store with a fake clock: `time.ms` is the monotonic clock, moved by hand. */
function setUp(overrides: Partial<PartitionProgressOptions> = {}) {
  const documents = new InMemoryDocumentStore();
  const store = new BlobCheckpointStore(documents);
  const time = { ms: 0 };
  const options: PartitionProgressOptions = {
    clock: () => new Date('2026-12-01T10:00:00Z'),
    now: () => time.ms,
    progressCheckpointIntervalInMs: 5_000,
    reservationInBlobs: 4,
    ...overrides,
  };
  const stored = async (): Promise<PartitionCheckpoint | undefined> => (await store.get('r', 0))?.record;
  return { documents, store, time, options, stored };
}

/** A promise and its resolver: a write held at the store until the test lets it through. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Lets every promise that can settle now settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('partition progress', () => {
  it('claims a partition only at the version it read: a worker that claimed it in between wins', async () => {
    const { store, options } = setUp();
    await PartitionProgress.claim(store, partition, undefined, options);
    // A second worker read no checkpoint too, and claims after the first.
    await expect(PartitionProgress.claim(store, partition, undefined, options)).rejects.toBeInstanceOf(
      CheckpointConflict,
    );
    const read = await store.get('r', 0);
    const second = await PartitionProgress.claim(store, partition, read, options);
    expect(second.record).toMatchObject({ attempts: 2, status: 'started' });
  });

  it('writes its record over a concurrent writer’s after a conflict', async () => {
    const { documents, store, options, stored } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, false);
    // A redelivered message: another worker writes the checkpoint between this worker's writes.
    documents.beforeWrite = async () => {
      documents.beforeWrite = undefined;
      const latest = await store.get('r', 0);
      await store.put(
        'r',
        0,
        { ...(latest?.record as PartitionCheckpoint), blobsCopied: 99 },
        { etag: latest?.etag },
      );
    };
    progress.copied(blobs[0] as ListedBlob, 0);
    await progress.finish();
    expect(await stored()).toMatchObject({ status: 'done', blobsCopied: 1 });
    // And the next write is conditional on the version it wrote, not on the one it lost to.
    await progress.save();
    expect(await stored()).toMatchObject({ status: 'done', blobsCopied: 1 });
  });

  it('writes one checkpoint at a time, in the order they were asked for', async () => {
    const { documents, store, options, stored } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, false);
    let inFlight = 0;
    let mostInFlight = 0;
    const held = gate();
    documents.beforeWrite = async () => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await held.opened;
      inFlight -= 1;
    };
    progress.copied(blobs[0] as ListedBlob, 0);
    const first = progress.save();
    progress.copied(blobs[1] as ListedBlob, 1);
    const second = progress.finish();
    held.open();
    await Promise.all([first, second]);
    expect(mostInFlight).toBe(1);
    expect(await stored()).toMatchObject({ status: 'done', blobsCopied: 2 });
  });

  it('starts a blob only below a reservation that a checkpoint already holds', async () => {
    const { documents, store, options, stored } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, true);
    // Every checkpoint write waits at the store until the test lets it through.
    let held = gate();
    documents.beforeWrite = () => held.opened;
    for (let position = 0; position < blobs.length; position++) {
      let started = false;
      const reserved = progress.reserve(position).then(() => {
        started = true;
      });
      await settle();
      while (!started) {
        expect((await stored())?.reservedThrough ?? 0).toBeLessThanOrEqual(position);
        held.open();
        held = gate();
        await settle();
      }
      await reserved;
      expect((await stored())?.reservedThrough).toBeGreaterThan(position);
    }
    expect((await stored())?.reservedThrough).toBe(blobs.length);
  });

  it('fails a blob’s start when its reservation cannot be written', async () => {
    const { documents, store, options, stored } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, true);
    documents.beforeWrite = () => {
      throw new Error('the app storage is unreachable');
    };
    await expect(progress.reserve(0)).rejects.toThrow('unreachable');
    expect((await stored())?.reservedThrough).toBeUndefined();
  });

  it('reserves nothing without a manifest: a listed page is copied at once', async () => {
    const { documents, store, options } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, false);
    let writes = 0;
    documents.beforeWrite = () => {
      writes += 1;
    };
    for (let position = 0; position < blobs.length; position++) await progress.reserve(position);
    expect(writes).toBe(0);
  });

  it('settles the manifest’s prefix however out of order its blobs finish', async () => {
    const { store, options } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs.slice(0, 5), true);
    const at = (i: number) => blobs[i] as ListedBlob;
    const steps: Array<[string, number]> = [];
    const step = (what: 'copied' | 'skipped', i: number) => {
      progress[what](at(i), i);
      steps.push([`${what} ${i}`, progress.record.settledThrough ?? -1]);
    };
    step('copied', 4);
    step('copied', 2);
    step('skipped', 0);
    step('copied', 1);
    step('copied', 3);
    expect(steps).toEqual([
      ['copied 4', 0],
      ['copied 2', 0],
      ['skipped 0', 1],
      ['copied 1', 3],
      ['copied 3', 5],
    ]);
  });

  it('resumes from the settled prefix and reservation of the same manifest only', async () => {
    const { store, options } = setUp();
    const first = await PartitionProgress.claim(store, partition, undefined, options);
    first.track(blobs, true);
    await first.reserve(0);
    for (const i of [0, 1, 2]) first.copied(blobs[i] as ListedBlob, i);
    await first.save();
    // The worker dies; the message comes back.
    const previous = await store.get('r', 0);
    const again = await PartitionProgress.claim(store, partition, previous, options);
    expect(again.track(blobs, true, previous?.record)).toEqual({ settledBefore: 3, lookUpBefore: 4 });
    expect(again.record).toMatchObject({ settledThrough: 3, reservedThrough: 4 });
    // A manifest planned again (other blobs) starts from nothing, and a listed page keeps no prefix.
    const replanned = blobs.map((b) => ({ ...b, name: `${b.name}.v2` }));
    expect(again.track(replanned, true, previous?.record)).toEqual({ settledBefore: 0, lookUpBefore: 10 });
    expect(again.track(blobs, false, previous?.record)).toEqual({ settledBefore: 0, lookUpBefore: 10 });
  });

  it('writes progress now and then while blobs settle, never more often than the interval', async () => {
    const { documents, store, time, options, stored } = setUp();
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, true);
    let writes = 0;
    documents.beforeWrite = () => {
      writes += 1;
    };
    time.ms = 1_000;
    progress.copied(blobs[0] as ListedBlob, 0);
    await progress.idle();
    expect(writes).toBe(0);
    time.ms = 5_000;
    progress.copied(blobs[1] as ListedBlob, 1);
    await progress.idle();
    expect(writes).toBe(1);
    expect(await stored()).toMatchObject({ status: 'started', blobsCopied: 2, settledThrough: 2 });
    time.ms = 9_000;
    progress.copied(blobs[2] as ListedBlob, 2);
    await progress.idle();
    expect(writes).toBe(1);
  });

  it('tells a progress checkpoint that failed, and goes on', async () => {
    const failures: unknown[] = [];
    const { documents, store, time, options } = setUp({
      onProgressNotSaved: (error) => failures.push(error),
    });
    const progress = await PartitionProgress.claim(store, partition, undefined, options);
    progress.track(blobs, false);
    documents.beforeWrite = () => {
      throw new Error('the app storage is unreachable');
    };
    time.ms = 10_000;
    progress.copied(blobs[0] as ListedBlob, 0);
    await progress.idle();
    expect(failures).toHaveLength(1);
    documents.beforeWrite = undefined;
    await progress.finish();
    expect(progress.record).toMatchObject({ status: 'done', blobsCopied: 1 });
  });
});
