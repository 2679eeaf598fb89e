import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ListBlobsXmlError, parseListBlobsXml } from '../../../src/lib/copy/listBlobsXml.js';

const blob = (name: string, properties: string, metadata = '', nameAttributes = '') =>
  `<Blob><Name${nameAttributes}>${name}</Name><Properties>${properties}</Properties>${metadata}</Blob>`;

const answer = (blobs: string, nextMarker = '<NextMarker/>') =>
  `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://a.blob.core.windows.net/" ContainerName="c"><Prefix>kyvos/</Prefix><MaxResults>5000</MaxResults><Blobs>${blobs}</Blobs>${nextMarker}</EnumerationResults>`;

describe('parseListBlobsXml', () => {
  it('reads each blob with its properties and metadata, and the next marker', () => {
    const parsed = parseListBlobsXml(
      answer(
        blob(
          'kyvos/engine_work/cube_1/part-0.parquet',
          '<Creation-Time>Mon, 23 Nov 2026 10:00:00 GMT</Creation-Time><Last-Modified>Tue, 24 Nov 2026 03:55:50 GMT</Last-Modified><Etag>0x8D</Etag><Content-Length>1048576</Content-Length><Content-Type>application/octet-stream</Content-Type><Content-Encoding>gzip</Content-Encoding><Content-Language>en</Content-Language><Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5><Cache-Control>no-cache</Cache-Control><Content-Disposition>attachment</Content-Disposition><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier>',
          '<Metadata><kyvos_cube>cube_1</kyvos_cube></Metadata>',
        ) +
          blob(
            'kyvos/engine_work/cube_1',
            '<Content-Length>0</Content-Length><Content-MD5 /><BlobType>BlockBlob</BlobType>',
            '<Metadata><hdi_isfolder>true</hdi_isfolder></Metadata>',
          ),
        '<NextMarker>2!88!MDAwMDQ2</NextMarker>',
      ),
    );
    expect(parsed.nextMarker).toBe('2!88!MDAwMDQ2');
    expect(parsed.blobs).toEqual([
      {
        name: 'kyvos/engine_work/cube_1/part-0.parquet',
        contentLength: 1048576,
        contentMD5: '1B2M2Y8AsgTpgAmY7PhCfg==',
        contentType: 'application/octet-stream',
        contentEncoding: 'gzip',
        contentLanguage: 'en',
        cacheControl: 'no-cache',
        contentDisposition: 'attachment',
        blobType: 'BlockBlob',
        lastModified: new Date('2026-11-24T03:55:50Z'),
        metadata: { kyvos_cube: 'cube_1' },
        isDirectoryStub: false,
      },
      {
        name: 'kyvos/engine_work/cube_1',
        contentLength: 0,
        blobType: 'BlockBlob',
        metadata: { hdi_isfolder: 'true' },
        isDirectoryStub: true,
      },
    ]);
  });

  it('gives no next marker on the last page, and an empty list for an empty page', () => {
    expect(parseListBlobsXml(answer(''))).toEqual({ blobs: [] });
    expect(parseListBlobsXml(answer('', '<NextMarker></NextMarker>'))).toEqual({ blobs: [] });
    expect(parseListBlobsXml(answer('', ''))).toEqual({ blobs: [] });
  });

  it('decodes entities, and names the service sent URL-encoded', () => {
    const parsed = parseListBlobsXml(
      answer(
        blob('a &amp; b/&lt;c&gt;.txt', '<Content-Length>1</Content-Length>') +
          blob('bad%01name', '<Content-Length>2</Content-Length>', '', ' Encoded="true"'),
      ),
    );
    expect(parsed.blobs.map((b) => b.name)).toEqual(['a & b/<c>.txt', 'bad\u0001name']);
  });

  it('ignores elements it does not know, at any depth', () => {
    const parsed = parseListBlobsXml(
      answer(
        `<Blob><Name>x</Name><Snapshot /><VersionId>v1</VersionId><Properties><Content-Length>3</Content-Length><Name>not-a-name</Name></Properties><Tags><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tags></Blob>`,
      ),
    );
    expect(parsed.blobs).toEqual([{ name: 'x', contentLength: 3, metadata: {}, isDirectoryStub: false }]);
  });

  it('refuses an answer that is not the documented XML, naming what is wrong', () => {
    expect(() => parseListBlobsXml('<EnumerationResults><Blobs><Blob>')).toThrow(ListBlobsXmlError);
    expect(() => parseListBlobsXml('<Error><Code>AuthenticationFailed</Code></Error>')).toThrow(
      /no EnumerationResults/,
    );
    expect(() => parseListBlobsXml(answer(blob('', '<Content-Length>1</Content-Length>')))).toThrow(
      /Blob without a Name/,
    );
    expect(() => parseListBlobsXml(answer(blob('y', '<Content-Length>-4</Content-Length>')))).toThrow(
      /"y" the Content-Length "-4"/,
    );
  });

  it('keeps none of the answer alive through the blobs and the next marker it returns', async () => {
    // In a process of its own, with --expose-gc, so that the heap can be measured after collection.
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--expose-gc',
      '--import',
      'tsx',
      'test/helpers/listingRetention.ts',
    ]);
    const { xmlBytes, retainedBytes } = JSON.parse(stdout) as { xmlBytes: number; retainedBytes: number };
    expect(xmlBytes).toBeGreaterThan(20_000_000);
    // What is kept (8,000 parsed blobs) is far smaller than the answers; a kept slice of each
    // answer would keep all of them.
    expect(retainedBytes).toBeLessThan(xmlBytes * 0.5);
  });
});
