import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import type { FailoverReport } from '../../../src/lib/report/failoverReport.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  failoverDepsFor,
  httpRequest,
  invocation,
  postFailover,
} from '../../helpers/failoverHarness.js';

/** 1,024 characters (the service's limit), ~9 KB URL-encoded: too long for x-ms-copy-source. */
const LONG_NAME = `long/${'日'.repeat(1019)}`;

interface CorpusBlob {
  name: string;
  body: Buffer;
  headers?: {
    blobContentType?: string;
    blobContentEncoding?: string;
    blobContentLanguage?: string;
    blobCacheControl?: string;
    blobContentDisposition?: string;
  };
  metadata?: Record<string, string>;
}

const stub = (name: string): CorpusBlob => ({
  name,
  body: Buffer.alloc(0),
  metadata: { hdi_isfolder: 'true' },
});
const file = (name: string, text: string, extra: Partial<CorpusBlob> = {}): CorpusBlob => ({
  name,
  body: Buffer.from(text),
  ...extra,
});

/**
 * A container a real Kyvos deployment could hold, with each category that did not come across whole
 * before: blobs outside the engine work directory, string siblings of it, names whose UTF-16 and
 * code-point orders differ, a 1,024-character multi-byte name, non-ASCII HTTP properties, a blob with
 * content that carries `hdi_isfolder=true`, and directory stubs (one of an empty directory).
 */
const CORPUS: CorpusBlob[] = [
  stub('kyvos'),
  stub('kyvos/engine_work'),
  stub('kyvos/engine_work/cubes'),
  stub('kyvos/engine_work/empty'),
  file('kyvos/engine_work/cubes/part-0.parquet', 'cube part', { metadata: { cube: 'c0' } }),
  file('kyvos/engine_work/flagged-with-content.bin', 'real bytes, not a directory', {
    metadata: { hdi_isfolder: 'true', origin: 'tool' },
  }),
  file('kyvos/engine_work2/sibling.txt', 'sibling by string'),
  file('kyvos/engine_work.bak/old.txt', 'backup sibling'),
  file('kyvos/conf/kyvos.properties', 'outside the work directory'),
  file('readme.txt', 'top level'),
  file('names/x\u{1F600}.txt', 'emoji (a surrogate pair)'),
  file('names/x\uFF21.txt', 'full-width A'),
  file('names/x\uE000.txt', 'private use'),
  file('names/x\uFFFD.txt', 'replacement character'),
  file(LONG_NAME, 'a long multi-byte name', { metadata: { kind: 'long' } }),
  file('props/résumé.pdf', 'pdf bytes', {
    headers: {
      blobContentType: 'application/pdf',
      blobContentDisposition: 'attachment; filename="résumé.pdf"',
      blobContentLanguage: 'fr-CA',
      blobCacheControl: 'max-age=60',
      blobContentEncoding: 'identity',
    },
    metadata: { author: 'kyvos' },
  }),
];

/**
 * Every path of the container: the corpus and the directories its names make, which the primary's
 * hierarchical namespace creates and lists (`local/hns`).
 */
const CORPUS_PATHS = [
  ...new Set(CORPUS.flatMap((b) => b.name.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/')))),
];

/** Everything a blob is, as @azure/storage-blob lists it and reads it: independent of the engine. */
async function snapshot(container: ContainerClient): Promise<Map<string, Record<string, unknown>>> {
  const blobs = new Map<string, Record<string, unknown>>();
  for await (const b of container.listBlobsFlat({ includeMetadata: true })) {
    const p = b.properties;
    const bytes = await container.getBlobClient(b.name).downloadToBuffer();
    blobs.set(b.name, {
      size: p.contentLength,
      md5: p.contentMD5 ? Buffer.from(p.contentMD5).toString('base64') : undefined,
      contentSha256: createHash('sha256').update(bytes).digest('hex'),
      contentType: p.contentType,
      contentEncoding: p.contentEncoding,
      contentLanguage: p.contentLanguage,
      cacheControl: p.cacheControl,
      contentDisposition: p.contentDisposition,
      // Azurite lists the empty metadata of a copied blob as '' rather than none.
      metadata: b.metadata && typeof b.metadata === 'object' ? b.metadata : {},
    });
  }
  return blobs;
}

describe('a failover of a container with every kind of name and property', () => {
  let stack: LocalStack;
  const log = capturingLogger();

  beforeAll(async () => {
    stack = await startLocalStack();
    const primary = stack.clients
      .blobService(stack.names.primaryStorageAccount)
      .getContainerClient(stack.names.container);
    await primary.createIfNotExists();
    for (const blob of CORPUS) {
      await primary.getBlockBlobClient(blob.name).upload(blob.body, blob.body.length, {
        ...(blob.headers ? { blobHTTPHeaders: blob.headers } : {}),
        ...(blob.metadata ? { metadata: blob.metadata } : {}),
      });
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('copies the whole container by default, as azcopy --recursive, identical in names, sizes, MD5, bytes, properties and metadata, and says so', async () => {
    const deps = failoverDepsFor(stack, log.logger);
    // The dry run states the scope and what it would copy.
    const dry = await failoverStart(
      httpRequest('POST', 'https://kyvos-dr.example/api/failover', {
        mode: 'planned',
        reason: 'dry run of the corpus',
        dryRun: true,
      }),
      invocation('failoverStart'),
      deps,
    );
    const dryRun = await runUntilDone(failoverRuntime(deps), (dry.jsonBody as { runId: string }).runId, {
      timeoutInMs: 120_000,
    });
    const plan = (dryRun.report as { plan: Record<string, unknown> }).plan;
    expect(plan.scope).toMatch(/whole container/);
    expect(plan.blobs).toBe(CORPUS_PATHS.length);
    expect(plan.blobsOutsideScope).toEqual({ count: 0, examples: [] });

    const runId = await postFailover(deps, { mode: 'planned', reason: 'corpus failover' });
    void confirmWhenWaiting(deps, runId);
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 240_000 });
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('Succeeded');

    // Both sides listed and read with @azure/storage-blob, not with the engine's listing.
    const source = await snapshot(
      stack.clients
        .blobService(stack.names.primaryStorageAccount, { secondary: true })
        .getContainerClient(stack.names.container),
    );
    const destination = await snapshot(
      stack.clients.blobService(stack.names.drStorageAccount).getContainerClient(stack.names.container),
    );
    expect([...source.keys()].sort()).toEqual(CORPUS_PATHS.sort());
    expect(destination).toEqual(source);
    // The categories, one by one, at the destination.
    expect(destination.get('kyvos/engine_work2/sibling.txt')).toBeDefined();
    expect(destination.get('kyvos/engine_work.bak/old.txt')).toBeDefined();
    expect(destination.get('readme.txt')).toBeDefined();
    expect(destination.get(LONG_NAME)).toMatchObject({ size: 22, metadata: { kind: 'long' } });
    expect(destination.get('kyvos/engine_work/flagged-with-content.bin')).toMatchObject({
      size: 27,
      metadata: { hdi_isfolder: 'true', origin: 'tool' },
    });
    expect(destination.get('props/résumé.pdf')).toMatchObject({
      contentDisposition: 'attachment; filename="résumé.pdf"',
      contentLanguage: 'fr-CA',
    });
    expect(destination.get('kyvos/engine_work/empty')).toMatchObject({
      size: 0,
      metadata: { hdi_isfolder: 'true' },
    });

    const report = run.report as unknown as FailoverReport;
    expect(report.scope).toMatchObject({ prefix: '', blobsOutsideScope: { count: 0 } });
    expect(report.scope.description).toMatch(/whole container/);
    expect(report.checklist.map((c) => c.id)).not.toContain('copy-scope-partial');
    expect(report.blobs).toMatchObject({ listed: CORPUS_PATHS.length, failed: 0 });
    expect((run.steps.verify.detail as { storage: { ok: boolean; matched: number } }).storage).toMatchObject({
      ok: true,
      matched: CORPUS_PATHS.length,
    });
  });
});
