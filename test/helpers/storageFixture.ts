import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import { DEFAULT_NAMES } from '../../local/stack.js';
import { startStorageStack } from '../../local/storageStack.js';
import type { FaultState } from '../../local/types.js';
import type { ClientFactory, RetrySettings } from '../../src/lib/clients/ClientFactory.js';

/**
 * The storage half of the local stack (Azurite behind the storage front), for tests that need
 * blobs and queues but no PostgreSQL or control plane. Account and container names are those of
 * `DEFAULT_NAMES` in local/stack.ts, so a test reads the same as on the full stack.
 */
export interface StorageFixture {
  clients: ClientFactory;
  faults: FaultState;
  names: {
    primaryStorageAccount: string;
    drStorageAccount: string;
    appStorageAccount: string;
    container: string;
    engineWorkDirectory: string;
  };
  /** Account SAS (read, list) of the primary, as the stack stores it in Key Vault. */
  sourceSas: string;
  /** Shared key of an account, for tests that sign their own SAS. */
  accountKey(account: string): string;
  stop(): Promise<void>;
}

export interface StorageFixtureOptions {
  retry?: Partial<RetrySettings>;
}

export async function startStorageFixture(options: StorageFixtureOptions = {}): Promise<StorageFixture> {
  const stackNames = DEFAULT_NAMES;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-storage-'));
  try {
    const storage = await startStorageStack({
      dir,
      names: stackNames,
      retry: options.retry ?? { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
    });
    return {
      clients: storage.clients,
      faults: storage.faults,
      names: {
        primaryStorageAccount: stackNames.primaryStorageAccount,
        drStorageAccount: stackNames.drStorageAccount,
        appStorageAccount: stackNames.appStorageAccount,
        container: stackNames.container,
        engineWorkDirectory: stackNames.engineWorkDirectory,
      },
      sourceSas: storage.sourceSas(24 * 3600_000),
      accountKey: storage.accountKey,
      stop: async () => {
        await storage.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** What `seedKyvosData` wrote: every blob name under the work directory, and the special ones. */
export interface KyvosSeed {
  /** All blobs under `workDirectory` (the stub of `workDirectory` itself included). */
  names: string[];
  directoryStubs: string[];
  emptyDirectory: string;
  largeBlob: string;
  gzipBlob: string;
  /** A blob committed from blocks: it has no Content-MD5. */
  blobWithoutMd5: string;
  /** Blobs outside the work directory that a prefix copy must leave alone. */
  outside: string[];
}

export interface SeedKyvosDataOptions {
  workDirectory?: string;
  /** Small files, spread over cube directories. Default 300. */
  smallFiles?: number;
  /** Size of the one large blob. Default 200 KiB. */
  largeBlobBytes?: number;
}

/**
 * Writes Kyvos-like data to the primary container through the primary endpoint: nested directories
 * with `hdi_isfolder` stubs (one empty), many small files with content types and metadata, a
 * gzip-encoded file, a blob without Content-MD5, one large blob, names that need URL encoding, a
 * file that sorts differently in flat and hierarchical listings (`cube0.json` next to `cube0/`),
 * and siblings outside the work directory (`…/engine_work2`).
 */
export async function seedKyvosData(
  fixture: StorageFixture,
  options: SeedKyvosDataOptions = {},
): Promise<KyvosSeed> {
  const work = options.workDirectory ?? fixture.names.engineWorkDirectory;
  const container = fixture.clients
    .blobService(fixture.names.primaryStorageAccount)
    .getContainerClient(fixture.names.container);
  await container.createIfNotExists();
  const names: string[] = [];
  const stubs: string[] = [];
  const writes: Array<() => Promise<unknown>> = [];
  // Stubs go first, parents before children: in a hierarchical namespace a write makes its missing
  // parent directories, and a stub cannot be put over a directory that exists.
  const stubWrites: Array<() => Promise<unknown>> = [];
  const stub = (name: string, track = true) => {
    if (track) {
      names.push(name);
      stubs.push(name);
    }
    stubWrites.push(() =>
      container.getBlockBlobClient(name).upload('', 0, { metadata: { hdi_isfolder: 'true' } }),
    );
  };
  const file = (
    name: string,
    body: Buffer,
    headers: { blobContentType?: string; blobContentEncoding?: string } = {},
    metadata?: Record<string, string>,
    track = true,
  ) => {
    if (track) names.push(name);
    writes.push(() =>
      container
        .getBlockBlobClient(name)
        .upload(body, body.length, { blobHTTPHeaders: headers, ...(metadata ? { metadata } : {}) }),
    );
  };
  const parent = work.split('/').slice(0, -1).join('/');
  if (parent) stub(parent, false);
  stub(work);
  stub(`${work}/cubes`);
  const cubes = 6;
  for (let c = 0; c < cubes; c++) stub(`${work}/cubes/cube${c}`);
  const smallFiles = options.smallFiles ?? 300;
  for (let i = 0; i < smallFiles; i++) {
    const cube = i % cubes;
    const size = 512 + ((i * 997) % 3584);
    const body = Buffer.alloc(size, `cube${cube}-part${i}-`);
    file(
      `${work}/cubes/cube${cube}/part-${String(i).padStart(5, '0')}.parquet`,
      body,
      { blobContentType: 'application/octet-stream' },
      i % 3 === 0 ? { cube: `cube${cube}`, kyvosversion: '2024.1' } : undefined,
    );
  }
  file(`${work}/cubes/cube0.json`, Buffer.from('{"cube":"cube0"}'), { blobContentType: 'application/json' });
  const emptyDirectory = `${work}/empty`;
  stub(emptyDirectory);
  stub(`${work}/meta`);
  const gzipBlob = `${work}/meta/model.json.gz`;
  file(gzipBlob, gzipSync(Buffer.from(JSON.stringify({ model: 'm'.repeat(2000) }))), {
    blobContentType: 'application/json',
    blobContentEncoding: 'gzip',
  });
  stub(`${work}/big`);
  const largeBlob = `${work}/big/large.bin`;
  file(largeBlob, Buffer.alloc(options.largeBlobBytes ?? 200 * 1024, 'L'), {
    blobContentType: 'application/octet-stream',
  });
  stub(`${work}/names`);
  file(`${work}/names/a file with spaces & #hash?.txt`, Buffer.from('spaces'), {
    blobContentType: 'text/plain',
  });
  file(`${work}/names/ümlaut-ß-日本.txt`, Buffer.from('unicode'), {
    blobContentType: 'text/plain; charset=utf-8',
  });
  const outside = [`${work}2`, `${work}2/x.txt`, `${parent ? `${parent}/` : ''}other/readme.txt`];
  stub(outside[0] as string, false);
  file(outside[1] as string, Buffer.from('sibling'), {}, undefined, false);
  file(outside[2] as string, Buffer.from('other'), {}, undefined, false);

  for (const write of stubWrites) await write();
  const limit = pLimit(32);
  await Promise.all(writes.map((write) => limit(write)));

  // Committed from blocks, so the service computes no Content-MD5 for it.
  const blobWithoutMd5 = `${work}/meta/blocks.bin`;
  const blocks = container.getBlockBlobClient(blobWithoutMd5);
  const blockId = Buffer.from('block-000').toString('base64');
  await blocks.stageBlock(blockId, Buffer.from('staged content'), 14);
  await blocks.commitBlockList([blockId], {
    blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
  });
  names.push(blobWithoutMd5);

  return {
    names: names.sort(),
    directoryStubs: stubs.sort(),
    emptyDirectory,
    largeBlob,
    gzipBlob,
    blobWithoutMd5,
    outside,
  };
}
