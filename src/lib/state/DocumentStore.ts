/**
 * JSON documents with ETag conditions: the one optimistic-concurrency protocol of kyvos-dr. Run
 * records, the failover lock, alert bindings, copy checkpoints and the health history are all
 * documents of a `DocumentStore`; every read-modify-write goes through `updateDocument`.
 *
 * The backend is `BlobDocumentStore`: a container of the app's storage account, with `If-Match` and
 * `If-None-Match: *` on Put Blob, as Azure Storage defines them. Fast tests use the same rules in
 * memory (test/helpers/InMemoryDocumentStore.ts).
 */
import { calculateRetryDelay, delay } from '@azure/core-util';
import type { ContainerClient } from '@azure/storage-blob';
import { statusOf } from '../errors.js';

/** A document with the version it was read at. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/**
 * Where a write is allowed: only when absent (`create`), only at a known version, or always (a
 * document that is replaced whole and never read-modified, such as a copy manifest).
 */
export type WriteCondition = { ifAbsent: true } | { ifMatch: string } | { always: true };

/**
 * A stored document that is not JSON (a write cut short, a hand edit). Reads throw it with the
 * version found, so that a store whose documents may be rebuilt (`replaceDamaged`) can replace it
 * at that version.
 */
export class DamagedDocument extends Error {
  override readonly name = 'DamagedDocument';
  constructor(
    readonly key: string,
    readonly etag: string,
    options?: ErrorOptions,
  ) {
    super(`The stored document ${key} is not JSON.`, options);
  }
}

export interface DocumentStore {
  /** The document and its ETag, or undefined when there is none; throws `DamagedDocument` when it is not JSON. */
  read<T>(key: string, options?: { abortSignal?: AbortSignal }): Promise<Versioned<T> | undefined>;
  /**
   * Writes the document when `condition` holds and returns its new ETag; returns undefined, writing
   * nothing, when it does not (it exists for `ifAbsent`, it changed or was deleted for `ifMatch`).
   * `always` overwrites whatever is there.
   */
  write<T>(
    key: string,
    value: T,
    condition: WriteCondition,
    options?: { abortSignal?: AbortSignal },
  ): Promise<string | undefined>;
  /** Deletes the document if it is still at `etag`; returns whether it did. */
  delete(key: string, etag: string): Promise<boolean>;
  /** The keys that start with `prefix`, ascending. */
  keys(prefix: string, options?: { abortSignal?: AbortSignal }): AsyncIterable<string>;
}

export interface UpdateDocumentOptions {
  /** Gives up after this many conflicting writers in a row. Default 50. */
  maxAttempts?: number;
  /**
   * A document that is not JSON is handed to `mutate` as absent and replaced at the version found,
   * instead of failing the update. For documents that the next write rebuilds (health history).
   */
  replaceDamaged?: boolean;
  abortSignal?: AbortSignal;
}

/**
 * Applies `mutate` to the latest version of a document and writes it back if nobody wrote in
 * between (`If-Match` the version read, `If-None-Match: *` when there was none); on a conflict,
 * waits a jittered 20 ms doubling to at most 1 s (@azure/core-util's `calculateRetryDelay`), reads
 * again and re-applies. `mutate` gets undefined when there is no document (the write then creates
 * it) and returns the next value, or `undefined` to write nothing; it may be async (a judgement that
 * reads other documents), and runs again on each conflict. Returns what was written, or what was
 * read when nothing was. After `maxAttempts` conflicts in a row it throws, naming the document.
 */
export async function updateDocument<T>(
  store: DocumentStore,
  key: string,
  mutate: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options: UpdateDocumentOptions = {},
): Promise<{ value: T | undefined; written: boolean }> {
  const maxAttempts = options.maxAttempts ?? 50;
  const io = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  for (let attempt = 1; ; attempt++) {
    const current = await readForUpdate<T>(store, key, io, options.replaceDamaged === true);
    // mutate works on a copy, so a conflict re-applies it to fresh state, never to its own leftovers.
    const next = await mutate(current?.value !== undefined ? structuredClone(current.value) : undefined);
    if (next === undefined) return { value: current?.value, written: false };
    const condition: WriteCondition = current ? { ifMatch: current.etag } : { ifAbsent: true };
    if ((await store.write(key, next, condition, io)) !== undefined) return { value: next, written: true };
    if (attempt >= maxAttempts) {
      throw new Error(`${key} is being updated by too many writers at once; gave up after ${attempt} tries.`);
    }
    const { retryAfterInMs } = calculateRetryDelay(attempt, CONFLICT_BACKOFF);
    await delay(retryAfterInMs, io);
  }
}

/** Between two tries of an ETag read-modify-write: writers of one document are few, and brief. */
const CONFLICT_BACKOFF = { retryDelayInMs: 10, maxRetryDelayInMs: 1_000 };

async function readForUpdate<T>(
  store: DocumentStore,
  key: string,
  io: { abortSignal?: AbortSignal },
  replaceDamaged: boolean,
): Promise<{ value: T | undefined; etag: string } | undefined> {
  try {
    return await store.read<T>(key, io);
  } catch (error) {
    if (replaceDamaged && error instanceof DamagedDocument) return { value: undefined, etag: error.etag };
    throw error;
  }
}

/** Documents as blobs of one container, JSON, with Azure Storage's conditional headers. */
export class BlobDocumentStore implements DocumentStore {
  readonly #container: ContainerClient;
  #ready: Promise<unknown> | undefined;

  constructor(container: ContainerClient) {
    this.#container = container;
  }

  get container(): ContainerClient {
    return this.#container;
  }

  #ensureContainer(): Promise<unknown> {
    this.#ready ??= this.#container.createIfNotExists().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async read<T>(key: string, options: { abortSignal?: AbortSignal } = {}): Promise<Versioned<T> | undefined> {
    await this.#ensureContainer();
    let text: string;
    let etag: string;
    try {
      // Body and ETag from the same response: If-Match then guards exactly what was read. The SDK
      // adds fields to the options it is given (`conditions`), so it gets its own object, never the
      // caller's: a caller that passes the same options to a write would lose its conditions.
      const response = await this.#container
        .getBlobClient(key)
        .download(0, undefined, { abortSignal: options.abortSignal });
      text = await streamToText(response.readableStreamBody);
      etag = response.etag ?? '';
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    return { value: parseDocument<T>(key, text, etag), etag };
  }

  async write<T>(
    key: string,
    value: T,
    condition: WriteCondition,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    await this.#ensureContainer();
    const body = JSON.stringify(value);
    try {
      const response = await this.#container.getBlockBlobClient(key).upload(body, Buffer.byteLength(body), {
        conditions:
          'ifMatch' in condition
            ? { ifMatch: condition.ifMatch }
            : 'ifAbsent' in condition
              ? { ifNoneMatch: '*' }
              : {},
        blobHTTPHeaders: { blobContentType: 'application/json' },
        abortSignal: options.abortSignal,
      });
      return response.etag ?? '';
    } catch (error) {
      // 412: the version changed (or, for If-None-Match, the blob exists); 409: a concurrent writer
      // created it first (BlobAlreadyExists). Put Blob: learn.microsoft.com/rest/api/storageservices/put-blob
      const status = statusOf(error);
      if (status === 412 || status === 409) return undefined;
      // If-Match on a blob that was deleted meanwhile answers 404 on some versions of the service.
      if (status === 404 && 'ifMatch' in condition) return undefined;
      throw error;
    }
  }

  async delete(key: string, etag: string): Promise<boolean> {
    await this.#ensureContainer();
    try {
      await this.#container.getBlobClient(key).delete({ conditions: { ifMatch: etag } });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) return false;
      throw error;
    }
  }

  async *keys(prefix: string, options: { abortSignal?: AbortSignal } = {}): AsyncIterable<string> {
    await this.#ensureContainer();
    for await (const item of this.#container.listBlobsFlat({ prefix, abortSignal: options.abortSignal }))
      yield item.name;
  }
}

/**
 * A document's stored text as JSON; `DamagedDocument` with the version found when it is not. The
 * one rule every backend reads by.
 */
export function parseDocument<T>(key: string, text: string, etag: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new DamagedDocument(key, etag, { cause: error });
  }
}

async function streamToText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
