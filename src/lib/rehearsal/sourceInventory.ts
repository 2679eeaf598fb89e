import { type ListingPage, listBlobPages } from '../copy/blobListing.js';
import { copyScopeOf } from '../copy/copyScope.js';
import type { CopyDeps } from '../copy/types.js';
import { SampleCandidates } from './sampleCandidates.js';
import { type SizeBucket, SizeHistogram } from './sizeHistogram.js';

/** The whole source as the failover's copy would see it: what it would list, copy and verify. */
export interface SourceInventory {
  /** The secondary endpoint listed (no SAS), the container and what of it is copied. */
  endpoint: string;
  container: string;
  scope: string;
  blobs: number;
  bytes: number;
  directoryStubs: number;
  /** Blobs above the large-blob threshold: copied with the asynchronous Copy Blob. */
  largeBlobs: number;
  largeBlobThresholdInBytes: number;
  /** Partitions (queue messages) the failover's copy would make of it. */
  partitions: number;
  partitionSize: number;
  histogram: SizeBucket[];
  /** The few largest blobs, by name and size. */
  largest: Array<{ name: string; bytes: number }>;
  /** How long the listing took, in seconds: measured; the failover lists at the same pace. */
  listingSeconds: number;
}

export interface InventoryOptions {
  partitionSize: number;
  largeBlobThresholdInBytes: number;
  /** Blobs kept of each kind of sample candidate (`SampleCandidates`). */
  candidates: number;
  random?: () => number;
  /** Milliseconds, for the listing's duration. */
  now: () => number;
  abortSignal?: AbortSignal;
}

/** Blobs per List Blobs request: the service's maximum. */
const LISTING_PAGE_SIZE = 5_000;
const LARGEST_SHOWN = 5;

/**
 * Lists the whole source through the `-secondary` endpoint with the access the copy uses
 * (`deps.source`), in the copy's scope, holding one page at a time: the plan of the copy and the
 * candidates of a sample. Reads only. A listing that fails throws the copy's own error
 * (`SourceAccess.listingFailed`: endpoint and status, never the SAS).
 */
export async function inventorySource(
  deps: Pick<CopyDeps, 'source'>,
  options: InventoryOptions,
): Promise<{ inventory: SourceInventory; candidates: SampleCandidates }> {
  const started = options.now();
  const histogram = new SizeHistogram();
  const candidates = new SampleCandidates(options.candidates, options.random);
  const inventory: SourceInventory = {
    endpoint: deps.source.endpoint,
    container: deps.source.container,
    scope: copyScopeOf(deps.source.prefix).description,
    blobs: 0,
    bytes: 0,
    directoryStubs: 0,
    largeBlobs: 0,
    largeBlobThresholdInBytes: options.largeBlobThresholdInBytes,
    partitions: 0,
    partitionSize: options.partitionSize,
    histogram: [],
    largest: [],
    listingSeconds: 0,
  };
  const pages = listBlobPages(deps.source.listable(), deps.source.prefix, {
    pageSize: LISTING_PAGE_SIZE,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
  for (;;) {
    let next: IteratorResult<ListingPage>;
    try {
      next = await pages.next();
    } catch (error) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? error;
      throw deps.source.listingFailed(error);
    }
    if (next.done) break;
    for (const blob of next.value.blobs) {
      inventory.blobs += 1;
      inventory.bytes += blob.contentLength;
      if (blob.isDirectoryStub) inventory.directoryStubs += 1;
      if (blob.contentLength > options.largeBlobThresholdInBytes) inventory.largeBlobs += 1;
      histogram.add(blob.contentLength);
      candidates.add(blob);
    }
  }
  inventory.partitions = Math.ceil(inventory.blobs / Math.max(1, options.partitionSize));
  inventory.histogram = histogram.buckets();
  inventory.largest = candidates.largest
    .slice(0, LARGEST_SHOWN)
    .map((blob) => ({ name: blob.name, bytes: blob.contentLength }));
  inventory.listingSeconds = (options.now() - started) / 1000;
  return { inventory, candidates };
}
