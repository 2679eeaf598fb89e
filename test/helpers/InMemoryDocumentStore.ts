import {
  type DocumentStore,
  parseDocument,
  type Versioned,
  type WriteCondition,
} from '../../src/lib/state/DocumentStore.js';

/**
 * The same rules in memory, for fast tests. `beforeWrite` runs before every conditional write is
 * decided, so a test can make another writer act exactly in between a read and a write.
 */
export class InMemoryDocumentStore implements DocumentStore {
  readonly #docs = new Map<string, { text: string; etag: string }>();
  #version = 0;
  /** Called before each write or delete is decided; may itself write (an injected interleaving). */
  beforeWrite: ((key: string) => Promise<void> | void) | undefined;
  /** Called before each read; may throw to inject a fault. */
  beforeRead: ((key: string) => Promise<void> | void) | undefined;

  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    await this.beforeRead?.(key);
    const doc = this.#docs.get(key);
    return doc ? { value: parseDocument<T>(key, doc.text, doc.etag), etag: doc.etag } : undefined;
  }

  async write<T>(key: string, value: T, condition: WriteCondition): Promise<string | undefined> {
    await this.beforeWrite?.(key);
    const doc = this.#docs.get(key);
    if ('ifAbsent' in condition && doc !== undefined) return undefined;
    if ('ifMatch' in condition && doc?.etag !== condition.ifMatch) return undefined;
    const etag = `"0x${(++this.#version).toString(16)}"`;
    this.#docs.set(key, { text: JSON.stringify(value), etag });
    return etag;
  }

  async delete(key: string, etag: string): Promise<boolean> {
    await this.beforeWrite?.(key);
    if (this.#docs.get(key)?.etag !== etag) return false;
    this.#docs.delete(key);
    return true;
  }

  async *keys(prefix: string): AsyncIterable<string> {
    for (const key of [...this.#docs.keys()].sort()) if (key.startsWith(prefix)) yield key;
  }

  /** Stores `text` as it is, JSON or not: a damaged document, for tests. */
  putRaw(key: string, text: string): string {
    const etag = `"0x${(++this.#version).toString(16)}"`;
    this.#docs.set(key, { text, etag });
    return etag;
  }

  /** Every key held, for assertions. */
  get size(): number {
    return this.#docs.size;
  }
}
