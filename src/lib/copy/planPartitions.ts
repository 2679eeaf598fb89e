import { type ListingPage, listBlobPages } from './blobListing.js';
import type { ListedBlob } from './ListedBlob.js';
import { type CopyDeps, type CopyPartition, DEFAULT_PAGE_SIZE, SYNC_COPY_LIMIT_IN_BYTES } from './types.js';

export interface PlanPartitionsOptions {
  /** Blobs per partition (List Blobs `maxresults`, at most 5,000). Default 1,000. */
  pageSize?: number;
  /** Blobs above this size count as large (asynchronous Copy Blob). Default 256 MiB. */
  largeBlobThresholdInBytes?: number;
  /**
   * Continue a planning that stopped: the index and continuation token of the next partition, as
   * the last `PlannedPartition` gave them (`index + 1`, `nextMarker`).
   */
  resumeFrom?: { index: number; marker: string };
  abortSignal?: AbortSignal;
}

/** One partition of the plan, with what its page holds. */
export interface PlannedPartition {
  partition: CopyPartition;
  blobCount: number;
  bytes: number;
  /** Blobs above the large-blob threshold (copied with the asynchronous Copy Blob). */
  largeBlobCount: number;
  directoryStubCount: number;
  /** Where the next partition starts; undefined after the last one. */
  nextMarker?: string;
  /** The page's blobs, for the partition's manifest (`CheckpointStore.putManifest`). */
  blobs: ListedBlob[];
}

/**
 * Walks the source listing through the secondary endpoint, one page at a time, and yields one
 * partition per non-empty page with what it holds, so the caller can enqueue it and report "blobs
 * and bytes listed so far" while the listing runs, and a dry run can report the plan (blob count,
 * bytes) without copying. Lists only: it writes nothing. Memory holds one page.
 *
 * The plan is deterministic for an unchanged source: planning again yields the same partitions,
 * and their checkpoints make re-enqueued duplicates harmless.
 */
export async function* planPartitions(
  deps: Pick<CopyDeps, 'source'>,
  runId: string,
  options: PlanPartitionsOptions = {},
): AsyncGenerator<PlannedPartition> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const threshold = options.largeBlobThresholdInBytes ?? SYNC_COPY_LIMIT_IN_BYTES;
  const container = deps.source.listable();
  let index = options.resumeFrom?.index ?? 0;
  const pages = listBlobPages(container, deps.source.prefix, {
    pageSize,
    ...(options.resumeFrom ? { marker: options.resumeFrom.marker } : {}),
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
  while (true) {
    let page: ListingPage;
    try {
      const next = await pages.next();
      if (next.done) return;
      page = next.value;
    } catch (error) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? error;
      throw deps.source.listingFailed(error);
    }
    if (page.blobs.length === 0) continue;
    let bytes = 0;
    let largeBlobCount = 0;
    let directoryStubCount = 0;
    for (const blob of page.blobs) {
      bytes += blob.contentLength;
      if (blob.contentLength > threshold) largeBlobCount += 1;
      if (blob.isDirectoryStub) directoryStubCount += 1;
    }
    yield {
      partition: { runId, index, ...(page.marker !== undefined ? { marker: page.marker } : {}), pageSize },
      blobCount: page.blobs.length,
      bytes,
      largeBlobCount,
      directoryStubCount,
      ...(page.nextMarker ? { nextMarker: page.nextMarker } : {}),
      blobs: page.blobs,
    };
    index += 1;
  }
}
