import type { ListedBlob } from './ListedBlob.js';

/**
 * A partition's manifest: the blobs of its page exactly as the planner listed them, stored next to
 * its checkpoint. The worker copies the manifest instead of listing the page again, so it copies
 * what the plan counted: a blob that appears in the source after planning cannot push a planned blob
 * out of the page (a later verification reports the newcomer instead), and the source is listed
 * once for the copy instead of twice.
 */
export interface PartitionManifest {
  version: 1;
  runId: string;
  partitionIndex: number;
  blobs: ListedBlob[];
}

export function manifestFor(runId: string, partitionIndex: number, blobs: ListedBlob[]): PartitionManifest {
  return { version: 1, runId, partitionIndex, blobs };
}

/** A manifest from its parsed JSON; `where` names it in errors. Dates come back as `Date`. */
export function manifestOf(value: unknown, where: string): PartitionManifest {
  const manifest = value as Partial<PartitionManifest> | null;
  if (
    manifest?.version !== 1 ||
    typeof manifest.runId !== 'string' ||
    !Number.isInteger(manifest.partitionIndex) ||
    !Array.isArray(manifest.blobs)
  ) {
    throw new Error(`The copy manifest ${where} is not a version 1 manifest of a partition.`);
  }
  const blobs = manifest.blobs.map((blob, i) => {
    if (
      !blob ||
      typeof blob.name !== 'string' ||
      typeof blob.contentLength !== 'number' ||
      typeof blob.metadata !== 'object' ||
      typeof blob.isDirectoryStub !== 'boolean'
    ) {
      throw new Error(`The copy manifest ${where} has an invalid blob at position ${i}.`);
    }
    const lastModified = blob.lastModified as unknown;
    return typeof lastModified === 'string' ? { ...blob, lastModified: new Date(lastModified) } : blob;
  });
  return {
    version: 1,
    runId: manifest.runId,
    partitionIndex: manifest.partitionIndex as number,
    blobs,
  };
}
