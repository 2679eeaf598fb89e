import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { BlobCheckpointStore } from '../../../src/lib/copy/BlobCheckpointStore.js';
import { type CopyOptions, copyPartition } from '../../../src/lib/copy/copyPartition.js';
import { planPartitions } from '../../../src/lib/copy/planPartitions.js';
import type { CopyDeps } from '../../../src/lib/copy/types.js';
import { createLogger } from '../../../src/lib/log.js';
import { type StorageFixture, startStorageFixture } from '../../helpers/storageFixture.js';

const FAST: CopyOptions = {
  copyPollIntervalInMs: 20,
  retryBaseDelayInMs: 10,
  retryMaxDelayInMs: 50,
  maxAttempts: 2,
};

let fixture: StorageFixture;
const logLines: string[] = [];
const logger = createLogger((_level, line) => logLines.push(line));

beforeAll(async () => {
  fixture = await startStorageFixture();
});

afterAll(async () => {
  await fixture?.stop();
});

/** A source container on the primary (HNS) account and a destination on the DR (HNS) account. */
async function containers(name: string): Promise<{ source: ContainerClient; destination: ContainerClient }> {
  const source = fixture.clients.blobService(fixture.names.primaryStorageAccount).getContainerClient(name);
  const destination = fixture.clients.blobService(fixture.names.drStorageAccount).getContainerClient(name);
  await source.createIfNotExists();
  await destination.createIfNotExists();
  return { source, destination };
}

function depsFor(container: string, extra: Partial<CopyDeps> = {}): CopyDeps {
  const checkpoints = fixture.clients
    .blobService(fixture.names.appStorageAccount)
    .getContainerClient('kyvos-dr');
  return {
    clients: fixture.clients,
    source: {
      account: fixture.names.primaryStorageAccount,
      container,
      prefix: '',
      sas: new Sensitive(fixture.sourceSas),
    },
    destination: { account: fixture.names.drStorageAccount, container },
    checkpoints: new BlobCheckpointStore(checkpoints),
    logger,
    ...extra,
  };
}

async function copyAll(deps: CopyDeps, runId: string, options: CopyOptions = {}) {
  await fixture.clients
    .blobService(fixture.names.appStorageAccount)
    .getContainerClient('kyvos-dr')
    .createIfNotExists();
  const results = [];
  for await (const planned of planPartitions(deps, runId, { pageSize: 100 })) {
    results.push(await copyPartition(deps, planned.partition, { ...FAST, ...options }));
  }
  return results;
}

describe('a copy between hierarchical-namespace accounts', () => {
  it('gives a directory that a child already made at the destination the source metadata, without a stub over it', async () => {
    const { source, destination } = await containers('implicit-first');
    await source.getBlockBlobClient('cube').upload('', 0, {
      metadata: { hdi_isfolder: 'true', kyvoscube: 'cube0' },
      blobHTTPHeaders: { blobContentType: 'application/x-directory' },
    });
    await source.getBlockBlobClient('cube/part-0.parquet').upload('part', 4);
    // A copy call of another partition (or an earlier attempt) wrote the child first: the
    // destination's directory `cube` exists, made implicitly, with no metadata of the source.
    await destination.getBlockBlobClient('cube/part-0.parquet').upload('part', 4);

    const results = await copyAll(depsFor('implicit-first'), 'run-hns-implicit', { concurrency: 1 });

    expect(results.map((r) => [r.status, r.blobsFailed, r.failures])).toEqual([['done', 0, []]]);
    const directory = await destination.getBlobClient('cube').getProperties();
    expect(directory.metadata).toEqual({ hdi_isfolder: 'true', kyvoscube: 'cube0' });
    expect(directory.contentType).toBe('application/x-directory');
    expect(directory.contentLength).toBe(0);
  });
});
