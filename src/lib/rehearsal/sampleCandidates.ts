import type { ListedBlob } from '../copy/ListedBlob.js';

/**
 * What a sample of the source is chosen from, gathered while the whole source is listed once, in
 * memory bounded by `capacity` blobs per kind whatever the size of the source:
 * - the first directory stubs listed (an empty directory must survive the copy);
 * - the largest blobs (the asynchronous Copy Blob, the bandwidth of the copy);
 * - a uniform random sample of the other blobs (reservoir sampling, Vitter's Algorithm R), so that
 *   the rest of the sample has the sizes and names of the source at large.
 */
export class SampleCandidates {
  readonly directoryStubs: ListedBlob[] = [];
  /** Largest first. */
  readonly largest: ListedBlob[] = [];
  readonly spread: ListedBlob[] = [];
  readonly #capacity: number;
  readonly #random: () => number;
  #filesSeen = 0;

  /**
   * @param capacity Blobs kept of each kind: the most the sample can take of it.
   * @param random A number in [0, 1); tests pass a seeded one.
   */
  constructor(capacity: number, random: () => number = Math.random) {
    this.#capacity = Math.max(0, Math.floor(capacity));
    this.#random = random;
  }

  add(blob: ListedBlob): void {
    if (blob.isDirectoryStub) {
      if (this.directoryStubs.length < this.#capacity) this.directoryStubs.push(blob);
      return;
    }
    this.#keepIfLargest(blob);
    this.#filesSeen += 1;
    if (this.spread.length < this.#capacity) this.spread.push(blob);
    else {
      const slot = Math.floor(this.#random() * this.#filesSeen);
      if (slot < this.#capacity) this.spread[slot] = blob;
    }
  }

  #keepIfLargest(blob: ListedBlob): void {
    const largest = this.largest;
    if (this.#capacity === 0) return;
    const smallest = largest.at(-1);
    if (largest.length >= this.#capacity && smallest && smallest.contentLength >= blob.contentLength) return;
    // Binary search for the first kept blob smaller than this one: ties keep listing order.
    let low = 0;
    let high = largest.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((largest[middle] as ListedBlob).contentLength >= blob.contentLength) low = middle + 1;
      else high = middle;
    }
    largest.splice(low, 0, blob);
    if (largest.length > this.#capacity) largest.pop();
  }
}
