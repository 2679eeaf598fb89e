import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAcl } from '../../src/lib/copy/accessControl.js';
import { statusOf } from '../../src/lib/errors.js';
import { type StorageFixture, startStorageFixture } from '../helpers/storageFixture.js';

const FOLDER = { hdi_isfolder: 'true' };

/** The storage front gives the stack's HNS accounts (kyvosprimdata, kyvosdrdata) ADLS Gen2 semantics. */
describe('a hierarchical namespace on the storage front', () => {
  let fixture: StorageFixture;
  const container = () =>
    fixture.clients.blobService(fixture.names.drStorageAccount).getContainerClient('hns');
  beforeAll(async () => {
    fixture = await startStorageFixture();
    await container().createIfNotExists();
    await fixture.clients
      .blobService(fixture.names.appStorageAccount)
      .getContainerClient('flat')
      .createIfNotExists();
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  const listed = async (prefix: string) => {
    const out = new Map<string, { contentLength: number; metadata: Record<string, string> }>();
    for await (const blob of container().listBlobsFlat({ prefix, includeMetadata: true })) {
      out.set(blob.name, {
        contentLength: blob.properties.contentLength ?? 0,
        metadata: (blob.metadata ?? {}) as Record<string, string>,
      });
    }
    return out;
  };

  it('makes the missing parent directories of a written blob, listed as directories', async () => {
    await container().getBlockBlobClient('implicit/a/b/file.txt').upload('x', 1);

    const blobs = await listed('implicit');
    expect([...blobs.keys()]).toEqual(['implicit', 'implicit/a', 'implicit/a/b', 'implicit/a/b/file.txt']);
    for (const directory of ['implicit', 'implicit/a', 'implicit/a/b']) {
      expect(blobs.get(directory)).toEqual({ contentLength: 0, metadata: FOLDER });
    }
  });

  it('makes the parents of a copied blob too', async () => {
    const source = container().getBlockBlobClient('copy-source.txt');
    await source.upload('copied', 6);
    const target = container().getBlockBlobClient('copied/into/place.txt');
    await target.syncCopyFromURL(source.url);

    expect([...(await listed('copied')).keys()]).toEqual(['copied', 'copied/into', 'copied/into/place.txt']);
  });

  it('refuses a directory stub put over a directory that exists, and accepts one on a new path', async () => {
    await container().getBlockBlobClient('stubs/child/file.txt').upload('x', 1);

    const error = await container()
      .getBlockBlobClient('stubs/child')
      .upload('', 0, { metadata: FOLDER })
      .catch((e: unknown) => e);
    expect(statusOf(error)).toBe(400);
    expect((error as { code?: string }).code).toBe('UnsupportedHeader');

    await container().getBlockBlobClient('stubs/new-empty').upload('', 0, { metadata: FOLDER });
    expect((await listed('stubs/new-empty')).get('stubs/new-empty')).toEqual({
      contentLength: 0,
      metadata: FOLDER,
    });
  });

  it('refuses hdi_isfolder in Set Blob Metadata, and keeps a directory a directory when metadata is set', async () => {
    await container().getBlockBlobClient('meta/child/file.txt').upload('x', 1);
    const directory = container().getBlobClient('meta/child');

    const error = await directory.setMetadata({ ...FOLDER, owner: 'kyvos' }).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(400);
    expect((error as { code?: string }).code).toBe('UnsupportedHeader');

    await directory.setMetadata({ owner: 'kyvos' });
    expect((await directory.getProperties()).metadata).toEqual({ ...FOLDER, owner: 'kyvos' });
  });

  it('refuses to delete a directory that has children through the Blob API', async () => {
    await container().getBlockBlobClient('delete/child/file.txt').upload('x', 1);

    const error = await container()
      .getBlobClient('delete/child')
      .delete()
      .catch((e: unknown) => e);
    expect(statusOf(error)).toBe(409);
    expect((error as { code?: string }).code).toBe('DirectoryIsNotEmpty');

    await container().getBlobClient('delete/child/file.txt').delete();
    await container().getBlobClient('delete/child').delete();
    expect([...(await listed('delete')).keys()]).toEqual(['delete']);
  });

  it('leaves an account without a hierarchical namespace flat', async () => {
    const flat = fixture.clients.blobService(fixture.names.appStorageAccount).getContainerClient('flat');
    await flat.getBlockBlobClient('x/y/z.txt').upload('x', 1);
    const names: string[] = [];
    for await (const blob of flat.listBlobsFlat()) names.push(blob.name);
    expect(names).toEqual(['x/y/z.txt']);
  });

  it('serves access control through the Data Lake endpoint, read-only on the secondary', async () => {
    const primary = fixture.names.primaryStorageAccount;
    const source = fixture.clients.blobService(primary).getContainerClient('acl');
    await source.createIfNotExists();
    await source.getBlockBlobClient('dir/file.txt').upload('x', 1);
    const path = fixture.clients
      .dataLakeService(primary)
      .getFileSystemClient('acl')
      .getFileClient('dir/file.txt');

    // A path nobody set: $superuser and the mode of the umask 027.
    const initial = await path.getAccessControl();
    expect(initial.owner).toBe('$superuser');
    expect(initial.group).toBe('$superuser');
    expect(initial.permissions?.owner).toEqual({ read: true, write: true, execute: false });

    await path.setAccessControl(parseAcl('user::rw-,user:a1b2:r--,group::r--,mask::r--,other::---'), {
      owner: 'owner-oid',
      group: 'group-oid',
    });

    // Read back through the RA-GRS secondary's Data Lake endpoint with the source SAS.
    const secondary = fixture.clients
      .dataLakeService(primary, { secondary: true, sas: fixture.sourceSas })
      .getFileSystemClient('acl')
      .getFileClient('dir/file.txt');
    const read = await secondary.getAccessControl();
    expect(read.owner).toBe('owner-oid');
    expect(read.group).toBe('group-oid');
    expect(read.permissions?.extendedAcls).toBe(true);
    expect(read.acl.map((e) => `${e.accessControlType}:${e.entityId}`)).toEqual([
      'user:',
      'user:a1b2',
      'group:',
      'mask:',
      'other:',
    ]);

    const refused = await secondary.setAccessControl(read.acl).catch((e: unknown) => e);
    expect(statusOf(refused)).toBe(403);

    const missing = await fixture.clients
      .dataLakeService(primary)
      .getFileSystemClient('acl')
      .getFileClient('dir/nothing.txt')
      .getAccessControl()
      .catch((e: unknown) => e);
    expect(statusOf(missing)).toBe(404);
  });
});
