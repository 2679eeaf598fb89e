/**
 * Measures how much heap parsed List Blobs pages keep alive once their XML is dropped, as the
 * planner keeps a page's blobs (its manifest) and continuation token. Needs `--expose-gc`.
 * Prints `{ xmlBytes, retainedBytes }` as JSON.
 * Usage: node --expose-gc --import tsx test/helpers/listingRetention.ts
 */
import { parseListBlobsXml } from '../../src/lib/copy/listBlobsXml.js';

const PAGES = 8;
const BLOBS_PER_PAGE = 1_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('listingRetention.ts needs node --expose-gc.');

/** One page as the service answers it, with elements the parser skips making up most of it. */
function page(index: number): string {
  const blobs: string[] = [];
  for (let i = 0; i < BLOBS_PER_PAGE; i++) {
    const name = `kyvos/engine_work/cube_${index}/part-${String(i).padStart(5, '0')}.parquet`;
    blobs.push(
      `<Blob><Name>${name}</Name><Properties><Creation-Time>Mon, 23 Nov 2026 10:00:00 GMT</Creation-Time><Last-Modified>Tue, 24 Nov 2026 03:55:50 GMT</Last-Modified><Etag>0x8DD${i}</Etag><Content-Length>${i}</Content-Length><Content-Type>application/octet-stream</Content-Type><Content-MD5>${Buffer.from(name).toString('base64').slice(0, 22)}==</Content-MD5><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><x-ms-skipped>${'s'.repeat(2_000)}</x-ms-skipped></Properties><Metadata><kyvos_cube>cube_${index}</kyvos_cube></Metadata></Blob>`,
    );
  }
  const xml = `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="c"><Blobs>${blobs.join('')}</Blobs><NextMarker>2!88!${'M'.repeat(40)}${index}</NextMarker></EnumerationResults>`;
  // A response body arrives as one flat string, not as the concatenation built above.
  return Buffer.from(xml, 'utf8').toString('utf8');
}

const kept: unknown[] = [];
let xmlBytes = 0;
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < PAGES; i++) {
  const xml = page(i);
  xmlBytes += xml.length;
  const { blobs, nextMarker } = parseListBlobsXml(xml);
  kept.push(blobs, nextMarker);
}
gc();
const retainedBytes = process.memoryUsage().heapUsed - before;
process.stdout.write(`${JSON.stringify({ xmlBytes, retainedBytes, kept: kept.length })}\n`);
