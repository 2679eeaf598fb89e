import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURITE_PRELOAD, startAzurite } from '../../local/azurite.js';
import { createStackCertificate } from '../../local/certificate.js';

const require = createRequire(import.meta.url);

interface Doc {
  accountName: string;
  containerName: string;
  name: string;
  snapshot: string;
}

interface LokiCollection {
  insert(doc: Doc): void;
  findOne(query: Record<string, unknown>): Doc | null;
  find(query: Record<string, unknown>): Doc[];
}

type LokiConstructor = new (
  name: string,
) => {
  addCollection(name: string, options: { indices: string[] }): LokiCollection;
};

/** LokiJS as Azurite loads it. */
const Loki = require(
  require.resolve('lokijs', { paths: [path.dirname(require.resolve('azurite/package.json'))] }),
) as LokiConstructor;

/**
 * A collection shaped like Azurite's blobs, whose documents count reads of `accountName`: a query
 * filtered through the `name` index reads it only on the documents with that name, a scan reads it
 * on every document of the collection.
 */
function blobCollection(): { collection: LokiCollection; accountReads: { count: number } } {
  const accountReads = { count: 0 };
  const collection = new Loki('blobs').addCollection('$BLOBS_COLLECTION$', {
    indices: ['accountName', 'containerName', 'name', 'snapshot'],
  });
  for (const account of ['primary', 'dr']) {
    for (const container of ['data', 'copy']) {
      for (let i = 0; i < 500; i++) {
        const doc = { containerName: container, name: `dir/${String(i).padStart(4, '0')}`, snapshot: '' };
        let accountName = account;
        Object.defineProperty(doc, 'accountName', {
          enumerable: true,
          get: () => {
            accountReads.count += 1;
            return accountName;
          },
          set: (value: string) => {
            accountName = value;
          },
        });
        collection.insert(doc as Doc);
      }
    }
  }
  return { collection, accountReads };
}

const QUERIES: Array<Record<string, unknown>> = [
  { accountName: 'primary', containerName: 'data', name: 'dir/0042', snapshot: '' },
  { accountName: 'dr', containerName: 'copy', name: 'dir/0499', snapshot: '' },
  { accountName: 'dr', containerName: 'data', name: 'dir/9999', snapshot: '' },
  { accountName: 'primary', containerName: 'copy' },
  { accountName: 'primary', name: { $gte: 'dir/0490' } },
];

const summary = (docs: Doc[]) => docs.map((d) => `${d.accountName}/${d.containerName}/${d.name}`).sort();

describe('the LokiJS preload of Azurite', () => {
  it('finds the same blobs as before, through the name index instead of a scan of the account', () => {
    const { collection, accountReads } = blobCollection();
    const before = QUERIES.map((q) => summary(collection.find(q)));
    accountReads.count = 0;
    expect(collection.findOne(QUERIES[0] as Record<string, unknown>)?.name).toBe('dir/0042');
    const scanReads = accountReads.count;

    require(AZURITE_PRELOAD);

    expect(QUERIES.map((q) => summary(collection.find(q)))).toEqual(before);
    expect(before.map((docs) => docs.length)).toEqual([1, 1, 0, 500, 20]);
    accountReads.count = 0;
    expect(collection.findOne(QUERIES[0] as Record<string, unknown>)?.name).toBe('dir/0042');
    // One account of two: the scan reads half of the 2,000 documents; the index, those named dir/0042.
    expect(scanReads).toBeGreaterThanOrEqual(1_000);
    expect(accountReads.count).toBeLessThanOrEqual(4);
  });
});

interface ExtentChunk {
  id: string;
}

interface MemoryExtentStoreShape {
  init(): Promise<void>;
  appendExtent(data: Buffer): Promise<ExtentChunk>;
  deleteExtents(ids: Iterable<string>): Promise<number>;
}

describe('the garbage collection of the Azurite preload', () => {
  it('deletes the given extents, data and metadata, in one batch, and keeps the others', async () => {
    require(AZURITE_PRELOAD);
    const persistence = path.join(
      path.dirname(require.resolve('azurite/package.json')),
      'dist/src/common/persistence',
    );
    const memory = require(path.join(persistence, 'MemoryExtentStore.js'));
    const LokiExtentMetadata = require(path.join(persistence, 'LokiExtentMetadataStore.js')).default;
    const metadata = new LokiExtentMetadata('extents-test', true);
    const chunks = new memory.MemoryExtentChunkStore(64 * 1024 * 1024);
    const logger = { info() {}, debug() {}, warn() {}, error() {}, verbose() {} };
    const store: MemoryExtentStoreShape = new memory.default(
      'blob',
      chunks,
      metadata,
      logger,
      (e: Error) => e,
    );
    await store.init();
    const extents: ExtentChunk[] = [];
    for (let i = 0; i < 5; i++) extents.push(await store.appendExtent(Buffer.from(`extent ${i}`)));
    const ids = extents.map((e) => e.id);
    const collection = metadata.db.getCollection(metadata.EXTENTS_COLLECTION);
    const stored = () =>
      collection
        .find()
        .map((doc: { id: string }) => doc.id)
        .sort();
    expect(stored()).toEqual([...ids].sort());

    const remove = jestLikeCounter(collection, 'removeBatchByPositions');
    expect(await store.deleteExtents(new Set([ids[1] as string, ids[3] as string]))).toBe(2);
    expect(remove.calls).toBe(1);
    expect(stored()).toEqual([ids[0], ids[2], ids[4]].sort());
    expect(chunks.get('blob', ids[1])).toBeUndefined();
    expect(chunks.get('blob', ids[2])).toBeDefined();
  });
});

/** Counts calls of a method, calling through. */
function jestLikeCounter(target: Record<string, unknown>, method: string): { calls: number } {
  const counter = { calls: 0 };
  const original = target[method] as (...args: unknown[]) => unknown;
  target[method] = function (this: unknown, ...args: unknown[]) {
    counter.calls += 1;
    return original.apply(this, args);
  };
  return counter;
}

describe('Azurite on the local stack', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kyvos-dr-azurite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs with the preload', async () => {
    const certificate = await createStackCertificate(dir);
    const azurite = await startAzurite({
      accounts: [{ name: 'kyvosprimdata', key: Buffer.from('k'.repeat(32)).toString('base64') }],
      certPath: certificate.certPath,
      keyPath: certificate.keyPath,
    });
    try {
      const commandLine = readFileSync(`/proc/${azurite.pid}/cmdline`, 'utf8').split('\0');
      const required = commandLine.indexOf('--require');
      expect(required).toBeGreaterThan(0);
      expect(commandLine.slice(required, required + 2)).toEqual(['--require', AZURITE_PRELOAD]);
    } finally {
      await azurite.stop();
    }
  });
});
