import type { ListedBlob } from '../copy/ListedBlob.js';
import type { SampleCandidates } from './sampleCandidates.js';

/** How much of the source a rehearsal copies: whichever limit is reached first. */
export interface SampleLimits {
  /** Blobs in the sample at most. Default 1,000. */
  maxBlobs: number;
  /** Bytes in the sample at most. Default 1 GiB. */
  maxBytes: number;
}

export const DEFAULT_SAMPLE_LIMITS: SampleLimits = { maxBlobs: 1_000, maxBytes: 1024 ** 3 };

/** The blobs a rehearsal copies, and why each kind is there. */
export interface RehearsalSample {
  blobs: ListedBlob[];
  bytes: number;
  directoryStubs: number;
  /** Blobs taken as the largest of the source. */
  largeBlobs: number;
  /** Blobs taken from the random spread of the rest. */
  spreadBlobs: number;
  /** The largest blob in the sample, in bytes (0 when none has content). */
  largestSampledBytes: number;
  /** The largest blob of the source when it did not fit the byte limit (it was not copied). */
  largestNotSampled?: { name: string; bytes: number };
}

/**
 * Chooses the sample, in three parts, each stopping at the limits (`maxBlobs`, `maxBytes`):
 * 1. directory stubs: up to a tenth of `maxBlobs`, at least one when the source has any;
 * 2. the largest blobs, largest first: up to a tenth of `maxBlobs` and half of `maxBytes`, so that
 *    the spread keeps room; a blob that does not fit is passed over for the next smaller one;
 * 3. the random spread of the rest, in the order sampled, while it fits.
 * A blob is taken once, whichever part names it. Pure: the same candidates give the same sample.
 */
export function selectSample(candidates: SampleCandidates, limits: SampleLimits): RehearsalSample {
  const maxBlobs = Math.max(0, Math.floor(limits.maxBlobs));
  const maxBytes = Math.max(0, limits.maxBytes);
  const share = Math.max(1, Math.floor(maxBlobs / 10));
  const taken = new Map<string, ListedBlob>();
  let bytes = 0;
  const take = (blob: ListedBlob, byteLimit: number): boolean => {
    if (taken.size >= maxBlobs || taken.has(blob.name) || bytes + blob.contentLength > byteLimit)
      return false;
    taken.set(blob.name, blob);
    bytes += blob.contentLength;
    return true;
  };
  let directoryStubs = 0;
  for (const stub of candidates.directoryStubs) {
    if (directoryStubs >= share) break;
    if (take(stub, maxBytes)) directoryStubs += 1;
  }
  let largeBlobs = 0;
  let largestNotSampled: RehearsalSample['largestNotSampled'];
  for (const blob of candidates.largest) {
    if (largeBlobs >= share) break;
    if (blob.contentLength === 0) break;
    if (take(blob, maxBytes / 2)) largeBlobs += 1;
    else if (!largestNotSampled && !taken.has(blob.name) && largeBlobs === 0)
      largestNotSampled = { name: blob.name, bytes: blob.contentLength };
  }
  let spreadBlobs = 0;
  for (const blob of candidates.spread) {
    if (taken.size >= maxBlobs) break;
    if (take(blob, maxBytes)) spreadBlobs += 1;
  }
  const blobs = [...taken.values()];
  return {
    blobs,
    bytes,
    directoryStubs,
    largeBlobs,
    spreadBlobs,
    largestSampledBytes: blobs.reduce((max, b) => Math.max(max, b.contentLength), 0),
    ...(largestNotSampled ? { largestNotSampled } : {}),
  };
}
