import { createHash } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import pLimit from 'p-limit';
import type { PgInstance } from './types.js';

export interface KyvosDatasetOptions {
  /** Path prefix: the engine work directory. */
  prefix: string;
  /** Small files (1–`maxSmallBytes` bytes). */
  files: number;
  maxSmallBytes?: number;
  /** Blobs of `largeBlobBytes` each (over the copy engine's large-blob threshold in tests). */
  largeBlobs?: number;
  largeBlobBytes?: number;
  /** Files per leaf directory. */
  filesPerDirectory?: number;
  /** Upload concurrency. */
  concurrency?: number;
  /** Deterministic content. */
  seed?: number;
}

export interface SeededDataset {
  /**
   * Every blob written, directory stubs included (the stubs of the prefix's parents too): what a
   * failover copies with its default scope, the whole container (of a container that held nothing else).
   */
  blobs: number;
  /** Blobs under the prefix, its own stub included: what a failover copies with the prefix as scope. */
  blobsUnderPrefix: number;
  bytes: number;
  directories: number;
  emptyDirectories: number;
}

/**
 * Writes a Kyvos-like engine work directory: cube folders with directory stubs (`hdi_isfolder`, as
 * ADLS Gen2 keeps them), an empty directory, many small segment files with content types, content
 * encoding, metadata and Content-MD5, and a few large files.
 */
export async function seedKyvosDataset(
  service: BlobServiceClient,
  container: string,
  options: KyvosDatasetOptions,
): Promise<SeededDataset> {
  const containerClient = service.getContainerClient(container);
  await containerClient.createIfNotExists();
  const limit = pLimit(options.concurrency ?? 32);
  const perDir = options.filesPerDirectory ?? 50;
  const maxSmall = options.maxSmallBytes ?? 4096;
  const prefix = options.prefix.replace(/^\/+|\/+$/g, '');
  const at = (path: string) => (prefix ? `${prefix}/${path}` : path);
  let random = options.seed ?? 42;
  const next = () => {
    random = (random * 1103515245 + 12345) % 2 ** 31;
    return random;
  };
  // Files are written once every directory stub is: in a hierarchical namespace a file's write
  // makes its missing parent directories, and a stub cannot then be put over one.
  const uploads: Array<() => Promise<unknown>> = [];
  let bytes = 0;
  let blobs = 0;
  let parentStubs = 0;
  const stub = (path: string) =>
    containerClient.getBlockBlobClient(path).upload('', 0, { metadata: { hdi_isfolder: 'true' } });
  const directories = new Set<string>();
  const ensureDirectory = (dir: string) => {
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!directories.has(d)) {
        directories.add(d);
        blobs += 1;
        // Stubs of the parents of the prefix exist in an ADLS Gen2 account, outside a prefixed copy.
        if (prefix && d !== prefix && !d.startsWith(`${prefix}/`)) parentStubs += 1;
      }
    }
  };
  if (prefix) ensureDirectory(prefix);
  for (let i = 0; i < options.files; i++) {
    const dir = at(`cubes/cube_${Math.floor(i / (perDir * 4))}/segments/part_${Math.floor(i / perDir)}`);
    ensureDirectory(dir);
    const size = 1 + (next() % maxSmall);
    const body = Buffer.alloc(size, (i % 251) + 1);
    if (size >= 4) body.writeUInt32LE(i, 0);
    const md5 = createHash('md5').update(body).digest();
    const json = i % 10 === 0;
    uploads.push(() =>
      containerClient.getBlockBlobClient(`${dir}/file_${i}${json ? '.json' : '.seg'}`).upload(body, size, {
        blobHTTPHeaders: {
          blobContentType: json ? 'application/json' : 'application/octet-stream',
          ...(i % 7 === 0 ? { blobContentEncoding: 'gzip' } : {}),
          blobContentMD5: md5,
        },
        metadata: { kyvoscube: `cube_${Math.floor(i / (perDir * 4))}`, segment: String(i) },
      }),
    );
    bytes += size;
    blobs += 1;
  }
  const emptyDir = at('cubes/empty_cube/segments');
  ensureDirectory(emptyDir);
  for (let i = 0; i < (options.largeBlobs ?? 0); i++) {
    const size = options.largeBlobBytes ?? 1024 * 1024;
    const body = Buffer.alloc(size, 7 + i);
    ensureDirectory(at('cubes/large'));
    uploads.push(() =>
      containerClient.getBlockBlobClient(at(`cubes/large/big_${i}.dat`)).uploadData(body, {
        blobHTTPHeaders: {
          blobContentType: 'application/octet-stream',
          blobContentMD5: createHash('md5').update(body).digest(),
        },
        metadata: { kyvoslarge: 'true' },
      }),
    );
    bytes += size;
    blobs += 1;
  }
  // Parents before children: a stub of `a/b` makes `a` in a hierarchical namespace.
  const byDepth = new Map<number, string[]>();
  for (const d of directories) {
    const depth = d.split('/').length;
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), d]);
  }
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    await Promise.all((byDepth.get(depth) ?? []).map((d) => limit(() => stub(d))));
  }
  await Promise.all(uploads.map((upload) => limit(upload)));
  return {
    blobs,
    blobsUnderPrefix: blobs - parentStubs,
    bytes,
    directories: directories.size,
    emptyDirectories: 1,
  };
}

/** Creates a small Kyvos-like metadata repository on the primary and writes `rows` rows. */
export async function seedMetadataRepository(primary: PgInstance, rows: number): Promise<void> {
  await primary.query(
    'CREATE TABLE IF NOT EXISTS kyvos_semantic_model (id bigserial PRIMARY KEY, name text NOT NULL, definition jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())',
  );
  await primary.query(
    "INSERT INTO kyvos_semantic_model (name, definition) SELECT 'model_' || g, jsonb_build_object('cube', g, 'measures', g % 17) FROM generate_series(1, $1) g",
    [rows],
  );
}

/**
 * Keeps writing to the primary's metadata repository, as a live Kyvos would, until stopped.
 * Write failures (the primary stopped or fenced) end the writer quietly; `stop()` returns the count.
 * `acknowledgedIds` holds the id of every row whose INSERT returned success: the writes a client
 * was told are durable, which a planned failover must not lose.
 */
export function startMetadataWriter(
  primary: PgInstance,
  intervalInMs = 100,
): { acknowledgedIds: number[]; stop(): Promise<number> } {
  let written = 0;
  let running = true;
  const acknowledgedIds: number[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const [row] = await primary.query<{ id: string }>(
          "INSERT INTO kyvos_semantic_model (name, definition) VALUES ('live_' || now(), '{}') RETURNING id::text AS id",
        );
        written += 1;
        if (row) acknowledgedIds.push(Number(row.id));
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalInMs));
    }
  })();
  return {
    acknowledgedIds,
    stop: async () => {
      running = false;
      await loop;
      return written;
    },
  };
}
