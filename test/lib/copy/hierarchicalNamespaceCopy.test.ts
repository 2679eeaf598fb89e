import {
  type ContainerClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import {
  applyAccessControl,
  parseAcl,
  readDestinationAccessControl,
} from '../../../src/lib/copy/accessControl.js';
import { BlobCheckpointStore } from '../../../src/lib/copy/BlobCheckpointStore.js';
import { type CopyOptions, copyPartition } from '../../../src/lib/copy/copyPartition.js';
import { planPartitions } from '../../../src/lib/copy/planPartitions.js';
import type { CopyDeps } from '../../../src/lib/copy/types.js';
import { verifyCopy } from '../../../src/lib/copy/verifyCopy.js';
import { createLogger } from '../../../src/lib/log.js';
import { SourceAccess } from '../../../src/lib/source/SourceAccess.js';
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
    source: new SourceAccess(
      fixture.clients,
      { account: fixture.names.primaryStorageAccount, container, prefix: '' },
      new Sensitive(fixture.sourceSas),
    ),
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

  /** A source with a directory and a file whose owner, group and ACLs were set through the Data Lake endpoint. */
  async function sourceWithAcls(name: string) {
    const { source, destination } = await containers(name);
    await source.getBlockBlobClient('cube').upload('', 0, { metadata: { hdi_isfolder: 'true' } });
    await source.getBlockBlobClient('cube/part-0.parquet').upload('part', 4);
    const lake = fixture.clients
      .dataLakeService(fixture.names.primaryStorageAccount)
      .getFileSystemClient(name);
    await lake
      .getDirectoryClient('cube')
      .setAccessControl(
        parseAcl(
          'user::rwx,user:0b1c2d3e:r-x,group::r-x,mask::r-x,other::---,default:user::rwx,default:other::---',
        ),
        { owner: 'kyvos-service-oid', group: 'kyvos-group-oid' },
      );
    await lake
      .getFileClient('cube/part-0.parquet')
      .setAccessControl(parseAcl('user::rw-,group::r--,other::---'), {
        owner: 'kyvos-service-oid',
        group: 'kyvos-group-oid',
      });
    return { source, destination };
  }

  it('carries owner, group and ACLs of every path, and verification proves them', async () => {
    await sourceWithAcls('acl-carried');
    const deps = depsFor('acl-carried', { accessControl: true });

    const results = await copyAll(deps, 'run-hns-acl');

    expect(results.map((r) => [r.status, r.calls.accessControl])).toEqual([['done', 2]]);
    const directory = await readDestinationAccessControl(deps, 'cube');
    expect(directory).toEqual({
      owner: 'kyvos-service-oid',
      group: 'kyvos-group-oid',
      acl: 'user::rwx,user:0b1c2d3e:r-x,group::r-x,mask::r-x,other::---,default:user::rwx,default:other::---',
    });
    expect((await readDestinationAccessControl(deps, 'cube/part-0.parquet')).owner).toBe('kyvos-service-oid');
    const verification = await verifyCopy(deps);
    expect(verification).toMatchObject({
      ok: true,
      matched: 2,
      mismatchedCount: 0,
      accessControlChecked: true,
    });
  });

  it('fails verification, naming the path and what differs, when the ACLs did not arrive', async () => {
    await sourceWithAcls('acl-missing');
    // The data copied through the Blob API only, as before access control was carried.
    await copyAll(depsFor('acl-missing'), 'run-hns-acl-missing');

    const verification = await verifyCopy(depsFor('acl-missing', { accessControl: true }));

    expect(verification.ok).toBe(false);
    expect(verification.mismatched.map((m) => m.name)).toEqual(['cube', 'cube/part-0.parquet']);
    expect(verification.mismatched[0]?.reason).toContain(
      'access control differs: owner kyvos-service-oid at the source, $superuser at the destination',
    );
  });

  it('fails verification when one ACL entry was changed at the destination after the copy', async () => {
    await sourceWithAcls('acl-changed');
    const deps = depsFor('acl-changed', { accessControl: true });
    await copyAll(deps, 'run-hns-acl-changed');
    await applyAccessControl(deps, 'cube/part-0.parquet', {
      owner: 'kyvos-service-oid',
      group: 'kyvos-group-oid',
      acl: 'user::rw-,group::r--,other::r--',
    });

    const verification = await verifyCopy(deps);

    expect(verification.mismatched).toEqual([
      {
        name: 'cube/part-0.parquet',
        reason:
          'access control differs: ACL user::rw-,group::r--,other::--- at the source, user::rw-,group::r--,other::r-- at the destination',
      },
    ]);
  });

  it('the proof of source access refuses a SAS that cannot read ACLs, before anything is copied', async () => {
    await sourceWithAcls('acl-sas');
    // A service SAS with read and list but no execute (e): it reads blobs, not their ACLs.
    const serviceSas = generateBlobSASQueryParameters(
      {
        containerName: 'acl-sas',
        permissions: ContainerSASPermissions.parse('rl'),
        expiresOn: new Date(Date.now() + 3600_000),
      },
      new StorageSharedKeyCredential(
        fixture.names.primaryStorageAccount,
        fixture.accountKey(fixture.names.primaryStorageAccount),
      ),
    ).toString();
    const withServiceSas = new SourceAccess(
      fixture.clients,
      { account: fixture.names.primaryStorageAccount, container: 'acl-sas', prefix: '' },
      new Sensitive(serviceSas),
    );

    const refused = await withServiceSas.prove({ accessControl: true }).catch((e: unknown) => e as Error);

    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toContain('Cannot read the access control of the source path');
    expect((refused as Error).message).toContain('execute (e)');
    expect((refused as Error).message).not.toContain('sig=');
    // Without access control the same SAS is enough.
    await expect(withServiceSas.prove({ accessControl: false })).resolves.toMatchObject({
      blobsListed: 2,
    });
  });

  it('no log line carries a SAS signature', () => {
    expect(logLines.join('\n')).not.toMatch(/sig=(?!REDACTED)/);
  });
});
