import { describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { normalizePrefix } from '../../../src/lib/copy/blobListing.js';
import { isAlreadyCopied } from '../../../src/lib/copy/blobWriter.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { compareBlobNames } from '../../../src/lib/copy/listingOrder.js';
import { manifestFor, manifestOf } from '../../../src/lib/copy/partitionManifest.js';
import { decodePartitionMessage, encodePartitionMessage } from '../../../src/lib/copy/partitionMessage.js';
import { mismatchOf } from '../../../src/lib/copy/verifyCopy.js';
import { ConfigError, InputError } from '../../../src/lib/errors.js';
import { normalizeSourceSas } from '../../../src/lib/source/sourceCredential.js';

const blob = (overrides: Partial<ListedBlob> = {}): ListedBlob => ({
  name: 'kyvos/engine_work/a.parquet',
  contentLength: 100,
  contentMD5: 'XrY7u+Ae7tCTyyK7j1rNww==',
  metadata: {},
  isDirectoryStub: false,
  ...overrides,
});

describe('listing order', () => {
  // Listings of the same paths from a flat account and from an ADLS Gen2 account, as reported in
  // Azure/azure-sdk-for-go#24210.
  const flat = [
    'A',
    'A-B',
    'A-B-C',
    'A-B/dat2',
    'A-C',
    'A.C',
    'A.C/dat3',
    'A/dat1',
    'AB',
    'AB.txt',
    'AB/AB',
    'AB/dat4',
    'ABC',
  ];
  const hierarchical = [
    'A',
    'A/dat1',
    'A-B',
    'A-B/dat2',
    'A-B-C',
    'A-C',
    'A.C',
    'A.C/dat3',
    'AB',
    'AB/AB',
    'AB/dat4',
    'AB.txt',
    'ABC',
  ];

  it('sorts names as a flat account lists them', () => {
    expect([...hierarchical].sort((a, b) => compareBlobNames('lexicographic', a, b))).toEqual(flat);
  });

  it('sorts names as a hierarchical-namespace account lists them', () => {
    expect([...flat].sort((a, b) => compareBlobNames('hierarchical', a, b))).toEqual(hierarchical);
  });

  it('orders characters beyond the BMP by UTF-16 code unit, as the service lists them', () => {
    expect(compareBlobNames('lexicographic', 'x\u{1F600}', 'x\uFFFD')).toBeLessThan(0);
    expect(compareBlobNames('lexicographic', 'a', 'a')).toBe(0);
  });
});

describe('resume rule', () => {
  const since = new Date('2026-01-01T10:00:00Z');

  it('skips a destination blob with the same size and Content-MD5', () => {
    expect(isAlreadyCopied(blob(), blob({ lastModified: new Date(0) }), since)).toBe(true);
  });

  it('copies again when size or MD5 differ, or a copy is still pending', () => {
    expect(isAlreadyCopied(blob(), blob({ contentLength: 99 }), since)).toBe(false);
    expect(isAlreadyCopied(blob(), blob({ contentMD5: 'AAAAAAAAAAAAAAAAAAAAAA==' }), since)).toBe(false);
    expect(isAlreadyCopied(blob(), { ...blob(), copyStatus: 'pending' }, since)).toBe(false);
    expect(isAlreadyCopied(blob(), blob({ contentMD5: undefined }), since)).toBe(false);
  });

  it('without MD5 on either side, skips only what this run wrote', () => {
    const noMd5 = blob({ contentMD5: undefined });
    expect(isAlreadyCopied(noMd5, { ...noMd5, lastModified: new Date('2026-01-01T10:00:05Z') }, since)).toBe(
      true,
    );
    expect(isAlreadyCopied(noMd5, { ...noMd5, lastModified: new Date('2026-01-01T09:59:59Z') }, since)).toBe(
      false,
    );
  });

  it('does not take a plain blob for a directory stub', () => {
    const stub = blob({
      contentLength: 0,
      contentMD5: undefined,
      isDirectoryStub: true,
      lastModified: since,
    });
    expect(isAlreadyCopied(stub, { ...stub, isDirectoryStub: false }, since)).toBe(false);
    expect(isAlreadyCopied(stub, stub, since)).toBe(true);
  });
});

describe('verification rule', () => {
  it('names what differs', () => {
    expect(mismatchOf(blob(), blob())).toBeUndefined();
    expect(mismatchOf(blob(), blob({ contentLength: 1 }))).toBe(
      'size 100 bytes at the source, 1 at the destination',
    );
    expect(mismatchOf(blob(), blob({ contentMD5: undefined }))).toMatch(/none at the destination$/);
    expect(mismatchOf(blob({ contentMD5: undefined }), blob())).toBeUndefined();
    expect(mismatchOf(blob({ isDirectoryStub: true }), blob())).toMatch(/directory/);
  });
});

describe('partition messages', () => {
  it('round-trips through base64 and accepts plain JSON and the parsed object', () => {
    const partition = { runId: 'r1', index: 3, marker: '2!92!MDAwMDI1IWtleS0wMDAwMDUh', pageSize: 1000 };
    const encoded = encodePartitionMessage(partition);
    expect(encoded).not.toContain('{');
    expect(decodePartitionMessage(encoded)).toEqual(partition);
    expect(decodePartitionMessage(JSON.stringify(partition))).toEqual(partition);
    expect(decodePartitionMessage({ runId: 'r1', index: 0, pageSize: 10 })).toEqual({
      runId: 'r1',
      index: 0,
      pageSize: 10,
    });
  });

  it('refuses a message that is not a partition, naming the field', () => {
    expect(() => decodePartitionMessage('not a partition')).toThrow(InputError);
    expect(() => decodePartitionMessage({ runId: 'r1', index: -1, pageSize: 10 })).toThrow(/index/);
    expect(() => decodePartitionMessage({ index: 0, pageSize: 10 })).toThrow(/runId/);
    expect(() => decodePartitionMessage({ runId: 'r1', index: 0, pageSize: 10, manifest: 'yes' })).toThrow(
      /manifest/,
    );
  });

  it('carries the manifest flag', () => {
    const partition = { runId: 'r1', index: 2, pageSize: 10, manifest: true };
    expect(decodePartitionMessage(encodePartitionMessage(partition))).toEqual(partition);
    expect(decodePartitionMessage({ ...partition, manifest: false })).not.toHaveProperty('manifest');
  });
});

describe('partition manifests', () => {
  const blob: ListedBlob = {
    name: 'kyvos/engine_work/a.parquet',
    contentLength: 12,
    contentMD5: 'kAFQmDzST7DWlj99KOF/cg==',
    lastModified: new Date('2026-11-23T10:00:00.000Z'),
    metadata: { owner: 'kyvos' },
    isDirectoryStub: false,
  };

  it('round-trips the blobs of a page, dates included', () => {
    // As the checkpoint store keeps it: JSON in a document, read back with JSON.parse.
    const decoded = manifestOf(JSON.parse(JSON.stringify(manifestFor('r1', 4, [blob]))), 'm');
    expect(decoded).toEqual({ version: 1, runId: 'r1', partitionIndex: 4, blobs: [blob] });
    expect(decoded.blobs[0]?.lastModified).toBeInstanceOf(Date);
  });

  it('refuses a manifest that is not one, naming it and the position of a bad blob', () => {
    expect(() => manifestOf({ version: 2 }, 'm0')).toThrow(/m0 is not a version 1 manifest/);
    const bad = { version: 1, runId: 'r', partitionIndex: 0, blobs: [blob, { name: 3 }] };
    expect(() => manifestOf(bad, 'm1')).toThrow(/m1 has an invalid blob at position 1/);
  });
});

describe('source access', () => {
  it('takes the SAS with or without "?" and refuses an unsigned or expired one without echoing it', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(normalizeSourceSas(' ?sv=2022-11-02&se=2026-02-01T00%3A00%3A00Z&sp=rl&sig=abc%3D ', now)).toBe(
      'sv=2022-11-02&se=2026-02-01T00%3A00%3A00Z&sp=rl&sig=abc%3D',
    );
    expect(
      normalizeSourceSas(new Sensitive('https://a-secondary.blob.core.windows.net/c/?sp=rl&sig=abc%3D'), now),
    ).toBe('sp=rl&sig=abc%3D');
    expect(() => normalizeSourceSas('sv=2022-11-02&sp=rl', now)).toThrow(ConfigError);
    const expired = () => normalizeSourceSas('sv=1&se=2025-12-31T00%3A00%3A00Z&sig=SECRET', now);
    expect(expired).toThrow(/expired at 2025-12-31T00:00:00.000Z/);
    expect(expired).not.toThrow(/SECRET/);
  });

  it('reads a prefix as a directory', () => {
    expect(normalizePrefix('/kyvos/engine_work/')).toBe('kyvos/engine_work');
    expect(normalizePrefix('')).toBe('');
  });
});
