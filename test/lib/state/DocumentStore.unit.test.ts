import { describe, expect, it } from 'vitest';
import { DamagedDocument, updateDocument } from '../../../src/lib/state/DocumentStore.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

describe('document writes', () => {
  it('create only when absent, replace only at the version read, and overwrite when asked', async () => {
    const documents = new InMemoryDocumentStore();
    const first = await documents.write('d', { n: 1 }, { ifAbsent: true });
    expect(first).toBeDefined();
    expect(await documents.write('d', { n: 2 }, { ifAbsent: true })).toBeUndefined();
    const second = await documents.write('d', { n: 2 }, { ifMatch: first as string });
    expect(await documents.write('d', { n: 3 }, { ifMatch: first as string })).toBeUndefined();
    expect(await documents.read('d')).toEqual({ value: { n: 2 }, etag: second });
    expect(await documents.write('d', { n: 4 }, { always: true })).toBeDefined();
    expect((await documents.read('d'))?.value).toEqual({ n: 4 });
  });

  it('read a document that is not JSON as damaged, with the version found', async () => {
    const documents = new InMemoryDocumentStore();
    const etag = documents.putRaw('d', '{"n":');
    await expect(documents.read('d')).rejects.toEqual(
      expect.objectContaining({ name: 'DamagedDocument', etag }),
    );
  });
});

describe('updateDocument', () => {
  it('re-applies the change on top of a writer that came in between, losing neither', async () => {
    const documents = new InMemoryDocumentStore();
    await documents.write('d', { items: ['first'] }, { ifAbsent: true });
    let interleaved = false;
    documents.beforeWrite = async (key) => {
      if (interleaved) return;
      interleaved = true;
      await updateDocument<{ items: string[] }>(documents, key, (d) => ({
        items: [...(d?.items ?? []), 'other'],
      }));
    };
    const { value, written } = await updateDocument<{ items: string[] }>(documents, 'd', (d) => ({
      items: [...(d?.items ?? []), 'mine'],
    }));
    expect(written).toBe(true);
    expect(value).toEqual({ items: ['first', 'other', 'mine'] });
    expect((await documents.read('d'))?.value).toEqual({ items: ['first', 'other', 'mine'] });
  });

  it('of two creators, the second applies its change to what the first created', async () => {
    const documents = new InMemoryDocumentStore();
    let interleaved = false;
    documents.beforeWrite = async (key) => {
      if (interleaved) return;
      interleaved = true;
      await updateDocument<{ n: number }>(documents, key, (d) => ({ n: (d?.n ?? 0) + 1 }));
    };
    await updateDocument<{ n: number }>(documents, 'd', (d) => ({ n: (d?.n ?? 0) + 1 }));
    expect((await documents.read('d'))?.value).toEqual({ n: 2 });
  });

  it('runs an async change again on a conflict, on the document as the other writer left it', async () => {
    const documents = new InMemoryDocumentStore();
    await documents.write('d', { n: 0 }, { ifAbsent: true });
    let once = true;
    documents.beforeWrite = async (key) => {
      if (!once) return;
      once = false;
      await documents.write(key, { n: 10 }, { always: true });
    };
    const seen: number[] = [];
    await updateDocument<{ n: number }>(documents, 'd', async (d) => {
      seen.push(d?.n ?? -1);
      await Promise.resolve();
      return { n: (d?.n ?? 0) + 1 };
    });
    expect(seen).toEqual([0, 10]);
    expect((await documents.read('d'))?.value).toEqual({ n: 11 });
  });

  it('writes nothing when the change returns undefined', async () => {
    const documents = new InMemoryDocumentStore();
    await documents.write('d', { n: 1 }, { ifAbsent: true });
    const before = await documents.read('d');
    expect(await updateDocument(documents, 'd', () => undefined)).toEqual({
      value: { n: 1 },
      written: false,
    });
    expect(await documents.read('d')).toEqual(before);
  });

  it('fails on a damaged document, unless told to replace it at the version found', async () => {
    const documents = new InMemoryDocumentStore();
    documents.putRaw('d', 'not json');
    await expect(updateDocument(documents, 'd', () => ({ n: 1 }))).rejects.toBeInstanceOf(DamagedDocument);
    let seen: unknown = 'not called';
    await updateDocument<{ n: number }>(
      documents,
      'd',
      (d) => {
        seen = d;
        return { n: 1 };
      },
      { replaceDamaged: true },
    );
    expect(seen).toBeUndefined();
    expect((await documents.read('d'))?.value).toEqual({ n: 1 });
  });

  it('does not replace a damaged document that another writer repaired in between', async () => {
    const documents = new InMemoryDocumentStore();
    documents.putRaw('d', 'not json');
    let interleaved = false;
    documents.beforeWrite = async (key) => {
      if (interleaved) return;
      interleaved = true;
      await updateDocument<{ n: number }>(documents, key, () => ({ n: 10 }), { replaceDamaged: true });
    };
    await updateDocument<{ n: number }>(documents, 'd', (d) => ({ n: (d?.n ?? 0) + 1 }), {
      replaceDamaged: true,
    });
    expect((await documents.read('d'))?.value).toEqual({ n: 11 });
  });

  it('gives up after maxAttempts conflicting writers, naming the document', async () => {
    const documents = new InMemoryDocumentStore();
    await documents.write('d', { n: 0 }, { ifAbsent: true });
    // Before each of its writes, another writer changes the document.
    let inside = false;
    documents.beforeWrite = async (key) => {
      if (inside) return;
      inside = true;
      const current = await documents.read<{ n: number }>(key);
      if (current) await documents.write(key, { n: current.value.n + 100 }, { always: true });
      inside = false;
    };
    await expect(
      updateDocument<{ n: number }>(documents, 'd', (d) => d && { n: d.n + 1 }, { maxAttempts: 3 }),
    ).rejects.toThrow(/^d is being updated by too many writers at once; gave up after 3 tries\.$/);
  });
});
