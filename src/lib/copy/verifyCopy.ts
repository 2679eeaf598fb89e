import type { Logger } from '../log.js';
import { accessControlMismatch, readDestinationAccessControl } from './accessControl.js';
import { type ListingPage, listableContainer, listBlobPages } from './blobListing.js';
import type { ListedBlob } from './ListedBlob.js';
import { compareBlobNames, type ListingOrder } from './listingOrder.js';
import { safeStorageError } from './storageErrors.js';
import type { CopyDeps } from './types.js';

export interface VerifyCopyOptions {
  /** Blobs per listing page, on each side. Default 5,000 (the service's maximum). */
  pageSize?: number;
  /** Names listed in `missing` and `mismatched` at most (all are counted). Default 1,000. */
  maxReported?: number;
  /**
   * The order both listings come in. `auto` (default) assumes the hierarchical-namespace order
   * (Azure, Kyvos) and, if a listing proves otherwise, starts again assuming the flat order.
   */
  listingOrder?: ListingOrder | 'auto';
  /**
   * Verify these source blobs (as listed) instead of listing the whole source: a sample copied to
   * a destination of its own. They are compared in the listing order tried, like a listing.
   */
  sourceBlobs?: readonly ListedBlob[];
  abortSignal?: AbortSignal;
}

type VerifyDeps = Pick<CopyDeps, 'clients' | 'source' | 'destination' | 'accessControl'>;

interface BlobMismatch {
  name: string;
  reason: string;
}

/**
 * The proof that a copy is complete: every source blob (under the prefix, through the secondary)
 * exists at the destination with the same size, the same Content-MD5 where the source has one, and
 * still a directory if it was a directory stub, and, when access control is carried
 * (`CopyDeps.accessControl`), the same owner, group and ACL. Extra blobs at the destination are
 * counted but do not fail it.
 */
export interface CopyVerification {
  ok: boolean;
  sourceCount: number;
  destinationCount: number;
  matched: number;
  /** Source blobs absent at the destination, up to `maxReported`. */
  missing: string[];
  missingCount: number;
  mismatched: BlobMismatch[];
  mismatchedCount: number;
  /** Destination blobs with no source blob. */
  extraCount: number;
  /** Whether owner, group and ACL were compared too (`CopyDeps.accessControl`). */
  accessControlChecked: boolean;
  listingOrder: ListingOrder;
  durationInMs: number;
}

/** A listing was not in the order assumed: merging it would give wrong answers. */
export class ListingOutOfOrder extends Error {
  override readonly name = 'ListingOutOfOrder';
  constructor(
    readonly side: 'source' | 'destination',
    readonly order: ListingOrder,
    readonly previous: string,
    readonly current: string,
  ) {
    super(
      `The ${side} listing is not in ${order} order: "${current}" came after "${previous}". Verification by merge needs sorted listings.`,
    );
  }
}

/**
 * Verifies a copy with a streaming merge of the sorted source listing (through the secondary
 * endpoint) and the sorted destination listing, under the same prefix. Memory holds two pages of
 * each side. Both listings are checked to be strictly increasing as they are read; a listing out of
 * order fails loudly (`ListingOutOfOrder`) rather than reporting false gaps. Reads only.
 */
export async function verifyCopy(
  deps: VerifyDeps & { logger?: Logger },
  options: VerifyCopyOptions = {},
): Promise<CopyVerification> {
  const requested = options.listingOrder ?? 'auto';
  const orders: ListingOrder[] = requested === 'auto' ? ['hierarchical', 'lexicographic'] : [requested];
  let lastError: ListingOutOfOrder | undefined;
  for (const order of orders) {
    try {
      return await verifyInOrder(deps, order, options);
    } catch (error) {
      if (!(error instanceof ListingOutOfOrder)) throw error;
      lastError = error;
      deps.logger?.warn('copy.verify.order', { assumed: order, side: error.side, reason: error.message });
    }
  }
  throw lastError ?? new Error('Verification did not run');
}

async function verifyInOrder(
  deps: VerifyDeps,
  order: ListingOrder,
  options: VerifyCopyOptions,
): Promise<CopyVerification> {
  const started = performance.now();
  const pageSize = options.pageSize ?? 5_000;
  const maxReported = options.maxReported ?? 1_000;
  const listOptions = { pageSize, ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}) };
  const destinationContainer = listableContainer(
    deps.clients,
    deps.destination.account,
    deps.destination.container,
  );
  const source = new SortedCursor(
    options.sourceBlobs
      ? pageOf(options.sourceBlobs, order)
      : listBlobPages(deps.source.listable(), deps.source.prefix, listOptions),
    order,
    'source',
    (error) => deps.source.listingFailed(error),
    options.abortSignal,
  );
  const destination = new SortedCursor(
    listBlobPages(destinationContainer, deps.source.prefix, listOptions),
    order,
    'destination',
    (error) =>
      new Error(
        `Cannot list the destination container "${deps.destination.container}" of ${deps.destination.account}: ${safeStorageError(error).message}`,
        { cause: safeStorageError(error) },
      ),
    options.abortSignal,
  );
  const result: CopyVerification = {
    ok: false,
    sourceCount: 0,
    destinationCount: 0,
    matched: 0,
    missing: [],
    missingCount: 0,
    mismatched: [],
    mismatchedCount: 0,
    extraCount: 0,
    accessControlChecked: deps.accessControl === true,
    listingOrder: order,
    durationInMs: 0,
  };
  const mismatch = (name: string, reason: string) => {
    result.mismatchedCount += 1;
    if (result.mismatched.length < maxReported) result.mismatched.push({ name, reason });
  };
  // Paths that match by listing wait here for their access control to be compared, a batch at a time.
  const accessPending: string[] = [];
  const compareAccess = async () => {
    const names = accessPending.splice(0);
    const reasons = await Promise.all(
      names.map((name) => accessControlMismatchOf(deps, name, options.abortSignal)),
    );
    reasons.forEach((reason, i) => {
      if (reason) mismatch(names[i] as string, reason);
      else result.matched += 1;
    });
  };
  let s = await source.next();
  let d = await destination.next();
  while (s || d) {
    const comparison = !s ? 1 : !d ? -1 : compareBlobNames(order, s.name, d.name);
    if (comparison < 0 && s) {
      result.sourceCount += 1;
      result.missingCount += 1;
      if (result.missing.length < maxReported) result.missing.push(s.name);
      s = await source.next();
    } else if (comparison > 0 && d) {
      result.destinationCount += 1;
      result.extraCount += 1;
      d = await destination.next();
    } else if (s && d) {
      result.sourceCount += 1;
      result.destinationCount += 1;
      const reason = mismatchOf(s, d);
      if (reason) mismatch(s.name, reason);
      else if (deps.accessControl) {
        accessPending.push(s.name);
        if (accessPending.length >= ACCESS_CONTROL_BATCH) await compareAccess();
      } else result.matched += 1;
      s = await source.next();
      d = await destination.next();
    }
  }
  await compareAccess();
  result.ok = result.missingCount === 0 && result.mismatchedCount === 0;
  result.durationInMs = Math.round(performance.now() - started);
  return result;
}

/** Given blobs as one listing page, sorted in `order`. */
async function* pageOf(blobs: readonly ListedBlob[], order: ListingOrder): AsyncGenerator<ListingPage> {
  yield { blobs: [...blobs].sort((a, b) => compareBlobNames(order, a.name, b.name)) };
}

/** Paths whose access control is compared at once. */
const ACCESS_CONTROL_BATCH = 32;

/**
 * Whether a path's owner, group and ACL at the destination are the source's (read through the
 * secondary's Data Lake endpoint). A read that fails is a mismatch that names the failure: the copy
 * cannot be proven.
 */
async function accessControlMismatchOf(
  deps: VerifyDeps,
  name: string,
  abortSignal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const [source, destination] = await Promise.all([
      deps.source.readAccessControl(name, abortSignal),
      readDestinationAccessControl(deps, name, abortSignal),
    ]);
    return accessControlMismatch(source, destination);
  } catch (error) {
    if (abortSignal?.aborted) throw abortSignal.reason ?? error;
    return `access control could not be read: ${safeStorageError(error).message}`;
  }
}

/** Why a destination blob does not match its source, or undefined when it does. */
export function mismatchOf(source: ListedBlob, destination: ListedBlob): string | undefined {
  if (source.contentLength !== destination.contentLength) {
    return `size ${source.contentLength} bytes at the source, ${destination.contentLength} at the destination`;
  }
  if (source.contentMD5 !== undefined && source.contentMD5 !== destination.contentMD5) {
    return destination.contentMD5
      ? `Content-MD5 ${source.contentMD5} at the source, ${destination.contentMD5} at the destination`
      : `Content-MD5 ${source.contentMD5} at the source, none at the destination`;
  }
  if (source.isDirectoryStub && !destination.isDirectoryStub) {
    return 'a directory (hdi_isfolder) at the source, not at the destination';
  }
  return undefined;
}

/**
 * Reads a paged listing blob by blob and checks that names strictly increase. While one page is
 * being merged the next one is already being listed, so the two sides' listings overlap: memory
 * holds two pages per side.
 */
class SortedCursor {
  private page: ListedBlob[] = [];
  private position = 0;
  private previous: string | undefined;
  private exhausted = false;
  private prefetched: Promise<IteratorResult<ListingPage>> | undefined;

  constructor(
    private readonly pages: AsyncGenerator<ListingPage>,
    private readonly order: ListingOrder,
    private readonly side: 'source' | 'destination',
    private readonly wrapError: (error: unknown) => Error,
    private readonly abortSignal?: AbortSignal,
  ) {}

  /** The next page's listing, started now; a failure is kept for when the page is needed. */
  private fetch(): Promise<IteratorResult<ListingPage>> {
    const pending = this.pages.next();
    pending.catch(() => {});
    return pending;
  }

  async next(): Promise<ListedBlob | undefined> {
    while (this.position >= this.page.length) {
      if (this.exhausted) return undefined;
      let next: IteratorResult<ListingPage>;
      try {
        next = await (this.prefetched ?? this.fetch());
      } catch (error) {
        if (this.abortSignal?.aborted) throw this.abortSignal.reason ?? error;
        throw this.wrapError(error);
      }
      if (next.done) {
        this.exhausted = true;
        this.prefetched = undefined;
        return undefined;
      }
      this.page = next.value.blobs;
      this.position = 0;
      this.prefetched = next.value.nextMarker !== undefined ? this.fetch() : undefined;
    }
    const blob = this.page[this.position++] as ListedBlob;
    if (this.previous !== undefined && compareBlobNames(this.order, this.previous, blob.name) >= 0) {
      await this.pages.return(undefined);
      throw new ListingOutOfOrder(this.side, this.order, this.previous, blob.name);
    }
    this.previous = blob.name;
    return blob;
  }
}
