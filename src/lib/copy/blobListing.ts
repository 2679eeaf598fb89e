import type { BlobGetPropertiesResponse, ContainerClient } from '@azure/storage-blob';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { ContainerRequests } from '../clients/ContainerRequests.js';
import { statusOf } from '../errors.js';
import { parseListBlobsXml } from './listBlobsXml.js';

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

/** One page of a listing: the blobs, where the page started and where the next one starts. */
export interface ListingPage {
  /** Continuation token this page was listed from; undefined for the first page. */
  marker?: string;
  /** Continuation token of the next page; undefined on the last page. */
  nextMarker?: string;
  blobs: ListedBlob[];
}

/**
 * A container to list: raw requests for List Blobs (parsed by `parseListBlobsXml`, not by the SDK),
 * and the SDK client for calls on single blobs.
 */
export interface ListableContainer {
  client: ContainerClient;
  requests: ContainerRequests;
}

/** A container of an account reached with the identity (the destination, the app's storage). */
export function listableContainer(
  clients: ClientFactory,
  account: string,
  container: string,
): ListableContainer {
  return {
    client: clients.blobService(account).getContainerClient(container),
    requests: clients.containerRequests(account, container),
  };
}

export interface ListBlobPagesOptions {
  /** Start at this continuation token instead of the beginning. */
  marker?: string;
  pageSize: number;
  abortSignal?: AbortSignal;
}

/** `a/b/` → `a/b`; `''` stays `''`. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

/**
 * Lists the blobs under `prefix` page by page (flat, with metadata), holding one page at a time.
 *
 * With a non-empty prefix `a/b`, the listing uses the service prefix `a/b/` (so `a/bc` is never
 * listed) and the first page starts with the blob `a/b` itself when it exists: the directory stub
 * of the work directory. It sorts before everything under `a/b/` in both the flat and the
 * hierarchical-namespace listing orders, so the pages stay sorted.
 */
export async function* listBlobPages(
  container: ListableContainer,
  prefix: string,
  options: ListBlobPagesOptions,
): AsyncGenerator<ListingPage> {
  const normalized = normalizePrefix(prefix);
  const stub =
    options.marker === undefined && normalized !== ''
      ? await getListedBlob(container.client, normalized, options.abortSignal)
      : undefined;
  let marker = options.marker;
  let first = true;
  while (true) {
    const page = await listOnePage(container, normalized, marker, options);
    if (first && stub) page.blobs.unshift(stub);
    first = false;
    yield page;
    if (page.nextMarker === undefined) return;
    marker = page.nextMarker;
  }
}

/** The page at `marker`: one List Blobs request, its answer parsed in one pass. */
async function listOnePage(
  container: ListableContainer,
  normalized: string,
  marker: string | undefined,
  options: ListBlobPagesOptions,
): Promise<ListingPage> {
  const query: Record<string, string> = {
    restype: 'container',
    comp: 'list',
    include: 'metadata',
    maxresults: String(options.pageSize),
  };
  if (normalized) query.prefix = `${normalized}/`;
  if (marker !== undefined) query.marker = marker;
  const body = await container.requests.get(
    query,
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
  const { blobs, nextMarker } = parseListBlobsXml(body);
  return {
    ...(marker !== undefined ? { marker } : {}),
    ...(nextMarker ? { nextMarker } : {}),
    blobs,
  };
}

/** Lists exactly one page: the one starting at `marker`. */
export async function listBlobPage(
  container: ListableContainer,
  prefix: string,
  options: ListBlobPagesOptions,
): Promise<ListingPage> {
  const pages = listBlobPages(container, prefix, options);
  try {
    const { value } = await pages.next();
    return value ?? { ...(options.marker !== undefined ? { marker: options.marker } : {}), blobs: [] };
  } finally {
    await pages.return(undefined);
  }
}

/** The blob `name` as a listing would show it, or undefined when it does not exist. */
export async function getListedBlob(
  container: ContainerClient,
  name: string,
  abortSignal?: AbortSignal,
): Promise<ListedBlob | undefined> {
  try {
    const properties = await container.getBlobClient(name).getProperties(abortSignal ? { abortSignal } : {});
    return fromProperties(name, properties);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
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
