import type { Readable } from 'node:stream';
import { delay } from '@azure/core-util';
import type { ContainerClient } from '@azure/storage-blob';
import { codeOf, statusOf } from '../errors.js';
import { describeError } from '../redact.js';
import type { BlobFailure } from './CheckpointStore.js';
import { type DirectoryStubTarget, directoryStubTarget, writeDirectoryStub } from './directoryStub.js';
import { fromProperties, type ListedBlob } from './ListedBlob.js';
import { CopyEnded, RetriesExhausted } from './retry.js';
import { isCopySourceNetworkRefusal } from './storageErrors.js';

/** What the destination holds for a blob, as Get Blob Properties reports it. */
export type DestinationBlob = ListedBlob & { copyStatus?: string | undefined; copyId?: string | undefined };

/**
 * The calls that write one blob at the destination, narrowed from the SDK's clients
 * (`blobCopyTarget`) so that the choices between them can be tested on a stand-in.
 */
export interface BlobCopyTarget {
  /** The source blob's URL with its SAS: the copy source. Never logged. */
  readonly sourceUrl: string;
  /** Get Blob Properties at the destination; rejects with the service's error (404 when absent). */
  head(abortSignal: AbortSignal): Promise<DestinationBlob>;
  /** Copy Blob From URL; resolves with the copy status the service answered. */
  syncCopy(abortSignal: AbortSignal): Promise<string | undefined>;
  /** Copy Blob: starts the asynchronous copy. */
  beginCopy(intervalInMs: number, abortSignal: AbortSignal): Promise<CopyInProgress>;
  /** Abort Copy Blob of the pending copy `copyId`. */
  abortCopy(copyId: string, abortSignal: AbortSignal): Promise<void>;
  /** Get Blob at the source, written as Put Block / Put Block List at the destination. */
  streamCopy(abortSignal: AbortSignal): Promise<void>;
  readonly directoryStub: DirectoryStubTarget;
}

/** An asynchronous Copy Blob, polled with Get Blob Properties. */
export interface CopyInProgress {
  isDone(): boolean;
  poll(abortSignal: AbortSignal): Promise<void>;
  /** The copy status it ended with; rejects with the error of a failed poll. */
  copyStatus(): string | undefined;
}

export interface WriteBlobOptions {
  /** Up to this size Copy Blob From URL; above it the asynchronous Copy Blob. */
  largeBlobThresholdInBytes: number;
  /** Poll interval of an asynchronous Copy Blob. */
  copyPollIntervalInMs: number;
  abortSignal: AbortSignal;
}

/**
 * Writes one blob at the destination by the method `copyMethodOf` chooses, and returns that method.
 * Every method overwrites the whole destination blob with the source's bytes, HTTP properties and
 * metadata, so writing a blob again is harmless. A copy that ended with a status other than
 * `success` rejects with `CopyEnded`.
 */
export async function writeBlob(
  target: BlobCopyTarget,
  blob: ListedBlob,
  options: WriteBlobOptions,
): Promise<CopyMethod> {
  const { abortSignal } = options;
  const method = copyMethodOf(blob, target.sourceUrl, options.largeBlobThresholdInBytes);
  if (method === 'directory-stub') await writeDirectoryStub(target.directoryStub, blob, abortSignal);
  else if (method === 'stream') await target.streamCopy(abortSignal);
  else if (method === 'async') await asyncCopy(target, options.copyPollIntervalInMs, abortSignal);
  else {
    const status = await target.syncCopy(abortSignal);
    if (status && status !== 'success') throw new CopyEnded(status, 'Copy Blob From URL');
  }
  return method;
}

/**
 * Whether a blob is already at the destination as the source has it (`isAlreadyCopied`), from one
 * Get Blob Properties. Absent, or unknown because the lookup failed: false, since an overwrite is
 * always safe. An abort rejects with its reason.
 */
export async function isAtDestination(
  target: BlobCopyTarget,
  blob: ListedBlob,
  since: Date,
  abortSignal: AbortSignal,
): Promise<boolean> {
  try {
    return isAlreadyCopied(blob, await target.head(abortSignal), since);
  } catch (error) {
    if (abortSignal.aborted) throw abortSignal.reason ?? error;
    return false;
  }
}

/**
 * Whether a blob found at the destination while resuming can be skipped. It must not be in the
 * middle (or the failed end) of a copy, and must have the source's size and kind (directory stub or
 * not); then:
 * - when either side has a Content-MD5, the two must be equal (equal content, whoever wrote it);
 * - when neither has one, size alone proves little, so it must also have been written since the
 *   partition's first attempt started (`since`): by this run. The comparison is against the
 *   service's Last-Modified, so a destination clock behind ours only makes the engine copy again.
 */
export function isAlreadyCopied(source: ListedBlob, destination: DestinationBlob, since: Date): boolean {
  if (destination.copyStatus !== undefined && destination.copyStatus !== 'success') return false;
  if (source.contentLength !== destination.contentLength) return false;
  if (source.isDirectoryStub !== destination.isDirectoryStub) return false;
  if (source.contentMD5 !== undefined || destination.contentMD5 !== undefined) {
    return source.contentMD5 === destination.contentMD5;
  }
  return destination.lastModified !== undefined && destination.lastModified.getTime() >= since.getTime();
}

/**
 * The longest copy source URL the service takes: `x-ms-copy-source` of Copy Blob and Copy Blob From
 * URL is "a URL of up to 2 KiB in length"
 * (https://learn.microsoft.com/rest/api/storageservices/copy-blob-from-url, request headers; the
 * same limit is documented for `x-ms-copy-source` in Get Blob Properties). A blob name may be 1,024
 * characters, which URL-encode to up to about 9 KB when they are multi-byte, so some valid blobs
 * cannot be named as a copy source at all.
 */
export const MAX_COPY_SOURCE_URL_LENGTH = 2 * 1024;

/**
 * How one blob is written at the destination:
 * - `directory-stub`: a zero-length Put Blob with the source's metadata and headers;
 * - `stream`: the engine reads the source and writes the destination (Get Blob into Put Block /
 *   Put Block List), when the source URL (with its SAS) is longer than `MAX_COPY_SOURCE_URL_LENGTH`
 *   and the service would refuse to copy it; only block blobs;
 * - `sync`: Copy Blob From URL, for block blobs up to the threshold (256 MiB at most);
 * - `async`: Copy Blob, for larger blobs, page and append blobs.
 */
export type CopyMethod = 'directory-stub' | 'stream' | 'sync' | 'async';

export function copyMethodOf(
  blob: ListedBlob,
  sourceUrl: string,
  largeBlobThresholdInBytes: number,
): CopyMethod {
  if (blob.isDirectoryStub) return 'directory-stub';
  const isBlockBlob = blob.blobType === undefined || blob.blobType === 'BlockBlob';
  if (sourceUrl.length > MAX_COPY_SOURCE_URL_LENGTH) {
    if (!isBlockBlob) {
      throw new Error(
        `The ${blob.blobType} "${blob.name}" cannot be copied: its source URL is ${sourceUrl.length} characters, more than the ${MAX_COPY_SOURCE_URL_LENGTH} a service-side copy takes, and only block blobs are copied through the engine.`,
      );
    }
    return 'stream';
  }
  return isBlockBlob && blob.contentLength <= largeBlobThresholdInBytes ? 'sync' : 'async';
}

/**
 * Asynchronous Copy Blob, polled until it ends. A copy still pending at the destination from a
 * crashed attempt makes the service refuse a new one (409 PendingCopyOperation): that copy is
 * aborted and a new one started.
 */
async function asyncCopy(
  target: BlobCopyTarget,
  intervalInMs: number,
  abortSignal: AbortSignal,
): Promise<void> {
  let copy: CopyInProgress;
  try {
    copy = await target.beginCopy(intervalInMs, abortSignal);
  } catch (error) {
    if (codeOf(error) !== 'PendingCopyOperation') throw error;
    const pending = await target.head(abortSignal);
    if (pending.copyId && pending.copyStatus === 'pending')
      await target.abortCopy(pending.copyId, abortSignal);
    copy = await target.beginCopy(intervalInMs, abortSignal);
  }
  // Polled by hand: the poller's own pollUntilDone takes no abort signal.
  while (!copy.isDone()) {
    await delay(intervalInMs, { abortSignal });
    await copy.poll(abortSignal);
  }
  const status = copy.copyStatus();
  if (status !== undefined && status !== 'success') throw new CopyEnded(status, 'The asynchronous Copy Blob');
}

/** The failure recorded for a blob that could not be copied: its last error, redacted and explained. */
export function blobFailureOf(name: string, error: unknown): BlobFailure {
  const last = error instanceof RetriesExhausted ? error.lastError : error;
  const attempts = error instanceof RetriesExhausted ? error.attempts : 1;
  const status = statusOf(last);
  const code = codeOf(last);
  let reason = describeError(last);
  if (code === 'CannotVerifyCopySource' && status === 404) {
    reason = `The source blob no longer exists at the secondary (deleted after it was listed?): ${reason}`;
  } else if (isCopySourceNetworkRefusal(last)) {
    reason = `The source account's network rules (firewall) refused the destination account's storage service, which fetches the source of a server-side copy; the SAS is not the cause. Let every network reach the source account (az storage account update --default-action Allow) and retry the run: ${reason}`;
  } else if (status === 403) {
    reason = `Access denied (check the source SAS and the destination's role assignment): ${reason}`;
  }
  return {
    name,
    reason,
    ...(status !== undefined ? { statusCode: status } : {}),
    ...(code !== undefined ? { code } : {}),
    attempts,
  };
}

/** Block size of a copy through the engine, and blocks in flight per blob. */
const STREAM_BLOCK_BYTES = 8 * 1024 * 1024;
const STREAM_BLOCKS_IN_FLIGHT = 4;

/** The Blob API calls of `BlobCopyTarget` for the blob `name` of `source` and `destination`. */
export function blobCopyTarget(
  source: ContainerClient,
  destination: ContainerClient,
  name: string,
): BlobCopyTarget {
  const sourceBlob = source.getBlobClient(name);
  const destinationBlob = destination.getBlockBlobClient(name);
  return {
    get sourceUrl() {
      return sourceBlob.url;
    },
    head: async (abortSignal) => {
      const properties = await destinationBlob.getProperties({ abortSignal });
      return {
        ...fromProperties(name, properties),
        copyStatus: properties.copyStatus,
        copyId: properties.copyId,
      };
    },
    syncCopy: async (abortSignal) =>
      (await destinationBlob.syncCopyFromURL(sourceBlob.url, { abortSignal })).copyStatus,
    beginCopy: async (intervalInMs, abortSignal) => {
      const poller = await destinationBlob.beginCopyFromURL(sourceBlob.url, { abortSignal, intervalInMs });
      return {
        isDone: () => poller.isDone(),
        poll: (pollSignal) => poller.poll({ abortSignal: pollSignal }),
        copyStatus: () => {
          const { error } = poller.getOperationState();
          if (error) throw error;
          return poller.getResult()?.copyStatus;
        },
      };
    },
    abortCopy: async (copyId, abortSignal) => {
      await destinationBlob.abortCopyFromURL(copyId, { abortSignal });
    },
    // One Get Blob, its body staged as blocks and committed with the source's HTTP properties
    // (Content-MD5 included, as the source has it) and metadata, read from the same answer, so bytes
    // and properties belong together.
    streamCopy: async (abortSignal) => {
      const download = await sourceBlob.download(0, undefined, { abortSignal });
      const body = download.readableStreamBody;
      if (!body) throw new Error('Get Blob answered without a body');
      await destinationBlob.uploadStream(body as Readable, STREAM_BLOCK_BYTES, STREAM_BLOCKS_IN_FLIGHT, {
        abortSignal,
        metadata: download.metadata ?? {},
        blobHTTPHeaders: {
          ...(download.contentType ? { blobContentType: download.contentType } : {}),
          ...(download.contentEncoding ? { blobContentEncoding: download.contentEncoding } : {}),
          ...(download.contentLanguage ? { blobContentLanguage: download.contentLanguage } : {}),
          ...(download.cacheControl ? { blobCacheControl: download.cacheControl } : {}),
          ...(download.contentDisposition ? { blobContentDisposition: download.contentDisposition } : {}),
          ...(download.contentMD5 ? { blobContentMD5: download.contentMD5 } : {}),
        },
      });
    },
    directoryStub: directoryStubTarget(destinationBlob),
  };
}
