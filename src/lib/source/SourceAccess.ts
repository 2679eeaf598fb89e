import type { ContainerClient } from '@azure/storage-blob';
import type { DataLakeFileSystemClient } from '@azure/storage-file-datalake';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { AppSettings } from '../config/ConfigSource.js';
import { type DrConfig, Sensitive } from '../config/DrConfig.js';
import { accessControlOf, type PathAccessControl } from '../copy/accessControl.js';
import { type ListableContainer, listBlobPage, normalizePrefix } from '../copy/blobListing.js';
import { safeStorageError } from '../copy/storageErrors.js';
import { statusOf } from '../errors.js';
import {
  createUserDelegationSourceSas,
  missingSourceCredential,
  normalizeSourceSas,
  readSourceSas,
} from './sourceCredential.js';

/**
 * Where a failover copy reads: the primary's container, through the account's RA-GRS secondary
 * endpoint (`<account>-secondary`), which keeps answering while the primary region is down.
 */
export interface SourceLocation {
  /** The primary storage account. The copy only ever talks to its secondary endpoint. */
  account: string;
  container: string;
  /**
   * The subtree to copy: the Kyvos engine work directory, e.g. `kyvos/engine_work`. `''` copies the
   * whole container. `a/b` means the blob `a/b` itself (the directory stub) and everything under
   * `a/b/`, never `a/bc`. Leading and trailing slashes are ignored.
   */
  prefix: string;
}

/** What `SourceAccess.open` needs: the configuration, and where the stored SAS may be read. */
export interface OpenSourceAccessOptions {
  config: DrConfig;
  clients: ClientFactory;
  settings: AppSettings;
  /** Signs a user-delegation SAS from this time. */
  clock: () => Date;
  abortSignal?: AbortSignal;
}

/** What `SourceAccess.prove` saw: enough to show that the copy's reads were tried, and how. */
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
  /** The copy carries access control: read the blob's ACL too, as the copy will. */
  accessControl?: boolean;
  abortSignal?: AbortSignal;
}

/**
 * How the failover reads its source: the primary's container through the RA-GRS `-secondary`
 * endpoints (blob, and Data Lake for access control), authorised by the SAS `kyvos-dr-source-auth`
 * selects. One is opened per step (or copy message) and handed to the copy, its verification,
 * preflight's proof and the health check alike, so that all of them read the source the same way.
 *
 * The SAS stays inside: it is checked (signed, not expired) when the first client is built, the
 * clients are built once and kept, and nothing this object returns, throws or prints holds it, except
 * the URLs of the blob clients `containerClient()` hands out. Such a URL is the copy source handed to
 * the destination service, and must never be logged.
 */
export class SourceAccess implements SourceLocation {
  readonly account: string;
  readonly container: string;
  readonly prefix: string;
  readonly #clients: ClientFactory;
  readonly #sas: string | Sensitive;
  #queryString: string | undefined;
  #container: ContainerClient | undefined;
  #listable: ListableContainer | undefined;
  #fileSystem: DataLakeFileSystemClient | undefined;

  /**
   * @param sas A read/list SAS for the source (from Key Vault as a `Sensitive`, or signed by
   *   `createUserDelegationSourceSas`): a query string with or without `?`, or a whole URL.
   */
  constructor(clients: ClientFactory, location: SourceLocation, sas: string | Sensitive) {
    this.account = location.account;
    this.container = location.container;
    this.prefix = location.prefix;
    this.#clients = clients;
    this.#sas = sas;
  }

  /**
   * The source of the configured primary container and copy prefix, with the credential
   * `kyvos-dr-source-auth` selects:
   *
   * - `stored-sas` (default): the SAS in the secret named by `kyvos-dr-source-sas-secret-name`, read
   *   at each open. Without that name there is no credential, and this throws
   *   `missingSourceCredential`: the copy never falls back to a user-delegation SAS on its own, since
   *   no Microsoft document says the secondary accepts one (and Storage Explorer reports that it does
   *   not, https://github.com/microsoft/AzureStorageExplorer/issues/6076).
   * - `user-delegation`: a SAS signed with a user delegation key from the primary endpoint
   *   (`createUserDelegationSourceSas`), for an operator who proved that the secondary accepts it.
   *   Preflight proves it again with this very credential before anything irreversible.
   */
  static async open(options: OpenSourceAccessOptions): Promise<SourceAccess> {
    const { config, clients } = options;
    const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    const location = {
      account: config.primary.storageAccount,
      container: config.primary.container,
      prefix: config.copyPrefix,
    };
    if (config.sourceAuth === 'user-delegation') {
      const sas = await createUserDelegationSourceSas(clients, {
        account: location.account,
        container: location.container,
        now: options.clock(),
        ...abort,
      });
      return new SourceAccess(clients, location, new Sensitive(sas));
    }
    const stored = await readSourceSas(config, { settings: options.settings, clients }, abort);
    if (!stored) throw missingSourceCredential(config);
    return new SourceAccess(clients, location, stored);
  }

  /** The secondary blob endpoint the copy reads from, without any SAS: safe for messages and logs. */
  get endpoint(): string {
    return this.#clients.blobEndpoint(this.account, true);
  }

  /**
   * The source container at the secondary blob endpoint, authorised by the SAS. The `.url` of a blob
   * client derived from it (`getBlobClient(name).url`) is that blob's copy source URL, SAS included
   * and properly encoded: never log it. Throws `ConfigError` for a SAS without a signature or past
   * its expiry.
   */
  containerClient(): ContainerClient {
    this.#container ??= this.#clients
      .blobService(this.account, { secondary: true, sas: this.#query() })
      .getContainerClient(this.container);
    return this.#container;
  }

  /** The source container to list: raw List Blobs and the SDK client, both at the secondary. */
  listable(): ListableContainer {
    this.#listable ??= {
      client: this.containerClient(),
      requests: this.#clients.containerRequests(this.account, this.container, {
        secondary: true,
        sas: this.#query(),
      }),
    };
    return this.#listable;
  }

  /** A source path's owner, group and ACL, through the secondary's Data Lake endpoint with the SAS. */
  async readAccessControl(name: string, abortSignal?: AbortSignal): Promise<PathAccessControl> {
    this.#fileSystem ??= this.#clients
      .dataLakeService(this.account, { secondary: true, sas: this.#query() })
      .getFileSystemClient(this.container);
    const path = this.#fileSystem.getFileClient(name);
    return accessControlOf(await path.getAccessControl(abortSignal ? { abortSignal } : {}));
  }

  /**
   * A listing of the source failed: the error names the secondary endpoint, container and prefix,
   * keeps the status and code, and holds nothing of the request (no SAS).
   */
  listingFailed(error: unknown): Error & { statusCode?: number; code?: string } {
    const cause = safeStorageError(error);
    const failed = new Error(
      `Cannot list ${this.#describe()} through the RA-GRS secondary endpoint ${this.endpoint}: ${cause.message}.${cause.code === 'AuthorizationFailure' ? " The account's network rules (firewall) refused the Function app's network: admit the app's integration subnet (virtual network rule) or its outbound address (IP rule)." : ' Check that read access to the secondary is enabled (RA-GRS) and reachable, and that the source SAS is valid.'}`,
      { cause },
    ) as Error & { statusCode?: number; code?: string };
    if (cause.statusCode !== undefined) failed.statusCode = cause.statusCode;
    if (cause.code !== undefined) failed.code = cause.code;
    return failed;
  }

  /**
   * Proves, before anything irreversible happens, that the copy can read its source: it lists the
   * first page of the container and prefix through the `-secondary` endpoint with the SAS the copy
   * will use, and when the source is not empty reads one blob's properties with it. The listing
   * needs the SAS's List permission; Get Blob Properties needs Read, which is also what lets the
   * destination service read the blob as the source of Copy Blob (From URL)
   * (https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas#permissions-for-a-directory-container-or-blob).
   * A 404 on that blob (deleted since it was listed) still proves access: the service authorises a
   * request before it looks the blob up.
   *
   * With `accessControl`, the blob's ACL is read too, through the secondary's Data Lake endpoint, as
   * the copy will read every path's.
   *
   * Throws what the copy would: `ConfigError` for a SAS without a signature or past its expiry, the
   * `listingFailed` error (endpoint, container, prefix, status; never the SAS) for a listing that
   * fails, and an error naming the blob for a read that fails.
   */
  async prove(options: ProveSourceAccessOptions = {}): Promise<SourceAccessProof> {
    const container = this.listable();
    const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    const endpoint = this.endpoint;
    let blobs: Array<{ name: string; isDirectoryStub: boolean }>;
    try {
      ({ blobs } = await listBlobPage(container, this.prefix, {
        pageSize: options.pageSize ?? 10,
        ...abort,
      }));
    } catch (error) {
      throw this.listingFailed(error);
    }
    // A file rather than a directory stub, when there is one: the copy's reads are of files.
    const blob = blobs.find((b) => !b.isDirectoryStub) ?? blobs[0];
    if (!blob) return { endpoint, blobsListed: 0 };
    try {
      await container.client.getBlobClient(blob.name).getProperties(abort);
    } catch (error) {
      if (statusOf(error) !== 404) throw this.#readFailed(blob.name, error);
    }
    if (options.accessControl) {
      try {
        await this.readAccessControl(blob.name, options.abortSignal);
      } catch (error) {
        if (statusOf(error) !== 404) throw accessControlReadFailed(blob.name, error);
      }
    }
    return { endpoint, blobsListed: blobs.length, blobRead: blob.name };
  }

  /** The SAS as a query string, checked once; a `ConfigError` (never quoting it) when unusable. */
  #query(): string {
    this.#queryString ??= normalizeSourceSas(this.#sas);
    return this.#queryString;
  }

  #describe(): string {
    const prefix = normalizePrefix(this.prefix);
    return prefix ? `container "${this.container}" under "${prefix}/"` : `container "${this.container}"`;
  }

  /** A read of a listed source blob failed: the SAS lists but does not read (no `r`), or the read broke. */
  #readFailed(name: string, error: unknown): Error {
    const cause = safeStorageError(error);
    return new Error(
      `Cannot read the source blob "${name}" through the RA-GRS secondary endpoint ${this.endpoint}: ${cause.message}. The copy reads every blob this way: check that the source SAS has read (r) as well as list (l) permission.`,
      { cause },
    );
  }
}

/** The ACL of a listed source path cannot be read through the secondary's Data Lake endpoint. */
function accessControlReadFailed(name: string, error: unknown): Error {
  const cause = safeStorageError(error);
  return new Error(
    `Cannot read the access control of the source path "${name}" through the RA-GRS secondary's Data Lake endpoint: ${cause.message}. The copy carries owner, group and ACLs (kyvos-dr-copy-acls): give the source SAS execute (e) permission (a service or user-delegation SAS), or set kyvos-dr-copy-acls to off to copy without them.`,
    { cause },
  );
}
