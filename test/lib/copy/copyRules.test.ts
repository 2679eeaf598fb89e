import { RestError } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { type ListedBlob, normalizePrefix } from '../../../src/lib/copy/blobListing.js';
import { isAlreadyCopied } from '../../../src/lib/copy/copyPartition.js';
import { compareBlobNames } from '../../../src/lib/copy/listingOrder.js';
import { manifestFor, manifestOf } from '../../../src/lib/copy/partitionManifest.js';
import { decodePartitionMessage, encodePartitionMessage } from '../../../src/lib/copy/partitionMessage.js';
import { backoffDelayInMs, RetriesExhausted, withRetries } from '../../../src/lib/copy/retry.js';
import { normalizeSourceSas } from '../../../src/lib/copy/sourceAccess.js';
import {
  describeStorageError,
  isTransientStorageError,
  safeStorageError,
} from '../../../src/lib/copy/storageErrors.js';
import { mismatchOf } from '../../../src/lib/copy/verifyCopy.js';
import { ConfigError, InputError } from '../../../src/lib/errors.js';

const restError = (statusCode: number | undefined, code?: string, details?: unknown) => {
  const error = new RestError('The service said no.', {
    ...(statusCode ? { statusCode } : {}),
    ...(code ? { code } : {}),
  });
  if (details) error.details = details;
  return error;
};

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

describe('transient errors', () => {
  it.each([
    [restError(429), true],
    [restError(500, 'InternalError'), true],
    [restError(503, 'ServerBusy'), true],
    [restError(500, 'OperationTimedOut'), true],
    [restError(undefined, 'ECONNRESET'), true],
    [restError(undefined, 'ETIMEDOUT'), true],
    [restError(undefined, 'REQUEST_SEND_ERROR'), true],
    [restError(503, 'CannotVerifyCopySource', { copySourceStatusCode: 503 }), true],
    [restError(500, 'CannotVerifyCopySource', { copySourceStatusCode: 429 }), true],
    [restError(404, 'CannotVerifyCopySource', { copySourceStatusCode: 404 }), false],
    [restError(404, 'CannotVerifyCopySource'), false],
    [restError(403, 'AuthorizationPermissionMismatch'), false],
    [restError(409, 'PendingCopyOperation'), false],
    [new Error('plain'), false],
  ])('%s → %s', (error, transient) => {
    expect(isTransientStorageError(error)).toBe(transient);
  });

  it('never treats an abort the caller asked for as transient', () => {
    const controller = new AbortController();
    controller.abort();
    expect(isTransientStorageError(restError(503), controller.signal)).toBe(false);
    expect(isTransientStorageError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(true);
  });

  it('describes an error on one redacted line, without the request', () => {
    const error = restError(403, 'AuthenticationFailed');
    error.message =
      'Signature did not match. https://a-secondary.blob.core.windows.net/c/b?sv=1&sig=SECRET%3D\nRequestId:1';
    expect(describeStorageError(error)).toBe(
      '403 AuthenticationFailed: Signature did not match. https://a-secondary.blob.core.windows.net/c/b?sv=1&sig=REDACTED',
    );
    const safe = safeStorageError(error);
    expect(safe).toMatchObject({ statusCode: 403, code: 'AuthenticationFailed' });
    expect(JSON.stringify({ ...safe, message: safe.message })).not.toContain('SECRET');
  });
});

describe('retries', () => {
  it('retries transient errors with growing, jittered backoff, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const { value, attempts } = await withRetries(
      async () => {
        calls += 1;
        if (calls < 3) throw restError(503, 'ServerBusy');
        return 'copied';
      },
      { baseDelayInMs: 4, maxDelayInMs: 100, random: () => 0.999, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect({ value, attempts, delays }).toEqual({ value: 'copied', attempts: 3, delays: [3, 7] });
  });

  it('gives up at once on an error that is not transient', async () => {
    const failure = withRetries(() => Promise.reject(restError(403)), { maxAttempts: 5 });
    await expect(failure).rejects.toBeInstanceOf(RetriesExhausted);
    await expect(failure).rejects.toMatchObject({ attempts: 1, lastError: { statusCode: 403 } });
  });

  it('gives up after maxAttempts tries of a transient error', async () => {
    let calls = 0;
    const failure = withRetries(
      () => {
        calls += 1;
        return Promise.reject(restError(503));
      },
      { maxAttempts: 3, baseDelayInMs: 1 },
    );
    await expect(failure).rejects.toMatchObject({ attempts: 3 });
    expect(calls).toBe(3);
  });

  it('caps the backoff', () => {
    expect(backoffDelayInMs(30, 250, 15_000, () => 0.5)).toBe(7_500);
    expect(backoffDelayInMs(1, 250, 15_000, () => 0)).toBe(0);
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
