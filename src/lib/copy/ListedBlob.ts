/**
 * A blob as listing, copying and verifying see it, whether it came from a List Blobs answer
 * (`parseListBlobsXml`) or from Get Blob Properties (`fromProperties`).
 */
import type { BlobGetPropertiesResponse } from '@azure/storage-blob';

/**
 * The metadata a hierarchical namespace (ADLS Gen2) puts on a directory when it is seen through the
 * Blob API: a zero-length blob with `hdi_isfolder=true`. Copying these stubs is what makes empty
 * directories survive a failover.
 *
 * A directory has no content: in a hierarchical namespace a directory is a path without data
 * (https://learn.microsoft.com/azure/storage/blobs/data-lake-storage-namespace), seen through the
 * Blob API as a zero-length blob. Without a hierarchical namespace the flag is only user metadata,
 * which any blob may carry. So a blob with content is a file whatever its metadata says, and is
 * copied byte for byte with that metadata.
 */
export const DIRECTORY_STUB_METADATA = 'hdi_isfolder';

/** One blob of a listing, reduced to what copying and verifying need. */
export interface ListedBlob {
  name: string;
  contentLength: number;
  /** Base64 Content-MD5, when the blob has one. */
  contentMD5?: string;
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  cacheControl?: string;
  contentDisposition?: string;
  blobType?: string;
  lastModified?: Date;
  metadata: Record<string, string>;
  /** A directory of a hierarchical namespace: `hdi_isfolder=true` and no content (see `isDirectoryStub`). */
  isDirectoryStub: boolean;
}

/**
 * Whether a blob is a directory stub, recreated as a zero-length blob rather than copied: it carries
 * `hdi_isfolder=true` AND has no content. A flagged blob with content is a file (see
 * `DIRECTORY_STUB_METADATA`); treating it as a directory would drop its bytes.
 */
export function isDirectoryStub(
  metadata: Record<string, string> | undefined,
  contentLength: number,
): boolean {
  if (!metadata || contentLength > 0) return false;
  for (const [key, value] of Object.entries(metadata)) {
    if (key.toLowerCase() === DIRECTORY_STUB_METADATA && value.toLowerCase() === 'true') return true;
  }
  return false;
}

export function fromProperties(name: string, p: BlobGetPropertiesResponse): ListedBlob {
  const metadata = metadataOf(p.metadata);
  return {
    name,
    contentLength: p.contentLength ?? 0,
    ...optional('contentMD5', p.contentMD5 ? Buffer.from(p.contentMD5).toString('base64') : undefined),
    ...optional('contentType', p.contentType),
    ...optional('contentEncoding', p.contentEncoding),
    ...optional('contentLanguage', p.contentLanguage),
    ...optional('cacheControl', p.cacheControl),
    ...optional('contentDisposition', p.contentDisposition),
    ...optional('blobType', p.blobType),
    ...optional('lastModified', p.lastModified),
    metadata,
    isDirectoryStub: isDirectoryStub(metadata, p.contentLength ?? 0),
  };
}

/** Metadata as an object; Azurite lists the empty metadata of a copied blob as `''`. */
function metadataOf(metadata: unknown): Record<string, string> {
  return metadata && typeof metadata === 'object' ? (metadata as Record<string, string>) : {};
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined || value === null ? {} : { [key]: value }) as { [P in K]?: V };
}
