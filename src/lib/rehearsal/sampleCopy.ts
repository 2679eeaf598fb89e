import { BlobCheckpointStore } from '../copy/BlobCheckpointStore.js';
import { copyPartition } from '../copy/copyPartition.js';
import type { ListedBlob } from '../copy/ListedBlob.js';
import type { CopyDeps } from '../copy/types.js';
import type { DocumentStore } from '../state/DocumentStore.js';
import type { SampleCopy } from './Rehearsal.js';

export interface SampleCopyOptions {
  /** The rehearsal's id: the copy engine keeps its checkpoints under it. */
  rehearsalId: string;
  /** Partitions copied at once: one instance's (`PARTITIONS_PER_INSTANCE`). */
  partitions: number;
  copyConcurrency: number;
  largeBlobThresholdInBytes: number;
  /** Milliseconds, for the measured time. */
  now: () => number;
  abortSignal?: AbortSignal;
}

/**
 * Deals the sample round-robin into partitions (so the large blobs spread over them), stores each
 * as its manifest and copies them at once with the copy engine (`copyPartition`: the failover's own
 * blob writer, retries and access control) into `deps.destination`, the scratch container. The
 * time measured is the wall time of the whole copy, from the first partition's start to the last
 * one's end.
 */
export async function copySample(
  deps: CopyDeps,
  blobs: readonly ListedBlob[],
  options: SampleCopyOptions,
): Promise<SampleCopy> {
  const count = Math.max(1, Math.min(options.partitions, blobs.length));
  const parts = dealRoundRobin(blobs, count);
  const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  await Promise.all(
    parts.map((part, index) => deps.checkpoints.putManifest(options.rehearsalId, index, part, abort)),
  );
  const started = options.now();
  const results = await Promise.all(
    parts.map((part, index) =>
      copyPartition(
        deps,
        { runId: options.rehearsalId, index, pageSize: part.length, manifest: true },
        {
          concurrency: options.copyConcurrency,
          largeBlobThresholdInBytes: options.largeBlobThresholdInBytes,
          ...abort,
        },
      ),
    ),
  );
  const seconds = (options.now() - started) / 1000;
  return {
    account: deps.destination.account,
    container: deps.destination.container,
    partitions: count,
    copyConcurrency: options.copyConcurrency,
    blobsCopied: results.reduce((sum, r) => sum + r.blobsCopied, 0),
    bytesCopied: results.reduce((sum, r) => sum + r.bytesCopied, 0),
    blobsFailed: results.reduce((sum, r) => sum + r.blobsFailed, 0),
    failures: results.flatMap((r) => r.failures.map((f) => ({ name: f.name, reason: f.reason }))),
    seconds,
  };
}

/** `blobs` dealt into `count` partitions like cards, so that neighbours in the list land apart. */
function dealRoundRobin<T>(blobs: readonly T[], count: number): T[][] {
  const parts: T[][] = Array.from({ length: count }, () => []);
  blobs.forEach((blob, i) => {
    (parts[i % count] as T[]).push(blob);
  });
  return parts.filter((part) => part.length > 0);
}

/**
 * Deletes the copy engine's checkpoints and manifests of a rehearsal from the app's storage
 * (`runs/<rehearsalId>/copy/`): they were needed only while the sample was copied.
 */
export async function deleteSampleCheckpoints(documents: DocumentStore, rehearsalId: string): Promise<void> {
  const prefix = BlobCheckpointStore.pathOf(rehearsalId, 0).replace(/0\.json$/, '');
  for await (const key of documents.keys(prefix)) {
    const document = await documents.read(key).catch(() => undefined);
    if (document) await documents.delete(key, document.etag);
  }
}
