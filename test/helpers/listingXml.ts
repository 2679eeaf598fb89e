/** A List Blobs answer (one page, no next marker) holding block blobs of 10 bytes with these names. */
export function listingXml(...names: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>${names
    .map(
      (n) =>
        `<Blob><Name>${n}</Name><Properties><Content-Length>10</Content-Length><BlobType>BlockBlob</BlobType></Properties><Metadata/></Blob>`,
    )
    .join('')}</Blobs><NextMarker/></EnumerationResults>`;
}
