import type { ContainerClient } from '@azure/storage-blob';
import { normalizePrefix } from '../src/lib/copy/blobListing.js';
import type { TimedCopy } from './jobs.js';

/** One blob to copy: its name, size, and its source URL (through the secondary, with the SAS). */
export interface CopyItem {
  name: string;
  bytes: number;
  sourceUrl: string;
}

/** The service prefix that lists a subtree `a/b` (everything under `a/b/`), or none for the container. */
function listingPrefix(prefix: string): { prefix?: string } {
  const normalized = normalizePrefix(prefix);
  return normalized ? { prefix: `${normalized}/` } : {};
}

/**
 * (b) The naive baseline: what a first script would do. It walks the listing (the SDK's) and copies
 * one blob at a time with Copy Blob From URL, waiting for each; no retries, no checkpoints, no
 * verification. The listing is timed, as it is part of the job. Stops after `maxBlobs` blobs (0:
 * all); pages are then at most `maxBlobs` long, so that a subset pays for the listing of its own
 * blobs and not for a page of 5,000.
 */
export async function copyOneAtATime(
  source: ContainerClient,
  destination: ContainerClient,
  prefix: string,
  maxBlobs: number,
): Promise<TimedCopy> {
  const started = performance.now();
  let blobs = 0;
  let bytes = 0;
  const pages = source
    .listBlobsFlat(listingPrefix(prefix))
    .byPage(maxBlobs > 0 ? { maxPageSize: Math.min(maxBlobs, 5_000) } : {});
  walk: for await (const page of pages) {
    for (const blob of page.segment.blobItems) {
      await destination.getBlockBlobClient(blob.name).syncCopyFromURL(source.getBlobClient(blob.name).url);
      blobs += 1;
      bytes += blob.properties.contentLength ?? 0;
      if (maxBlobs > 0 && blobs >= maxBlobs) break walk;
    }
  }
  return { blobs, bytes, durationInMs: Math.round(performance.now() - started) };
}

/** The names, sizes and source URLs of a subtree, listed before any clock starts. */
export async function listCopyItems(source: ContainerClient, prefix: string): Promise<CopyItem[]> {
  const items: CopyItem[] = [];
  for await (const blob of source.listBlobsFlat(listingPrefix(prefix))) {
    items.push({
      name: blob.name,
      bytes: blob.properties.contentLength ?? 0,
      sourceUrl: source.getBlobClient(blob.name).url,
    });
  }
  return items;
}

/** Tries of one copy in the bare loops: enough to ride out a dropped connection, no backoff. */
const BARE_LOOP_TRIES = 3;

/**
 * (c) The limit: `concurrency` loops issuing Copy Blob From URL back to back over a ready list, and
 * nothing else: no listing, no checkpoint, no verification, no backoff. A call that fails is sent
 * again at once (up to 3 tries, counted), so that one dropped connection does not void the run. No
 * copy of these blobs through this stack can be faster at this concurrency.
 */
export async function copyInBareLoops(
  items: CopyItem[],
  destination: ContainerClient,
  concurrency: number,
): Promise<TimedCopy & { retries: number }> {
  const started = performance.now();
  let next = 0;
  let retries = 0;
  const copy = async (item: CopyItem) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await destination.getBlockBlobClient(item.name).syncCopyFromURL(item.sourceUrl);
        return;
      } catch (error) {
        if (attempt >= BARE_LOOP_TRIES) throw error;
        retries += 1;
      }
    }
  };
  const loop = async () => {
    while (next < items.length) await copy(items[next++] as CopyItem);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
  return {
    blobs: items.length,
    bytes: items.reduce((sum, item) => sum + item.bytes, 0),
    durationInMs: Math.round(performance.now() - started),
    retries,
  };
}
