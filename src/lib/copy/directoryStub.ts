import type { BlobHTTPHeaders, BlockBlobClient } from '@azure/storage-blob';
import { codeOf, statusOf } from '../errors.js';
import { DIRECTORY_STUB_METADATA, fromProperties, type ListedBlob } from './ListedBlob.js';

/**
 * The destination path of a directory stub, as the calls that write one need it: the Blob API of a
 * `BlockBlobClient`, narrowed so that the decisions can be tested on a stand-in.
 */
export interface DirectoryStubTarget {
  /** Get Blob Properties; undefined when the path does not exist. */
  lookUp(abortSignal: AbortSignal): Promise<ListedBlob | undefined>;
  /** A zero-length Put Blob with `If-None-Match: *`: it never replaces a path that exists. */
  create(metadata: Record<string, string>, headers: BlobHTTPHeaders, abortSignal: AbortSignal): Promise<void>;
  delete(abortSignal: AbortSignal): Promise<void>;
  setProperties(
    metadata: Record<string, string>,
    headers: BlobHTTPHeaders,
    abortSignal: AbortSignal,
  ): Promise<void>;
}

/**
 * What to do next for a directory stub, as AzCopy does it (`ste/sender-blobFolders.go`,
 * `EnsureFolderExists` and `overwriteDFSProperties` in Azure/azure-storage-azcopy):
 * - `create`: the path does not exist; put a zero-length blob with `hdi_isfolder=true`;
 * - `delete`: something exists there; delete it, to write the stub with the source's properties
 *   (on a flat namespace a stub is an ordinary blob; on a hierarchical one an empty directory goes);
 * - `set-properties`: the delete was refused because the directory has children (a hierarchical
 *   namespace, `DirectoryIsNotEmpty`): set the source's metadata, WITHOUT `hdi_isfolder` (the
 *   service's own marker, which cannot be set on a path that exists), and its HTTP headers.
 */
export type DirectoryStubStep = 'create' | 'delete' | 'set-properties';

export function nextDirectoryStubStep(
  destination: ListedBlob | undefined,
  deleteRefusedAsNotEmpty: boolean,
): DirectoryStubStep {
  if (destination === undefined) return 'create';
  return deleteRefusedAsNotEmpty ? 'set-properties' : 'delete';
}

/** The metadata without `hdi_isfolder` in any letter case: what may be set on an existing directory. */
export function withoutFolderFlag(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata).filter(([key]) => key.toLowerCase() !== DIRECTORY_STUB_METADATA),
  );
}

/** Lookups and writes before a stub gives up: each round loses only to a concurrent writer. */
const MAX_ROUNDS = 4;

/**
 * Recreates a directory stub at the destination: a directory with the source's metadata and HTTP
 * headers. It never puts a stub over a path that exists: in a hierarchical namespace the directory is
 * often there already, made by a blob under it that another copy call wrote first, and the service
 * refuses `hdi_isfolder` on an existing path. A create that loses to such a concurrent write
 * (`409`/`412` of `If-None-Match: *`, or the refused flag) looks again and takes the next step.
 */
export async function writeDirectoryStub(
  target: DirectoryStubTarget,
  blob: ListedBlob,
  abortSignal: AbortSignal,
): Promise<void> {
  const headers = headersOf(blob);
  let notEmpty = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const step = nextDirectoryStubStep(await target.lookUp(abortSignal), notEmpty);
    if (step === 'set-properties') {
      await target.setProperties(withoutFolderFlag(blob.metadata), headers, abortSignal);
      return;
    }
    try {
      if (step === 'delete') await target.delete(abortSignal);
      else {
        await target.create(
          { ...withoutFolderFlag(blob.metadata), [DIRECTORY_STUB_METADATA]: 'true' },
          headers,
          abortSignal,
        );
        return;
      }
    } catch (error) {
      // A delete that found nothing (gone meanwhile) or a lost create: look again.
      if (step === 'delete' && codeOf(error) === 'DirectoryIsNotEmpty') notEmpty = true;
      else if (step === 'delete' ? statusOf(error) !== 404 : !isLostCreate(error)) throw error;
    }
  }
  throw new Error(
    `The directory "${blob.name}" could not be written at the destination: it kept changing under ${MAX_ROUNDS} attempts (concurrent writers?).`,
  );
}

/** A create refused because the path appeared meanwhile. */
function isLostCreate(error: unknown): boolean {
  const status = statusOf(error);
  return status === 409 || status === 412 || codeOf(error) === 'UnsupportedHeader';
}

function headersOf(blob: ListedBlob): BlobHTTPHeaders {
  return {
    ...(blob.contentType ? { blobContentType: blob.contentType } : {}),
    ...(blob.contentEncoding ? { blobContentEncoding: blob.contentEncoding } : {}),
    ...(blob.contentLanguage ? { blobContentLanguage: blob.contentLanguage } : {}),
    ...(blob.cacheControl ? { blobCacheControl: blob.cacheControl } : {}),
    ...(blob.contentDisposition ? { blobContentDisposition: blob.contentDisposition } : {}),
    // Set Blob Properties clears what it is not given, Content-MD5 included: the source's is kept.
    ...(blob.contentMD5 ? { blobContentMD5: Buffer.from(blob.contentMD5, 'base64') } : {}),
  };
}

/** The Blob API calls of `DirectoryStubTarget` on one destination blob. */
export function directoryStubTarget(client: BlockBlobClient): DirectoryStubTarget {
  return {
    lookUp: async (abortSignal) => {
      try {
        return fromProperties(client.name, await client.getProperties({ abortSignal }));
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    create: async (metadata, blobHTTPHeaders, abortSignal) => {
      await client.upload('', 0, {
        metadata,
        blobHTTPHeaders,
        conditions: { ifNoneMatch: '*' },
        abortSignal,
      });
    },
    delete: async (abortSignal) => {
      await client.delete({ abortSignal });
    },
    setProperties: async (metadata, blobHTTPHeaders, abortSignal) => {
      await client.setMetadata(metadata, { abortSignal });
      await client.setHTTPHeaders(blobHTTPHeaders, { abortSignal });
    },
  };
}
