import { describe, expect, it } from 'vitest';
import {
  type DirectoryStubTarget,
  nextDirectoryStubStep,
  withoutFolderFlag,
  writeDirectoryStub,
} from '../../../src/lib/copy/directoryStub.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';

const serviceError = (statusCode: number, code: string) =>
  Object.assign(new Error(code), { statusCode, code });

const sourceStub: ListedBlob = {
  name: 'cubes/cube0',
  contentLength: 0,
  contentType: 'application/x-directory',
  metadata: { hdi_isfolder: 'true', kyvoscube: 'cube0' },
  isDirectoryStub: true,
};

/**
 * One destination path of a hierarchical namespace, as Azure behaves: `hdi_isfolder` is refused on a
 * path that exists (`400 UnsupportedHeader`), a directory with children cannot be deleted
 * (`409 DirectoryIsNotEmpty`), and metadata set on a directory leaves it a directory.
 */
class HnsPath implements DirectoryStubTarget {
  entry: { metadata: Record<string, string>; contentType?: string } | undefined;
  children = 0;
  calls: string[] = [];
  /** Runs just before a create reaches the service: a concurrent copy writes a child. */
  beforeCreate: (() => void) | undefined;

  /** A blob written under the path: makes the directory when it is missing. */
  writeChild(): void {
    this.children += 1;
    this.entry ??= { metadata: { hdi_isfolder: 'true' } };
  }

  async lookUp(): Promise<ListedBlob | undefined> {
    this.calls.push('lookUp');
    if (!this.entry) return undefined;
    return {
      name: sourceStub.name,
      contentLength: 0,
      metadata: this.entry.metadata,
      isDirectoryStub: true,
      ...(this.entry.contentType ? { contentType: this.entry.contentType } : {}),
    };
  }

  async create(metadata: Record<string, string>, headers: { blobContentType?: string }): Promise<void> {
    this.calls.push('create');
    this.beforeCreate?.();
    this.beforeCreate = undefined;
    if (this.entry) throw serviceError(400, 'UnsupportedHeader');
    this.entry = { metadata, ...(headers.blobContentType ? { contentType: headers.blobContentType } : {}) };
  }

  async delete(): Promise<void> {
    this.calls.push('delete');
    if (!this.entry) throw serviceError(404, 'BlobNotFound');
    if (this.children > 0) throw serviceError(409, 'DirectoryIsNotEmpty');
    this.entry = undefined;
  }

  async setProperties(
    metadata: Record<string, string>,
    headers: { blobContentType?: string },
  ): Promise<void> {
    this.calls.push('setProperties');
    if (Object.keys(metadata).some((k) => k.toLowerCase() === 'hdi_isfolder')) {
      throw serviceError(400, 'UnsupportedHeader');
    }
    this.entry = {
      metadata: { ...metadata, hdi_isfolder: 'true' },
      ...(headers.blobContentType ? { contentType: headers.blobContentType } : {}),
    };
  }
}

const signal = new AbortController().signal;

describe('directory stubs, as AzCopy writes them', () => {
  it('creates a directory that does not exist', () => {
    expect(nextDirectoryStubStep(undefined, false)).toBe('create');
  });

  it('deletes whatever exists first, to write the stub with the source properties', () => {
    expect(nextDirectoryStubStep(sourceStub, false)).toBe('delete');
  });

  it('sets the properties of a directory that has children instead of replacing it', () => {
    expect(nextDirectoryStubStep(sourceStub, true)).toBe('set-properties');
  });

  it('never sets hdi_isfolder on a path that exists, in any letter case', () => {
    expect(withoutFolderFlag({ hdi_isfolder: 'true', Hdi_IsFolder: 'true', kyvoscube: 'cube0' })).toEqual({
      kyvoscube: 'cube0',
    });
  });

  it('creates a missing directory with the flag, the metadata and the headers', async () => {
    const path = new HnsPath();
    await writeDirectoryStub(path, sourceStub, signal);
    expect(path.calls).toEqual(['lookUp', 'create']);
    expect(path.entry).toEqual({ metadata: sourceStub.metadata, contentType: 'application/x-directory' });
  });

  it('gives a directory its children already made the source metadata, without putting a stub over it', async () => {
    const path = new HnsPath();
    path.writeChild();
    await writeDirectoryStub(path, sourceStub, signal);
    expect(path.calls).toEqual(['lookUp', 'delete', 'lookUp', 'setProperties']);
    expect(path.entry).toEqual({
      metadata: { kyvoscube: 'cube0', hdi_isfolder: 'true' },
      contentType: 'application/x-directory',
    });
  });

  it('tolerates a child that makes the directory between the lookup and the create', async () => {
    const path = new HnsPath();
    path.beforeCreate = () => path.writeChild();
    await writeDirectoryStub(path, sourceStub, signal);
    expect(path.calls).toEqual(['lookUp', 'create', 'lookUp', 'delete', 'lookUp', 'setProperties']);
    expect(path.entry?.metadata).toEqual({ kyvoscube: 'cube0', hdi_isfolder: 'true' });
  });

  it('replaces an empty directory, as AzCopy replaces an existing stub', async () => {
    const path = new HnsPath();
    path.entry = { metadata: { hdi_isfolder: 'true', stale: 'yes' } };
    await writeDirectoryStub(path, sourceStub, signal);
    expect(path.calls).toEqual(['lookUp', 'delete', 'lookUp', 'create']);
    expect(path.entry?.metadata).toEqual(sourceStub.metadata);
  });

  it('fails with the service error when the create is refused for another reason', async () => {
    const path = new HnsPath();
    path.create = async () => {
      throw serviceError(403, 'AuthorizationPermissionMismatch');
    };
    await expect(writeDirectoryStub(path, sourceStub, signal)).rejects.toMatchObject({ statusCode: 403 });
  });
});
