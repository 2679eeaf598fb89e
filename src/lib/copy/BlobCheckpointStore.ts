import type { ContainerClient } from '@azure/storage-blob';
import { redact } from '../redact.js';
import { BlobDocumentStore, DamagedDocument, type DocumentStore } from '../state/DocumentStore.js';
import {
  CheckpointConflict,
  type CheckpointStore,
  type CheckpointWriteOptions,
  type PartitionCheckpoint,
  type VersionedCheckpoint,
} from './CheckpointStore.js';
import type { ListedBlob } from './ListedBlob.js';
import { manifestFor, manifestOf, type PartitionManifest } from './partitionManifest.js';
import { safeStorageError } from './storageErrors.js';

/**
 * Checkpoints as JSON documents of the app's own storage (`clients.blobService(appAccount)`, the
 * container `kyvos-dr`), at `runs/<runId>/copy/<partitionIndex>.json`. Writes are conditional on the
 * version read (`If-Match`, or `If-None-Match: *` for the first write: `DocumentStore`), so a
 * worker that lost the partition to another learns it from a `CheckpointConflict` instead of
 * overwriting its record. Manifests are at `runs/<runId>/copy/<partitionIndex>.manifest.json`.
 *
 * Fast tests build it over an `InMemoryDocumentStore`: the same store with the same rules.
 */
export class BlobCheckpointStore implements CheckpointStore {
  readonly #documents: DocumentStore;
  /** Where the documents are, for error messages. */
  readonly #where: string;

  constructor(documents: DocumentStore | ContainerClient) {
    this.#documents = 'getBlobClient' in documents ? new BlobDocumentStore(documents) : documents;
    this.#where = this.#documents instanceof BlobDocumentStore ? this.#documents.container.url : 'memory';
  }

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
    try {
      await this.#documents.write(path, manifestFor(runId, partitionIndex, blobs), { always: true }, options);
    } catch (error) {
      throw this.#failed(`Cannot write the copy manifest ${path} to`, error);
    }
  }

  async hasManifest(
    runId: string,
    partitionIndex: number,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<boolean> {
    const path = BlobCheckpointStore.manifestPathOf(runId, partitionIndex);
    try {
      // Listed, not read: a manifest can be large, and only its existence matters here.
      for await (const key of this.#documents.keys(path, options)) if (key === path) return true;
      return false;
    } catch (error) {
      throw this.#failed(`Cannot read the copy manifest ${path} from`, error);
    }
  }

  async getManifest(
    runId: string,
    partitionIndex: number,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<ListedBlob[] | undefined> {
    const path = BlobCheckpointStore.manifestPathOf(runId, partitionIndex);
    let stored: { value: PartitionManifest } | undefined;
    try {
      stored = await this.#documents.read<PartitionManifest>(path, options);
    } catch (error) {
      if (error instanceof DamagedDocument) throw new Error(`The copy manifest ${path} is not JSON.`);
      throw this.#failed(`Cannot read the copy manifest ${path} from`, error);
    }
    return stored === undefined ? undefined : manifestOf(stored.value, path).blobs;
  }

  async get(
    runId: string,
    partitionIndex: number,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<VersionedCheckpoint | undefined> {
    const path = BlobCheckpointStore.pathOf(runId, partitionIndex);
    try {
      const stored = await this.#documents.read<PartitionCheckpoint>(path, options);
      return stored && { record: stored.value, etag: stored.etag };
    } catch (error) {
      throw this.#failed(`Cannot read the copy checkpoint ${path} from`, error);
    }
  }

  async put(
    runId: string,
    partitionIndex: number,
    record: PartitionCheckpoint,
    options: CheckpointWriteOptions = {},
  ): Promise<string> {
    const path = BlobCheckpointStore.pathOf(runId, partitionIndex);
    let etag: string | undefined;
    try {
      etag = await this.#documents.write(
        path,
        record,
        options.etag !== undefined ? { ifMatch: options.etag } : { ifAbsent: true },
        options.abortSignal ? { abortSignal: options.abortSignal } : {},
      );
    } catch (error) {
      throw this.#failed(`Cannot write the copy checkpoint ${path} to`, error);
    }
    if (etag === undefined) throw new CheckpointConflict(runId, partitionIndex);
    return etag;
  }

  /** `what` (ending with "to" or "from") the store failed, with the storage error's redacted message. */
  #failed(what: string, error: unknown): Error {
    const safe = safeStorageError(error);
    return new Error(redact(`${what} ${this.#where}: ${safe.message}`), { cause: safe });
  }
}
