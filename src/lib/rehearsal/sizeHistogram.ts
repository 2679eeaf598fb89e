/**
 * Blob sizes in powers of two: the shape of a source, which decides how a copy of it behaves. Many
 * small blobs make the copy latency-bound (one service call each), a few large ones make it
 * bandwidth-bound (asynchronous Copy Blob), so the plan shows both.
 */

/** Blobs of sizes in `[fromBytes, toBytes)`; zero-length blobs (directory stubs among them) in `[0, 1)`. */
export interface SizeBucket {
  fromBytes: number;
  toBytes: number;
  blobs: number;
  bytes: number;
}

/**
 * The bucket a size falls in: -1 for zero bytes, otherwise `k` with `2^k <= size < 2^(k+1)`.
 * Computed with `Math.log2` and corrected, since blob sizes go past 2^32 (`Math.clz32` stops there)
 * and a float logarithm may round across a power of two.
 */
export function sizeBucketOf(sizeInBytes: number): number {
  if (sizeInBytes < 1) return -1;
  let k = Math.floor(Math.log2(sizeInBytes));
  while (2 ** k > sizeInBytes) k -= 1;
  while (2 ** (k + 1) <= sizeInBytes) k += 1;
  return k;
}

/** Counts blobs by log2 size bucket, one blob at a time; `buckets()` lists the non-empty ones, smallest first. */
export class SizeHistogram {
  readonly #buckets = new Map<number, SizeBucket>();

  add(sizeInBytes: number): void {
    const k = sizeBucketOf(sizeInBytes);
    let bucket = this.#buckets.get(k);
    if (!bucket) {
      bucket =
        k < 0
          ? { fromBytes: 0, toBytes: 1, blobs: 0, bytes: 0 }
          : { fromBytes: 2 ** k, toBytes: 2 ** (k + 1), blobs: 0, bytes: 0 };
      this.#buckets.set(k, bucket);
    }
    bucket.blobs += 1;
    bucket.bytes += sizeInBytes;
  }

  buckets(): SizeBucket[] {
    return [...this.#buckets.entries()].sort(([a], [b]) => a - b).map(([, bucket]) => ({ ...bucket }));
  }
}
