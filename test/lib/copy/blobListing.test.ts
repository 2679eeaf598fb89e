import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageRequestError } from '../../../src/lib/clients/ContainerRequests.js';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { getListedBlob, listBlobPages } from '../../../src/lib/copy/blobListing.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { SourceAccess } from '../../../src/lib/source/SourceAccess.js';
import { type StorageFixture, startStorageFixture } from '../../helpers/storageFixture.js';

const CONTAINER = 'listing-names';
const PREFIX = 'kyvos/engine_work';
const NAMES = [
  'sp ace/a+b.txt',
  'amp&er=1.txt',
  'ünï/çødé.bin',
  'pct%41.txt',
  'quote"apos\'.txt',
  'deep/a/b/c/d.txt',
];

let fixture: StorageFixture;

beforeAll(async () => {
  fixture = await startStorageFixture();
  const container = fixture.clients
    .blobService(fixture.names.primaryStorageAccount)
    .getContainerClient(CONTAINER);
  await container.createIfNotExists();
  await container.getBlockBlobClient(PREFIX).upload('', 0, { metadata: { hdi_isfolder: 'true' } });
  for (const [i, name] of NAMES.entries()) {
    const content = 'x'.repeat(i + 1);
    await container.getBlockBlobClient(`${PREFIX}/${name}`).upload(content, content.length, {
      metadata: { kyvos_index: String(i) },
      blobHTTPHeaders: {
        blobContentType: 'application/x-kyvos',
        blobContentEncoding: i % 2 ? 'gzip' : '',
        blobCacheControl: 'max-age=60',
        blobContentDisposition: `attachment; filename="f${i}"`,
        blobContentLanguage: 'en-GB',
        blobContentMD5: createHash('md5').update(content).digest(),
      },
    });
  }
});

afterAll(async () => {
  await fixture?.stop();
});

function source(sas = fixture.sourceSas): SourceAccess {
  return new SourceAccess(
    fixture.clients,
    { account: fixture.names.primaryStorageAccount, container: CONTAINER, prefix: PREFIX },
    new Sensitive(sas),
  );
}

describe('listing through the secondary endpoint', () => {
  it('reads, page by page, every blob as Get Blob Properties describes it', async () => {
    const listable = source().listable();
    const pages: ListedBlob[][] = [];
    for await (const page of listBlobPages(listable, PREFIX, { pageSize: 2 })) pages.push(page.blobs);
    const listed = pages.flat();
    // The work directory's stub, then the blobs under it and the directories their names make (a
    // hierarchical namespace lists them), in pages of 2 that follow the markers.
    const directories = [
      ...new Set(
        NAMES.flatMap((n) =>
          n
            .split('/')
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
        ),
      ),
    ];
    const expected = [PREFIX, ...[...NAMES, ...directories].map((n) => `${PREFIX}/${n}`)].sort();
    expect(listed.map((b) => b.name).sort()).toEqual(expected);
    expect(pages[0]?.length).toBe(3);
    expect(pages.slice(1).every((page) => page.length <= 2)).toBe(true);
    for (const blob of listed) {
      const described = await getListedBlob(listable.client, blob.name);
      expect(blob).toEqual(described);
    }
    expect(
      listed
        .filter((b) => b.isDirectoryStub)
        .map((b) => b.name)
        .sort(),
    ).toEqual([PREFIX, ...directories.map((d) => `${PREFIX}/${d}`)].sort());
  });

  it('a SAS the service refuses fails with its status and code, and without the signature', async () => {
    const tampered = fixture.sourceSas.replace(/sig=[^&]+/, 'sig=AAAA');
    const listable = source(tampered).listable();
    const error = await listBlobPages(listable, '', { pageSize: 10 })
      .next()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(StorageRequestError);
    expect((error as StorageRequestError).statusCode).toBe(403);
    expect((error as StorageRequestError).code).toBe('AuthorizationFailure');
    expect(String((error as Error).message)).not.toMatch(/sig=/i);
  });
});
