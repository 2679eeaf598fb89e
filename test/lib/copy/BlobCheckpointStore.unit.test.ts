import { describe, expect, it } from 'vitest';
import { BlobCheckpointStore } from '../../../src/lib/copy/BlobCheckpointStore.js';
import { CheckpointConflict, type PartitionCheckpoint } from '../../../src/lib/copy/CheckpointStore.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { noBlobsCounted } from '../../../src/lib/copy/PartitionProgress.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const record = (status: PartitionCheckpoint['status']): PartitionCheckpoint => ({
  runId: 'r',
  partitionIndex: 0,
  status,
  attempts: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  attemptStartedAt: '2026-01-01T00:00:00.000Z',
  ...noBlobsCounted(),
});

const blob: ListedBlob = {
  name: 'engine/work/a.parquet',
  contentLength: 42,
  lastModified: new Date('2026-01-01T00:00:00Z'),
  metadata: {},
  isDirectoryStub: false,
} as ListedBlob;

describe('copy checkpoints as documents', () => {
  it('are written conditionally: a worker that lost the partition gets CheckpointConflict', async () => {
    const store = new BlobCheckpointStore(new InMemoryDocumentStore());
    const first = await store.put('r', 0, record('started'));
    await expect(store.put('r', 0, record('started'))).rejects.toBeInstanceOf(CheckpointConflict);
    const second = await store.put('r', 0, record('done'), { etag: first });
    await expect(store.put('r', 0, record('done'), { etag: first })).rejects.toThrow(
      'The checkpoint of partition 0 of run r changed while this worker held it: another worker is on the same partition.',
    );
    expect(await store.get('r', 0)).toEqual({ record: record('done'), etag: second });
    expect(await store.get('r', 1)).toBeUndefined();
  });

  it('lose no write to a worker that writes between another one’s read and write', async () => {
    const documents = new InMemoryDocumentStore();
    const store = new BlobCheckpointStore(documents);
    await store.put('r', 0, record('started'));
    const read = await store.get('r', 0);
    // The other worker finishes the partition exactly in between.
    documents.beforeWrite = async () => {
      documents.beforeWrite = undefined;
      const latest = await store.get('r', 0);
      await store.put('r', 0, record('done'), { etag: latest?.etag });
    };
    await expect(store.put('r', 0, record('failed'), { etag: read?.etag })).rejects.toBeInstanceOf(
      CheckpointConflict,
    );
    expect((await store.get('r', 0))?.record.status).toBe('done');
  });

  it('keep manifests per run and partition, overwritten whole, with dates restored', async () => {
    const documents = new InMemoryDocumentStore();
    const store = new BlobCheckpointStore(documents);
    await store.putManifest('r1', 0, [blob]);
    expect(await store.getManifest('r1', 0)).toEqual([blob]);
    expect((await store.getManifest('r1', 0))?.[0]?.lastModified).toBeInstanceOf(Date);
    expect(await store.getManifest('r1', 1)).toBeUndefined();
    expect(await store.hasManifest('r1', 0)).toBe(true);
    expect(await store.hasManifest('r1', 1)).toBe(false);
    const replanned = [{ ...blob, name: 'engine/work/b.parquet' }];
    await store.putManifest('r1', 0, replanned);
    expect(await store.getManifest('r1', 0)).toEqual(replanned);
    // Partition 1's manifest is not mistaken for partition 10's, nor the other way round.
    await store.putManifest('r1', 10, [blob]);
    expect(await store.hasManifest('r1', 1)).toBe(false);
  });

  it('name a damaged manifest, and wrap a failing store with the checkpoint and no secret', async () => {
    const documents = new InMemoryDocumentStore();
    const store = new BlobCheckpointStore(documents);
    documents.putRaw(BlobCheckpointStore.manifestPathOf('r1', 2), '{"version":');
    await expect(store.getManifest('r1', 2)).rejects.toThrow(
      'The copy manifest runs/r1/copy/2.manifest.json is not JSON.',
    );
    documents.beforeRead = () => {
      throw new Error('connect ECONNREFUSED https://app.blob.example/kyvos-dr?sv=2022&sig=SECRET');
    };
    const failed = await store.get('r1', 0).catch((error: Error) => error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(
      /^Cannot read the copy checkpoint runs\/r1\/copy\/0\.json from memory: /,
    );
    expect((failed as Error).message).not.toContain('SECRET');
  });
});
