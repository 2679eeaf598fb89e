import type { ContainerClient } from '@azure/storage-blob';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { ContainerRequests } from '../clients/ContainerRequests.js';
import { statusOf } from '../errors.js';
import { fromProperties, type ListedBlob } from './ListedBlob.js';
import { parseListBlobsXml } from './listBlobsXml.js';

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
