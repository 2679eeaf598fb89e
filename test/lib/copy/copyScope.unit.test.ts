import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { passThroughHeaders } from '../../../local/storageFront.js';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { ListableContainer } from '../../../src/lib/copy/blobListing.js';
import { copyMethodOf, MAX_COPY_SOURCE_URL_LENGTH } from '../../../src/lib/copy/blobWriter.js';
import { copyScopeOf, countBlobsOutsideScope, isInCopyScope } from '../../../src/lib/copy/copyScope.js';
import { isDirectoryStub, type ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { compareBlobNames } from '../../../src/lib/copy/listingOrder.js';
import { ListingOutOfOrder, verifyCopy } from '../../../src/lib/copy/verifyCopy.js';
import {
  drChecklist,
  keyVaultNamesOf,
  kyvosDeploymentParameters,
} from '../../../src/lib/report/kyvosDeployment.js';
import { SourceAccess } from '../../../src/lib/source/SourceAccess.js';

const escapeXml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** A List Blobs answer with these names (1 byte each) and continuation token. */
function listAnswer(names: string[], nextMarker = ''): string {
  const blobs = names
    .map(
      (n) =>
        `<Blob><Name>${escapeXml(n)}</Name><Properties><Content-Length>1</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>${blobs}</Blobs><NextMarker>${nextMarker}</NextMarker></EnumerationResults>`;
}

/** A container whose List Blobs answers `pages` in turn (marker = page index); records the queries. */
function fakeContainer(pages: string[][]): ListableContainer & { queries: Record<string, string>[] } {
  const queries: Record<string, string>[] = [];
  return {
    queries,
    client: {} as ListableContainer['client'],
    requests: {
      get: async (query) => {
        queries.push(query);
        const index = query.marker === undefined ? 0 : Number(query.marker);
        const next = index + 1 < pages.length ? String(index + 1) : '';
        return listAnswer(pages[index] ?? [], next);
      },
    },
  };
}

/** The source container `c` of account `a` through `clients`. */
function sourceOf(clients: ClientFactory): SourceAccess {
  return new SourceAccess(clients, { account: 'a', container: 'c', prefix: '' }, 'sv=1&sig=x');
}

/** Clients whose source (secondary) and destination listings are fixed name lists. */
function fakeClients(source: string[], destination: string[]): ClientFactory {
  return {
    blobService: () => ({ getContainerClient: () => ({}) }),
    containerRequests: (_account: string, _container: string, options?: { secondary?: boolean }) =>
      fakeContainer([options?.secondary ? source : destination]).requests,
  } as unknown as ClientFactory;
}

const listedBlob = (overrides: Partial<ListedBlob> = {}): ListedBlob => ({
  name: 'kyvos/a.bin',
  contentLength: 10,
  metadata: {},
  isDirectoryStub: false,
  ...overrides,
});

describe('the copy scope', () => {
  it('is the whole container by default: every name is in it', () => {
    const scope = copyScopeOf('');
    expect(scope.wholeContainer).toBe(true);
    expect(scope.description).toMatch(/whole container/);
    for (const name of ['a', 'kyvos/engine_work2/x', 'other/readme.txt'])
      expect(isInCopyScope(scope, name)).toBe(true);
    expect(copyScopeOf('/').wholeContainer).toBe(true);
  });

  it('with a prefix takes whole path segments only: the stub and what is under it, never its string siblings', () => {
    const scope = copyScopeOf('/kyvos/engine_work/');
    expect(scope.prefix).toBe('kyvos/engine_work');
    expect(isInCopyScope(scope, 'kyvos/engine_work')).toBe(true);
    expect(isInCopyScope(scope, 'kyvos/engine_work/cubes/x.parquet')).toBe(true);
    expect(isInCopyScope(scope, 'kyvos/engine_work2')).toBe(false);
    expect(isInCopyScope(scope, 'kyvos/engine_work2/x')).toBe(false);
    expect(isInCopyScope(scope, 'kyvos/engine_work.bak/x')).toBe(false);
    expect(isInCopyScope(scope, 'kyvos')).toBe(false);
  });

  it('counts the blobs a prefix leaves out, over every page of a names-only listing', async () => {
    const container = fakeContainer([
      ['kyvos', 'kyvos/engine_work', 'kyvos/engine_work.bak/a'],
      ['kyvos/engine_work/x', 'kyvos/engine_work2', 'kyvos/engine_work2/y', 'z'],
    ]);
    const outside = await countBlobsOutsideScope(container, copyScopeOf('kyvos/engine_work'));
    expect(outside).toEqual({
      count: 5,
      examples: ['kyvos', 'kyvos/engine_work.bak/a', 'kyvos/engine_work2', 'kyvos/engine_work2/y', 'z'],
    });
    expect(container.queries).toHaveLength(2);
    expect(container.queries[0]).toMatchObject({ comp: 'list', maxresults: '5000' });
    expect(container.queries[0]?.include).toBeUndefined();
  });

  it('counts nothing, and lists nothing, for the whole container', async () => {
    const container = fakeContainer([['a', 'b']]);
    expect(await countBlobsOutsideScope(container, copyScopeOf(''))).toEqual({ count: 0, examples: [] });
    expect(container.queries).toHaveLength(0);
  });

  it('puts a warning with the count first in the checklist when a prefix left blobs out, and none otherwise', () => {
    const inputs = {
      drStorageAccount: 'dr',
      drContainer: 'c',
      keyVault: { dnsName: 'kv.vault.azure.net', name: 'kv' },
      promotedPostgresServer: 'pg',
      engineWorkDirectory: 'kyvos/engine_work',
    };
    const partial = drChecklist(inputs, true, {
      scope: copyScopeOf('kyvos/engine_work'),
      blobsOutsideScope: { count: 3, examples: ['kyvos/engine_work2/y'] },
    });
    expect(partial[0]?.id).toBe('copy-scope-partial');
    expect(partial[0]?.text).toContain('3 blob(s)');
    expect(partial[0]?.text).toContain('kyvos/engine_work2/y');
    const uncounted = drChecklist(inputs, true, {
      scope: copyScopeOf('kyvos/engine_work'),
      blobsOutsideScope: null,
    });
    expect(uncounted[0]?.text).toMatch(/uncounted/);
    const whole = drChecklist(inputs, true, {
      scope: copyScopeOf(''),
      blobsOutsideScope: { count: 0, examples: [] },
    });
    expect(whole.map((i) => i.id)).not.toContain('copy-scope-partial');
  });
});

describe('the listing order', () => {
  it('is UTF-16 code unit order, as the service lists: U+1F600 (a surrogate pair) sorts before U+FF21', () => {
    expect(compareBlobNames('lexicographic', 'x\u{1F600}', 'x\uFF21')).toBeLessThan(0);
    expect(compareBlobNames('hierarchical', 'x\u{1F600}', 'x\uFF21')).toBeLessThan(0);
    const names = ['b\uFF21', 'b\u{1F600}', 'b\uE000', 'b\uD7FF', 'a'];
    // JavaScript's own sort (Azurite's) is UTF-16 order.
    expect([...names].sort((a, b) => compareBlobNames('lexicographic', a, b))).toEqual([...names].sort());
  });

  it('lets the merge verify names whose UTF-16 and code-point orders differ', async () => {
    const names = ['d/x\u{1F600}', 'd/x\uFF21', 'd/x\uFFFD'];
    const clients = fakeClients(names, names);
    const result = await verifyCopy(
      {
        clients,
        source: sourceOf(clients),
        destination: { account: 'b', container: 'c' },
      },
      { listingOrder: 'lexicographic' },
    );
    expect(result).toMatchObject({ ok: true, matched: 3, missingCount: 0 });
  });

  it('still refuses a listing that is really out of order', async () => {
    const sorted = ['d/a', 'd/b', 'd/c'];
    const outOfOrder = ['d/a', 'd/c', 'd/b'];
    const run = (source: string[]) => {
      const clients = fakeClients(source, sorted);
      return verifyCopy({
        clients,
        source: sourceOf(clients),
        destination: { account: 'b', container: 'c' },
      });
    };
    await expect(run(outOfOrder)).rejects.toBeInstanceOf(ListingOutOfOrder);
    // Code-point order of the two names below is out of UTF-16 order: the merge refuses it too.
    await expect(run(['d/x\uFF21', 'd/x\u{1F600}'])).rejects.toBeInstanceOf(ListingOutOfOrder);
  });
});

describe('directory stubs', () => {
  it('are flagged blobs without content; a flagged blob with content is a file', () => {
    expect(isDirectoryStub({ hdi_isfolder: 'true' }, 0)).toBe(true);
    expect(isDirectoryStub({ Hdi_IsFolder: 'TRUE' }, 0)).toBe(true);
    expect(isDirectoryStub({ hdi_isfolder: 'true' }, 5)).toBe(false);
    expect(isDirectoryStub({}, 0)).toBe(false);
  });
});

describe('the copy method', () => {
  const shortUrl = 'https://a-secondary.blob.core.windows.net/c/x?sv=1&sig=s';
  const longUrl = `https://a-secondary.blob.core.windows.net/c/${encodeURIComponent('日'.repeat(1000))}?sv=1&sig=s`;

  it('copies service-side while the source URL fits the 2 KiB of x-ms-copy-source', () => {
    expect(longUrl.length).toBeGreaterThan(MAX_COPY_SOURCE_URL_LENGTH);
    expect(copyMethodOf(listedBlob(), shortUrl, 256)).toBe('sync');
    expect(copyMethodOf(listedBlob({ contentLength: 1000 }), shortUrl, 256)).toBe('async');
    expect(copyMethodOf(listedBlob({ blobType: 'PageBlob' }), shortUrl, 256)).toBe('async');
  });

  it('streams a block blob whose source URL is longer, whatever its size', () => {
    expect(copyMethodOf(listedBlob(), longUrl, 256)).toBe('stream');
    expect(copyMethodOf(listedBlob({ contentLength: 1000 }), longUrl, 256)).toBe('stream');
  });

  it('refuses, by name, a page blob whose source URL is too long', () => {
    expect(() => copyMethodOf(listedBlob({ name: 'p', blobType: 'PageBlob' }), longUrl, 256)).toThrow(
      /PageBlob "p" cannot be copied: its source URL is \d+ characters/,
    );
  });

  it('recreates a directory stub, and copies a flagged blob with content', () => {
    expect(copyMethodOf(listedBlob({ isDirectoryStub: true, contentLength: 0 }), shortUrl, 256)).toBe(
      'directory-stub',
    );
    const flaggedFile = listedBlob({ metadata: { hdi_isfolder: 'true' }, contentLength: 10 });
    flaggedFile.isDirectoryStub = isDirectoryStub(flaggedFile.metadata, flaggedFile.contentLength);
    expect(copyMethodOf(flaggedFile, shortUrl, 256)).toBe('sync');
  });
});

describe('the Key Vault Name parameter', () => {
  it('is the vault DNS name from its URI, with the bare name beside it', () => {
    const keyVault = keyVaultNamesOf({ url: 'https://kv-kyvos.vault.azure.net/', name: 'kv-kyvos' });
    expect(keyVault).toEqual({ dnsName: 'kv-kyvos.vault.azure.net', name: 'kv-kyvos' });
    const parameters = kyvosDeploymentParameters({
      drStorageAccount: 'dr',
      drContainer: 'c',
      keyVault,
      promotedPostgresServer: 'pg',
      engineWorkDirectory: 'w',
    }) as { parameters: Record<string, { value: unknown }> };
    expect(parameters.parameters.KeyVaultName?.value).toBe('kv-kyvos.vault.azure.net');
    expect(keyVaultNamesOf(undefined).dnsName).toBe('<your Key Vault>');
  });
});

describe('the storage front', () => {
  it('passes a non-ASCII Content-Disposition through byte for byte, after a Content-Length', async () => {
    const value = Buffer.from('attachment; filename="résumé 履歴書.pdf"', 'utf8').toString('latin1');
    const upstream = { 'content-length': '1', 'content-disposition': value, 'content-type': 'text/plain' };
    const server = http.createServer((_req, res) => {
      try {
        res.writeHead(200, passThroughHeaders(upstream));
        // A Buffer, as the front pipes Azurite's body: Node then writes the header as latin1.
        res.end(Buffer.from('x'));
      } catch (error) {
        res.destroy(error as Error);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (server.address() as AddressInfo).port;
      const received = await new Promise<string | undefined>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port }, (res) => {
            res.resume();
            resolve(res.headers['content-disposition']);
          })
          .on('error', reject);
      });
      expect(received).toBe(value);
      expect(Buffer.from(received ?? '', 'latin1').toString('utf8')).toBe(
        'attachment; filename="résumé 履歴書.pdf"',
      );
    } finally {
      server.close();
    }
  });
});
