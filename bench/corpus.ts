import { seedKyvosDataset } from '../local/seed.js';
import type { LocalStack } from '../local/stack.js';

/** A generated source: a container of the primary account holding a Kyvos-like engine work directory. */
export interface Corpus {
  container: string;
  prefix: string;
  /** Blobs under the prefix (what a copy copies), directory stubs included. */
  blobs: number;
  bytes: number;
  smallFiles: number;
  maxSmallBytes: number;
  largeBlobs: number;
  largeBlobBytes: number;
  directoryStubs: number;
  seedInSeconds: number;
}

export interface CorpusOptions {
  container: string;
  smallFiles: number;
  maxSmallBytes: number;
  largeBlobs?: number;
  largeBlobBytes?: number;
  /** Uploads in flight. */
  concurrency?: number;
}

/**
 * Seeds a corpus with the stack's own seeder (the drill's and the tests' dataset: cube folders with
 * directory stubs, segment files with content types, metadata and Content-MD5), in a container of
 * its own so that corpora never overlap.
 */
export async function seedCorpus(stack: LocalStack, options: CorpusOptions): Promise<Corpus> {
  const started = performance.now();
  const seeded = await seedKyvosDataset(
    stack.clients.blobService(stack.names.primaryStorageAccount),
    options.container,
    {
      prefix: stack.names.engineWorkDirectory,
      files: options.smallFiles,
      maxSmallBytes: options.maxSmallBytes,
      largeBlobs: options.largeBlobs ?? 0,
      largeBlobBytes: options.largeBlobBytes ?? 0,
      concurrency: options.concurrency ?? 64,
    },
  );
  return {
    container: options.container,
    prefix: stack.names.engineWorkDirectory,
    blobs: seeded.blobsUnderPrefix,
    bytes: seeded.bytes,
    smallFiles: options.smallFiles,
    maxSmallBytes: options.maxSmallBytes,
    largeBlobs: options.largeBlobs ?? 0,
    largeBlobBytes: options.largeBlobBytes ?? 0,
    directoryStubs: seeded.blobsUnderPrefix - options.smallFiles - (options.largeBlobs ?? 0),
    seedInSeconds: Math.round(performance.now() - started) / 1000,
  };
}

/** The source SAS the failover copies with: the one the stack keeps in its Key Vault. */
export async function sourceSasFromVault(stack: LocalStack): Promise<string> {
  const secret = await stack.clients
    .secrets(stack.descriptor.keyVaultUrl)
    .getSecret(stack.names.sourceSasSecret);
  if (!secret.value)
    throw new Error(`The stack's Key Vault holds no value for ${stack.names.sourceSasSecret}.`);
  return secret.value;
}
