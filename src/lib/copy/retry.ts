import { setTimeout as delay } from 'node:timers/promises';
import { isTransientStorageError } from './storageErrors.js';

/** Bounded retries with exponential backoff and full jitter, above the SDK's own transport retries. */
export interface RetryOptions {
  /** Tries in all, the first included. Default 5. */
  maxAttempts?: number;
  /** Backoff before the second try (before jitter); doubles each time. Default 250 ms. */
  baseDelayInMs?: number;
  /** Cap of one backoff. Default 15 s. */
  maxDelayInMs?: number;
  abortSignal?: AbortSignal;
  /** Which errors are worth another try. Default `isTransientStorageError`. */
  isTransient?: (error: unknown, abortSignal?: AbortSignal) => boolean;
  /** Called before each backoff, with the failed attempt (1-based) and the delay chosen. */
  onRetry?: (error: unknown, attempt: number, delayInMs: number) => void;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
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

/** Full-jitter backoff: a uniform delay in [0, min(max, base·2^(attempt−1))]. */
export function backoffDelayInMs(
  attempt: number,
  baseDelayInMs: number,
  maxDelayInMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelayInMs, baseDelayInMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not transient, or has been tried
 * `maxAttempts` times. Either failure throws `RetriesExhausted` with the last error and the number
 * of tries. An abort of `abortSignal` stops at once and throws the abort reason.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<{ value: T; attempts: number }> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const baseDelayInMs = options.baseDelayInMs ?? 250;
  const maxDelayInMs = options.maxDelayInMs ?? 15_000;
  const isTransient = options.isTransient ?? isTransientStorageError;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await operation(attempt), attempts: attempt };
    } catch (error) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? error;
      if (attempt >= maxAttempts || !isTransient(error, options.abortSignal)) {
        throw new RetriesExhausted(attempt, error);
      }
      const wait = backoffDelayInMs(attempt, baseDelayInMs, maxDelayInMs, options.random);
      options.onRetry?.(error, attempt, wait);
      await delay(wait, undefined, options.abortSignal ? { signal: options.abortSignal } : {});
    }
  }
}
