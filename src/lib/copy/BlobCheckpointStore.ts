import type { ContainerClient } from '@azure/storage-blob';
import { statusOf } from '../errors.js';
import { redact } from '../redact.js';
import type { ListedBlob } from './blobListing.js';
import {
  CheckpointConflict,
  type CheckpointStore,
  type CheckpointWriteOptions,
  type PartitionCheckpoint,
  type VersionedCheckpoint,
} from './CheckpointStore.js';
import { decodeManifest, encodeManifest } from './partitionManifest.js';
import { safeStorageError } from './storageErrors.js';

/**
 * Checkpoints as JSON blobs in the app's own storage account (`clients.blobService(appAccount)`),
 * at `runs/<runId>/copy/<partitionIndex>.json` in `container`. Writes are conditional on the ETag
 * (`If-Match`, or `If-None-Match: *` for the first write), so a worker that lost the partition to
 * another learns it from a `CheckpointConflict` instead of overwriting its record. Manifests are at
 * `runs/<runId>/copy/<partitionIndex>.manifest.json`.
 */
export class BlobCheckpointStore implements CheckpointStore {
  constructor(private readonly container: ContainerClient) {}

  static pathOf(runId: string, partitionIndex: number): string {
    return `runs/${runId}/copy/${partitionIndex}.json`;
  }

  static manifestPathOf(runId: string, partitionIndex: number): string {
    return `runs/${runId}/copy/${partitionIndex}.manifest.json`;
  }

  async putManifest(
    runId: string,
    partitionIndex: number,
    blobs: ListedBlob[],
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<void> {
    const path = BlobCheckpointStore.manifestPathOf(runId, partitionIndex);
    const body = encodeManifest(runId, partitionIndex, blobs);
    try {
      await this.container.getBlockBlobClient(path).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
    } catch (error) {
      throw new Error(
        redact(
          `Cannot write the copy manifest ${path} to ${this.container.url}: ${safeStorageError(error).message}`,
        ),
        { cause: safeStorageError(error) },
      );
    }
  }

  async hasManifest(
    runId: string,
    partitionIndex: number,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<boolean> {
    const path = BlobCheckpointStore.manifestPathOf(runId, partitionIndex);
    try {
      return await this.container
        .getBlobClient(path)
        .exists(options.abortSignal ? { abortSignal: options.abortSignal } : {});
    } catch (error) {
      throw new Error(
        redact(
          `Cannot read the copy manifest ${path} from ${this.container.url}: ${safeStorageError(error).message}`,
        ),
        { cause: safeStorageError(error) },
      );
    }
  }

  async getManifest(
    runId: string,
    partitionIndex: number,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<ListedBlob[] | undefined> {
    const path = BlobCheckpointStore.manifestPathOf(runId, partitionIndex);
    let text: string;
    try {
      const response = await this.container.getBlobClient(path).download(0, undefined, {
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      text = await streamToString(response.readableStreamBody);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new Error(
        redact(
          `Cannot read the copy manifest ${path} from ${this.container.url}: ${safeStorageError(error).message}`,
        ),
        { cause: safeStorageError(error) },
      );
    }
    return decodeManifest(text, path).blobs;
  }

  async get(
    runId: string,
    partitionIndex: number,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<VersionedCheckpoint | undefined> {
    const blob = this.container.getBlobClient(BlobCheckpointStore.pathOf(runId, partitionIndex));
    try {
      const response = await blob.download(0, undefined, {
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      const text = await streamToString(response.readableStreamBody);
      return { record: JSON.parse(text) as PartitionCheckpoint, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new Error(
        redact(
          `Cannot read the copy checkpoint ${BlobCheckpointStore.pathOf(runId, partitionIndex)} from ${this.container.url}: ${safeStorageError(error).message}`,
        ),
        { cause: safeStorageError(error) },
      );
    }
  }

  async put(
    runId: string,
    partitionIndex: number,
    record: PartitionCheckpoint,
    options: CheckpointWriteOptions = {},
  ): Promise<string> {
    const path = BlobCheckpointStore.pathOf(runId, partitionIndex);
    const body = JSON.stringify(record);
    try {
      const response = await this.container.getBlockBlobClient(path).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        conditions: options.etag !== undefined ? { ifMatch: options.etag } : { ifNoneMatch: '*' },
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      return response.etag ?? '';
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) {
        throw new CheckpointConflict(runId, partitionIndex, { cause: safeStorageError(error) });
      }
      throw new Error(
        redact(
          `Cannot write the copy checkpoint ${path} to ${this.container.url}: ${safeStorageError(error).message}`,
        ),
        { cause: safeStorageError(error) },
      );
    }
  }
}

async function streamToString(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
