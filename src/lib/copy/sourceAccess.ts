import {
  type ContainerClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
} from '@azure/storage-blob';
import type { ClientFactory } from '../clients/ClientFactory.js';
import { Sensitive } from '../config/DrConfig.js';
import { sasQueryString } from '../config/sourceSas.js';
import { ConfigError, statusOf } from '../errors.js';
import { readSourceAccessControl } from './accessControl.js';
import { type ListableContainer, listBlobPage, normalizePrefix } from './blobListing.js';
import { safeStorageError } from './storageErrors.js';
import type { CopyListingDeps, CopySource } from './types.js';

/**
 * The source container through the RA-GRS secondary endpoint, authorised by the source SAS. Blob
 * clients derived from it carry the SAS in their `.url`, properly encoded: that URL is the copy
 * source handed to the destination service, and it must never be logged.
 */
export function sourceContainerClient(clients: ClientFactory, source: CopySource): ContainerClient {
  return clients
    .blobService(source.account, { secondary: true, sas: normalizeSourceSas(source.sas) })
    .getContainerClient(source.container);
}

/** The source container through the secondary endpoint, to list: raw List Blobs and the SDK client. */
export function sourceListable(clients: ClientFactory, source: CopySource): ListableContainer {
  return {
    client: sourceContainerClient(clients, source),
    requests: clients.containerRequests(source.account, source.container, {
      secondary: true,
      sas: normalizeSourceSas(source.sas),
    }),
  };
}

/** The secondary endpoint the copy reads from, without any SAS: safe for messages and logs. */
export function sourceEndpoint(clients: ClientFactory, source: CopySource): string {
  return clients.blobEndpoint(source.account, true);
}

/**
 * The SAS as a query string without `?` (given as a query string, with or without `?`, or as a
 * whole URL). Refuses one without a signature, and one whose `se` (expiry) has passed, naming the
 * problem but never the value.
 */
export function normalizeSourceSas(sas: string | Sensitive, now: Date = new Date()): string {
  const trimmed = sasQueryString(sas instanceof Sensitive ? sas : new Sensitive(sas));
  const params = new URLSearchParams(trimmed);
  if (!params.get('sig')) {
    throw new ConfigError(
      'The source SAS has no signature (sig): store a SAS query string with read and list permissions for the primary account.',
    );
  }
  const expiry = params.get('se');
  if (expiry && !Number.isNaN(Date.parse(expiry)) && Date.parse(expiry) <= now.getTime()) {
    throw new ConfigError(
      `The source SAS expired at ${new Date(Date.parse(expiry)).toISOString()}: store a renewed read/list SAS in its secret (and in its break-glass app setting, if you keep one).`,
    );
  }
  return trimmed;
}

export interface UserDelegationSourceSasOptions {
  account: string;
  container: string;
  /** How long the SAS is valid. Default 24 hours; a user delegation key lives at most 7 days. */
  validityInMinutes?: number;
  /** Clock skew allowance for the start time. Default 5 minutes. */
  startSkewInMinutes?: number;
  now?: Date;
  abortSignal?: AbortSignal;
}

/**
 * A user-delegation SAS (container scope, read and list, HTTPS only) for the source, signed with a
 * user delegation key that the Function's identity obtains from the primary endpoint
 * (`Get User Delegation Key`). It needs the identity to hold a data role on the source account, and
 * the primary endpoint to answer: in a primary-region outage this path is unavailable.
 *
 * No Microsoft document says that the secondary endpoint accepts a user-delegation SAS, Storage
 * Explorer reports that it does not (https://github.com/microsoft/AzureStorageExplorer/issues/6076),
 * and Azurite answers 403 for one on `<account>-secondary`. It is used only when
 * `kyvos-dr-source-auth` is `user-delegation` (`sourceCredentialFor`), and proven on the secondary
 * before anything irreversible.
 */
export async function createUserDelegationSourceSas(
  clients: ClientFactory,
  options: UserDelegationSourceSasOptions,
): Promise<string> {
  const now = options.now ?? new Date();
  const startsOn = new Date(now.getTime() - (options.startSkewInMinutes ?? 5) * 60_000);
  const expiresOn = new Date(now.getTime() + (options.validityInMinutes ?? 24 * 60) * 60_000);
  const key = await clients
    .blobService(options.account)
    .getUserDelegationKey(
      startsOn,
      expiresOn,
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
  return generateBlobSASQueryParameters(
    {
      containerName: options.container,
      // Execute (e) also reads the POSIX ACL of a path in a hierarchical namespace, which the copy of
      // access control needs ("Create a user delegation SAS", permissions:
      // https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas#specify-permissions).
      permissions: ContainerSASPermissions.parse('rle'),
      protocol: SASProtocol.Https,
      startsOn,
      expiresOn,
    },
    key,
    options.account,
  ).toString();
}

/** A listing of the source failed: the message names the secondary endpoint, container and prefix. */
export function listingFailed(
  deps: CopyListingDeps,
  error: unknown,
): Error & { statusCode?: number; code?: string } {
  const cause = safeStorageError(error);
  const failed = new Error(
    `Cannot list ${describeSource(deps.source)} through the RA-GRS secondary endpoint ${sourceEndpoint(deps.clients, deps.source)}: ${cause.message}.${cause.code === 'AuthorizationFailure' ? " The account's network rules (firewall) refused the Function app's network: admit the app's integration subnet (virtual network rule) or its outbound address (IP rule)." : ' Check that read access to the secondary is enabled (RA-GRS) and reachable, and that the source SAS is valid.'}`,
    { cause },
  ) as Error & { statusCode?: number; code?: string };
  if (cause.statusCode !== undefined) failed.statusCode = cause.statusCode;
  if (cause.code !== undefined) failed.code = cause.code;
  return failed;
}

/** What `proveSourceAccess` saw: enough to show that the copy's reads were tried, and how. */
export interface SourceAccessProof {
  /** The secondary endpoint that answered (no SAS). */
  endpoint: string;
  /** Blobs on the first listing page (at most `pageSize`): 0 for an empty source. */
  blobsListed: number;
  /** The blob whose properties were read with the copy's SAS; absent when the source is empty. */
  blobRead?: string;
}

export interface ProveSourceAccessOptions {
  /** Size of the one page listed. Default 10: the proof needs one blob, not the whole listing. */
  pageSize?: number;
  abortSignal?: AbortSignal;
}

/**
 * Proves, before anything irreversible happens, that the copy can read its source: it lists the
 * first page of the configured container and prefix through the `-secondary` endpoint with the SAS
 * the copy will use, and when the source is not empty reads one blob's properties with it. The
 * listing needs the SAS's List permission; Get Blob Properties needs Read, which is also what lets
 * the destination service read the blob as the source of Copy Blob (From URL)
 * (https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas#permissions-for-a-directory-container-or-blob).
 * A 404 on that blob (deleted since it was listed) still proves access: the service authorises a
 * request before it looks the blob up.
 *
 * When the copy carries access control, the blob's ACL is read too, through the secondary's Data
 * Lake endpoint, as the copy will read every path's.
 *
 * Throws what the copy would: `ConfigError` for a SAS without a signature or past its expiry, the
 * `listingFailed` error (endpoint, container, prefix, status; never the SAS) for a listing that
 * fails, and an error naming the blob for a read that fails.
 */
export async function proveSourceAccess(
  deps: CopyListingDeps,
  options: ProveSourceAccessOptions = {},
): Promise<SourceAccessProof> {
  const container = sourceListable(deps.clients, deps.source);
  const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  const endpoint = sourceEndpoint(deps.clients, deps.source);
  let blobs: Array<{ name: string; isDirectoryStub: boolean }>;
  try {
    ({ blobs } = await listBlobPage(container, deps.source.prefix, {
      pageSize: options.pageSize ?? 10,
      ...abort,
    }));
  } catch (error) {
    throw listingFailed(deps, error);
  }
  // A file rather than a directory stub, when there is one: the copy's reads are of files.
  const blob = blobs.find((b) => !b.isDirectoryStub) ?? blobs[0];
  if (!blob) return { endpoint, blobsListed: 0 };
  try {
    await container.client.getBlobClient(blob.name).getProperties(abort);
  } catch (error) {
    if (statusOf(error) !== 404) throw readFailed(deps, blob.name, error);
  }
  if (deps.accessControl) {
    try {
      await readSourceAccessControl(deps, blob.name, options.abortSignal);
    } catch (error) {
      if (statusOf(error) !== 404) throw accessControlReadFailed(blob.name, error);
    }
  }
  return { endpoint, blobsListed: blobs.length, blobRead: blob.name };
}

/** A read of a listed source blob failed: the SAS lists but does not read (no `r`), or the read broke. */
function readFailed(deps: CopyListingDeps, name: string, error: unknown): Error {
  const cause = safeStorageError(error);
  return new Error(
    `Cannot read the source blob "${name}" through the RA-GRS secondary endpoint ${sourceEndpoint(deps.clients, deps.source)}: ${cause.message}. The copy reads every blob this way: check that the source SAS has read (r) as well as list (l) permission.`,
    { cause },
  );
}

/** The ACL of a listed source path cannot be read through the secondary's Data Lake endpoint. */
function accessControlReadFailed(name: string, error: unknown): Error {
  const cause = safeStorageError(error);
  return new Error(
    `Cannot read the access control of the source path "${name}" through the RA-GRS secondary's Data Lake endpoint: ${cause.message}. The copy carries owner, group and ACLs (kyvos-dr-copy-acls): give the source SAS execute (e) permission (a service or user-delegation SAS), or set kyvos-dr-copy-acls to off to copy without them.`,
    { cause },
  );
}

function describeSource(source: CopySource): string {
  const prefix = normalizePrefix(source.prefix);
  return prefix ? `container "${source.container}" under "${prefix}/"` : `container "${source.container}"`;
}
