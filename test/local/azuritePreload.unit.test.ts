import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AZURITE_PRELOAD } from '../../local/azurite.js';

const require = createRequire(import.meta.url);

/** What the preload was written for: `local/azuritePreload.json`. */
interface WrittenFor {
  azurite: string;
  lokijs: string;
  /** SHA-256 of each source file the patches rely on, by `<package>/<path in the package>`. */
  sha256: Record<string, string>;
}

const WRITTEN_FOR_FILE = fileURLToPath(new URL('../../local/azuritePreload.json', import.meta.url));
const writtenFor = JSON.parse(readFileSync(WRITTEN_FOR_FILE, 'utf8')) as WrittenFor;
const azuriteDir = path.dirname(require.resolve('azurite/package.json'));
/** LokiJS as Azurite resolves it (not necessarily the copy next to this repository's package.json). */
const lokiEntry = require.resolve('lokijs', { paths: [azuriteDir] });
const lokiDir = path.resolve(path.dirname(lokiEntry), '..');
const packageDirs: Record<string, string> = { azurite: azuriteDir, lokijs: lokiDir };

const versionOf = (dir: string) =>
  (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

describe('the Azurite preload is pinned to what it patches', () => {
  it('package.json pins Azurite and LokiJS exactly, to the versions the preload was written for', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
    ) as { devDependencies: Record<string, string> };
    expect({
      azurite: manifest.devDependencies.azurite,
      lokijs: manifest.devDependencies.lokijs,
    }).toEqual({ azurite: writtenFor.azurite, lokijs: writtenFor.lokijs });
  });

  it('the installed Azurite and the LokiJS it loads are those versions', () => {
    expect({ azurite: versionOf(azuriteDir), lokijs: versionOf(lokiDir) }).toEqual({
      azurite: writtenFor.azurite,
      lokijs: writtenFor.lokijs,
    });
  });

  it('every source file the patches rely on is the one they were written against', () => {
    const installed = Object.fromEntries(
      Object.keys(writtenFor.sha256).map((file) => {
        const [name = '', ...rest] = file.split('/');
        const dir = packageDirs[name];
        if (!dir) throw new Error(`${file}: the checksums name only files of azurite or lokijs.`);
        const text = readFileSync(path.join(dir, ...rest));
        return [file, createHash('sha256').update(text).digest('hex')];
      }),
    );
    // On a difference, the message shows the installed checksums to record once the patches are reviewed.
    expect(installed).toEqual(writtenFor.sha256);
  });

  it('refuses to run, saying why, on another Azurite version', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kyvos-dr-preload-'));
    try {
      copyFileSync(AZURITE_PRELOAD, path.join(dir, 'azuritePreload.cjs'));
      writeFileSync(
        path.join(dir, 'azuritePreload.json'),
        JSON.stringify({ ...writtenFor, azurite: '3.0.0' }),
      );
      const run = spawnSync(process.execPath, ['--require', path.join(dir, 'azuritePreload.cjs'), '-e', ''], {
        encoding: 'utf8',
        // The copy resolves azurite and lokijs from this repository's node_modules.
        env: { ...process.env, NODE_PATH: path.resolve(azuriteDir, '..') },
      });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(
        `patches internals of Azurite 3.0.0 with LokiJS ${writtenFor.lokijs}, but Azurite ${writtenFor.azurite}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
