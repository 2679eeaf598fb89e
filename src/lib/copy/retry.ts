/**
 * The copy engine's own retries of one blob, for the failures that the SDK pipeline cannot retry.
 *
 * Every storage request already goes through the SDK's retry policy (set once in `ClientFactory`):
 * it retries socket errors, per-try timeouts, throttling and the service's 5xx, request by request.
 * Retrying those again here would multiply the requests per blob. What the pipeline cannot see is a
 * copy that failed although every request succeeded, so this layer owns only:
 * - an asynchronous Copy Blob that ended `failed` or `aborted` (Get Blob Properties answered 200
 *   with that copy status; a new copy may succeed), and a Copy Blob From URL that answered a copy
 *   status other than `success` (`CopyEnded`);
 * - a copy the destination refused because its fetch of the source failed transiently
 *   (`CannotVerifyCopySource` with the source's status 408, 429 or 5xx, from
 *   `x-ms-copy-source-status-code`): the source was busy or not answering, the destination is not.
 *
 * A copy still pending from a crashed attempt (409 `PendingCopyOperation`) is handled where the copy
 * starts, by aborting it (`blobWriter.ts`). Everything else (403 of a bad SAS or of network rules,
 * 404 of a source deleted after it was listed, 409, 412…) fails the same way again and is not retried.
 */
import { calculateRetryDelay, delay } from '@azure/core-util';
import { codeOf, copySourceStatusOf, statusOf } from '../errors.js';

/** Statuses of the source, seen through a copy, that are worth another copy. */
const TRANSIENT_SOURCE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** A copy whose requests succeeded but whose copy status is not `success`. */
export class CopyEnded extends Error {
  override readonly name = 'CopyEnded';
  constructor(
    readonly copyStatus: string,
    what: string,
  ) {
    super(`${what} ended with copy status "${copyStatus}"`);
  }
}

/**
 * Whether another copy of the blob may succeed where this one failed (see the module comment).
 * `callerSignal` is the caller's abort signal: an abort the caller asked for is never retried.
 */
export function isRetriableCopyFailure(error: unknown, callerSignal?: AbortSignal): boolean {
  if (callerSignal?.aborted) return false;
  if (error instanceof CopyEnded) return error.copyStatus === 'failed' || error.copyStatus === 'aborted';
  if (codeOf(error) !== 'CannotVerifyCopySource') return false;
  const sourceStatus = copySourceStatusOf(error) ?? statusOf(error);
  return sourceStatus !== undefined && TRANSIENT_SOURCE_STATUSES.has(sourceStatus);
}

export interface RetryOptions {
  /** Tries in all, the first included. Default 5. */
  maxAttempts?: number;
  /** Backoff before the second try (`calculateRetryDelay` of `@azure/core-util`: doubles, jittered). Default 250 ms. */
  baseDelayInMs?: number;
  /** Cap of one backoff. Default 15 s. */
  maxDelayInMs?: number;
  abortSignal?: AbortSignal;
  /** Which errors are worth another try. Default `isRetriableCopyFailure`. */
  isRetriable?: (error: unknown, abortSignal?: AbortSignal) => boolean;
  /** Called before each backoff, with the failed attempt (1-based) and the delay chosen. */
  onRetry?: (error: unknown, attempt: number, delayInMs: number) => void;
}

/** A call that failed for good: the error of its last try, and how many tries were made. */
export class RetriesExhausted extends Error {
  override readonly name = 'RetriesExhausted';
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`Gave up after ${attempts} attempt(s)`);
  }
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retriable, or has been tried
 * `maxAttempts` times. Either failure throws `RetriesExhausted` with the last error and the number
 * of tries. An abort of `abortSignal` stops at once and throws the abort reason.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<{ value: T; attempts: number }> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const backoff = {
    retryDelayInMs: options.baseDelayInMs ?? 250,
    maxRetryDelayInMs: options.maxDelayInMs ?? 15_000,
  };
  const isRetriable = options.isRetriable ?? isRetriableCopyFailure;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await operation(attempt), attempts: attempt };
    } catch (error) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? error;
      if (attempt >= maxAttempts || !isRetriable(error, options.abortSignal)) {
        throw new RetriesExhausted(attempt, error);
      }
      const wait = Math.round(calculateRetryDelay(attempt - 1, backoff).retryAfterInMs);
      options.onRetry?.(error, attempt, wait);
      try {
        await delay(wait, options.abortSignal ? { abortSignal: options.abortSignal } : {});
      } catch (aborted) {
        throw options.abortSignal?.reason ?? aborted;
      }
    }
  }
}
