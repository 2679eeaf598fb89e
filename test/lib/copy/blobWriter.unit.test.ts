import { describe, expect, it } from 'vitest';
import {
  type BlobCopyTarget,
  type CopyInProgress,
  type DestinationBlob,
  isAtDestination,
  MAX_COPY_SOURCE_URL_LENGTH,
  writeBlob,
} from '../../../src/lib/copy/blobWriter.js';
import type { DirectoryStubTarget } from '../../../src/lib/copy/directoryStub.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { CopyEnded, isRetriableCopyFailure } from '../../../src/lib/copy/retry.js';

const serviceError = (statusCode: number, code: string) =>
  Object.assign(new Error(code), { statusCode, code });

const file = (overrides: Partial<ListedBlob> = {}): ListedBlob => ({
  name: 'engine/work/a.parquet',
  contentLength: 100,
  contentMD5: 'q1bZ0n9e3x6Q0x3GgQ4H1A==',
  metadata: {},
  isDirectoryStub: false,
  ...overrides,
});

const THRESHOLD = 1_000;
const SHORT_URL = 'https://src-secondary.blob.example/c/engine/work/a.parquet?sig=x';

/**
 * One destination blob, as the Blob service answers the calls the writer makes: an asynchronous
 * copy is `pending` for `pollsUntilDone` polls and then ends with `endsWith`; a copy still pending
 * from an earlier attempt refuses a new one (409 PendingCopyOperation) until it is aborted.
 */
class FakeDestination implements BlobCopyTarget {
  sourceUrl = SHORT_URL;
  stored: DestinationBlob | undefined;
  calls: string[] = [];
  syncAnswers: string | undefined = 'success';
  pollsUntilDone = 2;
  endsWith = 'success';
  pendingCopyId: string | undefined;
  headFails: Error | undefined;

  async head(): Promise<DestinationBlob> {
    this.calls.push('head');
    if (this.headFails) throw this.headFails;
    if (this.pendingCopyId) return { ...file(), copyStatus: 'pending', copyId: this.pendingCopyId };
    if (!this.stored) throw serviceError(404, 'BlobNotFound');
    return this.stored;
  }

  async syncCopy(): Promise<string | undefined> {
    this.calls.push('syncCopy');
    this.stored = { ...file(), copyStatus: this.syncAnswers };
    return this.syncAnswers;
  }

  async beginCopy(): Promise<CopyInProgress> {
    this.calls.push('beginCopy');
    if (this.pendingCopyId) throw serviceError(409, 'PendingCopyOperation');
    let polls = 0;
    return {
      isDone: () => polls >= this.pollsUntilDone,
      poll: async () => {
        this.calls.push('poll');
        polls += 1;
      },
      copyStatus: () => this.endsWith,
    };
  }

  async abortCopy(copyId: string): Promise<void> {
    this.calls.push(`abortCopy ${copyId}`);
    if (copyId === this.pendingCopyId) this.pendingCopyId = undefined;
  }

  async streamCopy(): Promise<void> {
    this.calls.push('streamCopy');
  }

  readonly directoryStub: DirectoryStubTarget = {
    lookUp: async () => {
      this.calls.push('stub lookUp');
      return undefined;
    },
    create: async () => {
      this.calls.push('stub create');
    },
    delete: async () => {
      this.calls.push('stub delete');
    },
    setProperties: async () => {
      this.calls.push('stub setProperties');
    },
  };
}

const write = (target: FakeDestination, blob: ListedBlob, abortSignal = new AbortController().signal) =>
  writeBlob(target, blob, { largeBlobThresholdInBytes: THRESHOLD, copyPollIntervalInMs: 0, abortSignal });

describe('writing one blob', () => {
  it('copies a block blob up to the threshold with one Copy Blob From URL', async () => {
    const target = new FakeDestination();
    expect(await write(target, file())).toBe('sync');
    expect(target.calls).toEqual(['syncCopy']);
  });

  it('fails a Copy Blob From URL that answered a status other than success, so that it is copied again', async () => {
    const target = new FakeDestination();
    target.syncAnswers = 'failed';
    const error = await write(target, file()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyEnded);
    expect(isRetriableCopyFailure(error)).toBe(true);
  });

  it('copies a larger blob with the asynchronous Copy Blob, polled until it ends', async () => {
    const target = new FakeDestination();
    expect(await write(target, file({ contentLength: THRESHOLD + 1 }))).toBe('async');
    expect(target.calls).toEqual(['beginCopy', 'poll', 'poll']);
  });

  it('copies page and append blobs asynchronously whatever their size', async () => {
    const target = new FakeDestination();
    expect(await write(target, file({ blobType: 'PageBlob', contentLength: 512 }))).toBe('async');
  });

  it('fails an asynchronous copy that ended failed or aborted, so that it is copied again', async () => {
    for (const status of ['failed', 'aborted']) {
      const target = new FakeDestination();
      target.endsWith = status;
      const error = await write(target, file({ contentLength: THRESHOLD + 1 })).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'CopyEnded', copyStatus: status });
      expect(isRetriableCopyFailure(error)).toBe(true);
    }
  });

  it('aborts a copy left pending by a crashed attempt, then copies', async () => {
    const target = new FakeDestination();
    target.pendingCopyId = 'copy-1';
    expect(await write(target, file({ contentLength: THRESHOLD + 1 }))).toBe('async');
    expect(target.calls).toEqual(['beginCopy', 'head', 'abortCopy copy-1', 'beginCopy', 'poll', 'poll']);
  });

  it('stops polling when aborted', async () => {
    const target = new FakeDestination();
    target.pollsUntilDone = 100;
    const controller = new AbortController();
    const poll = target.beginCopy.bind(target);
    target.beginCopy = async () => {
      const copy = await poll();
      return {
        ...copy,
        poll: async () => {
          await copy.poll(controller.signal);
          if (target.calls.filter((c) => c === 'poll').length === 3) controller.abort(new Error('stop'));
        },
      };
    };
    await expect(write(target, file({ contentLength: THRESHOLD + 1 }), controller.signal)).rejects.toThrow();
    expect(target.calls.filter((c) => c === 'poll')).toHaveLength(3);
  });

  it('reads and writes through the engine a block blob whose source URL is too long to copy', async () => {
    const target = new FakeDestination();
    target.sourceUrl = `${SHORT_URL}&${'x'.repeat(MAX_COPY_SOURCE_URL_LENGTH)}`;
    expect(await write(target, file())).toBe('stream');
    expect(target.calls).toEqual(['streamCopy']);
  });

  it('recreates a directory stub as a directory, never copying it', async () => {
    const target = new FakeDestination();
    const stub = file({ contentLength: 0, metadata: { hdi_isfolder: 'true' }, isDirectoryStub: true });
    expect(await write(target, stub)).toBe('directory-stub');
    expect(target.calls).toEqual(['stub lookUp', 'stub create']);
  });
});

describe('the already-there check on resume', () => {
  const since = new Date('2026-12-01T10:00:00Z');
  const signal = new AbortController().signal;

  it('finds an identical blob, and not a missing one or one still being copied', async () => {
    const target = new FakeDestination();
    expect(await isAtDestination(target, file(), since, signal)).toBe(false);
    target.stored = { ...file(), copyStatus: 'success' };
    expect(await isAtDestination(target, file(), since, signal)).toBe(true);
    target.pendingCopyId = 'copy-1';
    expect(await isAtDestination(target, file(), since, signal)).toBe(false);
  });

  it('copies again when the lookup fails, since an overwrite is always safe', async () => {
    const target = new FakeDestination();
    target.stored = { ...file(), copyStatus: 'success' };
    target.headFails = serviceError(500, 'InternalError');
    expect(await isAtDestination(target, file(), since, signal)).toBe(false);
  });

  it('rejects with the reason of an abort instead of answering', async () => {
    const target = new FakeDestination();
    const controller = new AbortController();
    const reason = new Error('stop');
    target.headFails = serviceError(500, 'InternalError');
    controller.abort(reason);
    await expect(isAtDestination(target, file(), since, controller.signal)).rejects.toBe(reason);
  });
});
