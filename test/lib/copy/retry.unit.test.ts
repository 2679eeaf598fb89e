import { describe, expect, it } from 'vitest';
import {
  CopyEnded,
  isRetriableCopyFailure,
  RetriesExhausted,
  withRetries,
} from '../../../src/lib/copy/retry.js';
import { restError } from '../../helpers/restError.js';

describe('per-blob retries', () => {
  // Failed requests (sockets, 5xx, throttling) are the SDK pipeline's: retried once, there.
  it.each([
    {
      what: 'an asynchronous copy that ended failed',
      error: new CopyEnded('failed', 'The asynchronous Copy Blob'),
      retriable: true,
    },
    {
      what: 'an asynchronous copy that ended aborted',
      error: new CopyEnded('aborted', 'The asynchronous Copy Blob'),
      retriable: true,
    },
    {
      what: 'a source that answered the copy 503',
      error: restError(503, 'CannotVerifyCopySource', { copySourceStatusCode: 503 }),
      retriable: true,
    },
    {
      what: 'a source that throttled the copy',
      error: restError(500, 'CannotVerifyCopySource', { copySourceStatusCode: 429 }),
      retriable: true,
    },
    {
      what: 'a source deleted after listing',
      error: restError(404, 'CannotVerifyCopySource', { copySourceStatusCode: 404 }),
      retriable: false,
    },
    {
      what: 'a source missing, status only',
      error: restError(404, 'CannotVerifyCopySource'),
      retriable: false,
    },
    { what: 'throttling of the request (the pipeline’s)', error: restError(429), retriable: false },
    { what: 'a busy service (the pipeline’s)', error: restError(503, 'ServerBusy'), retriable: false },
    { what: 'a reset socket (the pipeline’s)', error: restError(undefined, 'ECONNRESET'), retriable: false },
    { what: 'a missing role', error: restError(403, 'AuthorizationPermissionMismatch'), retriable: false },
    {
      what: 'a copy pending from a crash (handled where the copy starts)',
      error: restError(409, 'PendingCopyOperation'),
      retriable: false,
    },
    { what: 'an error without a status', error: new Error('plain'), retriable: false },
  ])('$what → retried: $retriable', ({ error, retriable }) => {
    expect(isRetriableCopyFailure(error)).toBe(retriable);
  });

  it('never retries once the caller aborted', () => {
    const controller = new AbortController();
    controller.abort();
    expect(isRetriableCopyFailure(new CopyEnded('failed', 'Copy'), controller.signal)).toBe(false);
  });

  it('copies again after a copy that ended failed, with a growing backoff, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const { value, attempts } = await withRetries(
      async () => {
        calls += 1;
        if (calls < 3) throw new CopyEnded('failed', 'The asynchronous Copy Blob');
        return 'copied';
      },
      { baseDelayInMs: 4, maxDelayInMs: 100, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect({ value, attempts }).toEqual({ value: 'copied', attempts: 3 });
    // calculateRetryDelay of @azure/core-util: between half and all of base·2^(retry−1).
    expect(delays[0]).toBeGreaterThanOrEqual(2);
    expect(delays[0]).toBeLessThanOrEqual(4);
    expect(delays[1]).toBeGreaterThanOrEqual(4);
    expect(delays[1]).toBeLessThanOrEqual(8);
  });

  it('gives up at once on an error that is not retriable', async () => {
    const failure = withRetries(() => Promise.reject(restError(403)), { maxAttempts: 5 });
    await expect(failure).rejects.toBeInstanceOf(RetriesExhausted);
    await expect(failure).rejects.toMatchObject({ attempts: 1, lastError: { statusCode: 403 } });
  });

  it('gives up after maxAttempts tries of a retriable failure', async () => {
    let calls = 0;
    const failure = withRetries(
      () => {
        calls += 1;
        // Would succeed at the tenth try: three tries must have given up before.
        if (calls >= 10) return Promise.resolve('copied');
        return Promise.reject(new CopyEnded('aborted', 'The asynchronous Copy Blob'));
      },
      { maxAttempts: 3, baseDelayInMs: 1 },
    );
    await expect(failure).rejects.toMatchObject({ attempts: 3 });
    expect(calls).toBe(3);
  });
});
