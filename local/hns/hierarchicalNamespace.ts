import type http from 'node:http';
import https from 'node:https';
import { BlobServiceClient, newPipeline, StorageSharedKeyCredential } from '@azure/storage-blob';
import { UnprintableAgent } from '../../src/lib/clients/ClientFactory.js';
import type { LocalStorageAccount } from '../types.js';
import {
  AccessControlStore,
  defaultAccess,
  isValidAcl,
  type PathAccess,
  permissionsOf,
  withPermissions,
} from './accessControl.js';
import type { FrontEndpoint } from './endpoints.js';

/** The metadata that marks a directory on the Blob API of a hierarchical-namespace account. */
const FOLDER_METADATA = 'hdi_isfolder';
const FOLDER_HEADER = `x-ms-meta-${FOLDER_METADATA}`;

export interface HierarchicalNamespaceOptions {
  cert: string;
  /** Azurite's blob port on 127.0.0.1, reached directly with the account keys. */
  azuriteBlobPort: number;
  /** Called after each directory the namespace creates for a child's write, before the client hears of it. */
  onDirectoryCreated?: (account: string, container: string, directory: string) => Promise<void>;
}

/** What the front does with a request after `intercept`. */
export type HnsDecision =
  /** Answered here (a Data Lake operation, or a request the namespace refuses). */
  | { kind: 'answered' }
  /** Forward to Azurite; when it succeeds, run `afterSuccess` before answering the client. */
  | { kind: 'forward'; afterSuccess?: () => Promise<void> };

/**
 * Hierarchical-namespace (ADLS Gen2) semantics for the stack's HNS accounts, in the storage front.
 * Azurite has a flat namespace and no Data Lake API; on Azure an HNS account's Blob API works on real
 * directories. What this adds, each from Azure's behaviour:
 *
 * - **Directories are created by their children.** A blob written as `a/b/c` makes the directories
 *   `a` and `a/b` when they are missing, and a flat listing through the Blob API shows them as
 *   zero-length blobs with `hdi_isfolder=true` ("Azure Data Lake Storage … all intermediate
 *   directories are created": https://learn.microsoft.com/azure/storage/blobs/data-lake-storage-namespace;
 *   listings returning them: Azure/azure-sdk-for-python#29026, Azure/azure-sdk-for-js#26139).
 *   Here the markers are written to Azurite after the child's write succeeded, before the client
 *   hears of it.
 * - **`hdi_isfolder` is the service's own marker.** It cannot be set on a path that exists: Set Blob
 *   Metadata carrying it is refused `400 UnsupportedHeader`, which is what the service answers
 *   AzCopy (its e2e resource manager retries Set Metadata without `hdi_isfolder` on
 *   `UnsupportedHeader`: Azure/azure-storage-azcopy e2etest/newe2e_resource_managers_blobfs.go;
 *   `ste/sender-blobFS.go` strips it before every Set Metadata: "Can't be set on HNS accounts").
 *   A Put Blob carrying it over an existing path is refused the same way: Azure documents no answer
 *   for it, and AzCopy never sends one (`ste/sender-blobFolders.go` checks with Get Properties first
 *   and, for an existing directory, sets metadata without the flag). Metadata set on a directory
 *   without the flag leaves it a directory, as the service keeps the resource type.
 * - **A directory with children cannot be deleted through the Blob API**: `409 DirectoryIsNotEmpty`,
 *   the code AzCopy handles on Delete Blob (`ste/sender-blobFolders.go`).
 * - **Access control through the Data Lake endpoint** (`<account>[-secondary]-dfs`): Path - Get
 *   Properties with `action=getAccessControl` and Path - Update with `action=setAccessControl`
 *   (`accessControl.ts`). Other requests on that endpoint are Blob API requests: the Data Lake SDK
 *   sends them to its blob endpoint, which for a path-style (IP) URL is the same URL.
 */
export function createHierarchicalNamespace(options: HierarchicalNamespaceOptions) {
  // Unprintable: the SDK's request log of this process would dump a plain agent's sockets.
  const agent = new UnprintableAgent({ ca: options.cert, keepAlive: true, maxSockets: 64 });
  const services = new Map<string, BlobServiceClient>();
  const serviceOf = (account: LocalStorageAccount): BlobServiceClient => {
    let service = services.get(account.name);
    if (!service) {
      const pipeline = newPipeline(new StorageSharedKeyCredential(account.name, account.key), {
        retryOptions: { maxTries: 3, retryDelayInMs: 50 },
      });
      // The Storage SDK's extension point for the transport: a request-policy factory (as ClientFactory).
      pipeline.factories.unshift({
        create: (next: { sendRequest(request: { agent?: unknown }): Promise<unknown> }) => ({
          sendRequest: (request: { agent?: unknown }) => {
            request.agent = agent;
            return next.sendRequest(request);
          },
        }),
      } as never);
      service = new BlobServiceClient(
        `https://127.0.0.1:${options.azuriteBlobPort}/${account.name}`,
        pipeline,
      );
      services.set(account.name, service);
    }
    return service;
  };
  const acls = new AccessControlStore();

  /** The path as Azurite has it: undefined when missing, else whether it is a directory marker. */
  const lookUp = async (account: LocalStorageAccount, container: string, name: string) => {
    try {
      const p = await serviceOf(account).getContainerClient(container).getBlobClient(name).getProperties();
      return {
        isDirectory: isFolder(p.metadata) && (p.contentLength ?? 0) === 0,
        etag: p.etag,
        lastModified: p.lastModified,
      };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  };

  const hasChildren = async (account: LocalStorageAccount, container: string, name: string) => {
    const page = await serviceOf(account)
      .getContainerClient(container)
      .listBlobsFlat({ prefix: `${name}/` })
      .byPage({ maxPageSize: 1 })
      .next();
    return !page.done && page.value.segment.blobItems.length > 0;
  };

  /** Makes the missing directories above `name`, top down; one that exists already is left as it is. */
  const makeParents = async (account: LocalStorageAccount, container: string, name: string) => {
    const parts = name.split('/');
    if (parts.length < 2) return;
    const parent = parts.slice(0, -1).join('/');
    // Directories above an existing directory exist: a non-empty directory cannot be deleted.
    if ((await lookUp(account, container, parent))?.isDirectory) return;
    const client = serviceOf(account).getContainerClient(container);
    for (let depth = 1; depth < parts.length; depth++) {
      const directory = parts.slice(0, depth).join('/');
      try {
        await client
          .getBlockBlobClient(directory)
          .upload('', 0, { metadata: { [FOLDER_METADATA]: 'true' }, conditions: { ifNoneMatch: '*' } });
        await options.onDirectoryCreated?.(account.name, container, directory);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      }
    }
  };

  /**
   * Applies the namespace's rules to a request for an HNS account (or any Data Lake endpoint) before
   * it is forwarded. `req.headers` may be changed for the forwarded request.
   */
  const intercept = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    endpoint: FrontEndpoint,
    account: LocalStorageAccount | undefined,
  ): Promise<HnsDecision> => {
    if (endpoint.dfs && (url.searchParams.has('action') || url.searchParams.has('resource'))) {
      await dataLakeOperation(req, res, url, endpoint, account);
      return { kind: 'answered' };
    }
    if (!account?.isHnsEnabled || endpoint.secondary || !endpoint.container || !endpoint.blobName) {
      return { kind: 'forward' };
    }
    const { container, blobName } = endpoint;
    const comp = url.searchParams.get('comp');
    const setsFolder = Object.keys(req.headers).some((h) => h.toLowerCase() === FOLDER_HEADER);
    if (req.method === 'PUT' && comp === 'metadata') {
      if (setsFolder) return refuseFolderMetadata(res);
      // The service keeps a directory a directory, whatever metadata is set on it.
      if ((await lookUp(account, container, blobName))?.isDirectory) req.headers[FOLDER_HEADER] = 'true';
      return { kind: 'forward' };
    }
    if (req.method === 'DELETE' && comp === null) {
      const existing = await lookUp(account, container, blobName);
      if (existing?.isDirectory && (await hasChildren(account, container, blobName))) {
        sendError(
          res,
          409,
          'DirectoryIsNotEmpty',
          'The recursive query parameter value must be true to delete a non-empty directory.',
        );
        return { kind: 'answered' };
      }
      return { kind: 'forward', afterSuccess: async () => acls.delete(account.name, container, blobName) };
    }
    const createsBlob = req.method === 'PUT' && (comp === null || comp === 'blocklist');
    if (!createsBlob) return { kind: 'forward' };
    if (setsFolder && (await lookUp(account, container, blobName))) return refuseFolderMetadata(res);
    return { kind: 'forward', afterSuccess: () => makeParents(account, container, blobName) };
  };

  /** Path - Get Properties (`action=getAccessControl`) and Path - Update (`action=setAccessControl`). */
  const dataLakeOperation = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    endpoint: FrontEndpoint,
    account: LocalStorageAccount | undefined,
  ) => {
    const action = url.searchParams.get('action');
    const supported =
      (action === 'getAccessControl' && (req.method === 'HEAD' || req.method === 'GET')) ||
      (action === 'setAccessControl' && req.method === 'PATCH');
    if (!supported || !endpoint.blobName) {
      sendError(
        res,
        400,
        'UnsupportedOperation',
        `The local stack's Data Lake endpoint serves only getAccessControl and setAccessControl on a path (${req.method} ${action ?? url.searchParams.get('resource')}).`,
      );
      return;
    }
    if (!account?.isHnsEnabled) {
      // Access control needs a hierarchical namespace (Path - Update, `action`). The error code is the
      // emulator's: Azure documents none for this case.
      sendError(
        res,
        409,
        'HierarchicalNamespaceNotEnabled',
        'This operation is only supported on a hierarchical namespace account.',
      );
      return;
    }
    // A service or user-delegation SAS reads a path's ACL only with execute (e) ("Create a service
    // SAS", permissions: https://learn.microsoft.com/rest/api/storageservices/create-service-sas#permissions-for-a-directory-container-or-blob).
    // An account SAS has no such permission; the stack accepts its read (r), which Azure does not document.
    const sas = url.searchParams;
    if (
      action === 'getAccessControl' &&
      sas.get('sig') &&
      sas.get('sr') &&
      !(sas.get('sp') ?? '').includes('e')
    ) {
      sendError(
        res,
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      );
      return;
    }
    // The caller must be able to read the path: Azurite checks its bearer token or SAS.
    const probe = await headThroughAzurite(req, url, endpoint, options.azuriteBlobPort, agent);
    if (probe.status !== 200) {
      res.writeHead(probe.status, probe.headers);
      res.end();
      return;
    }
    const isDirectory =
      String(probe.headers[FOLDER_HEADER] ?? '').toLowerCase() === 'true' &&
      probe.headers['content-length'] === '0';
    const current =
      acls.get(account.name, endpoint.container, endpoint.blobName) ?? defaultAccess(isDirectory);
    const common = {
      'x-ms-request-id': crypto.randomUUID(),
      'x-ms-version': String(req.headers['x-ms-version'] ?? '2025-01-05'),
      ...(probe.headers.etag ? { etag: probe.headers.etag } : {}),
      ...(probe.headers['last-modified'] ? { 'last-modified': probe.headers['last-modified'] } : {}),
    };
    if (action === 'getAccessControl') {
      res.writeHead(200, {
        ...common,
        'x-ms-owner': current.owner,
        'x-ms-group': current.group,
        'x-ms-permissions': permissionsOf(current.acl),
        'x-ms-acl': current.acl,
      });
      res.end();
      return;
    }
    const next = updatedAccess(req, url, current);
    if ('error' in next) {
      sendError(res, next.status, next.code, next.error);
      return;
    }
    acls.set(account.name, endpoint.container, endpoint.blobName, next);
    res.writeHead(200, common);
    res.end();
  };

  return { intercept, accessControl: acls };
}

export type HierarchicalNamespace = ReturnType<typeof createHierarchicalNamespace>;

/**
 * The access control after a setAccessControl, or why it is refused. `x-ms-permissions` and `x-ms-acl`
 * are mutually exclusive (Path - Update). A SAS must grant `p` to set permissions or an ACL and `o`
 * to set the owner or group ("Create a service SAS", permissions for a directory, container, or blob:
 * https://learn.microsoft.com/rest/api/storageservices/create-service-sas#permissions-for-a-directory-container-or-blob).
 */
function updatedAccess(
  req: http.IncomingMessage,
  url: URL,
  current: PathAccess,
): PathAccess | { status: number; code: string; error: string } {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const owner = header('x-ms-owner');
  const group = header('x-ms-group');
  const acl = header('x-ms-acl');
  const permissions = header('x-ms-permissions');
  const sasPermissions = url.searchParams.get('sig') ? (url.searchParams.get('sp') ?? '') : undefined;
  if (sasPermissions !== undefined) {
    const needs = `${acl || permissions ? 'p' : ''}${owner || group ? 'o' : ''}`;
    if ([...needs].some((p) => !sasPermissions.includes(p))) {
      return {
        status: 403,
        code: 'AuthorizationPermissionMismatch',
        error: 'This request is not authorized to perform this operation using this permission.',
      };
    }
  }
  if (acl && permissions) {
    return {
      status: 400,
      code: 'InvalidInput',
      error: 'x-ms-permissions and x-ms-acl are mutually exclusive.',
    };
  }
  let nextAcl = current.acl;
  if (acl) {
    if (!isValidAcl(acl))
      return { status: 400, code: 'InvalidInput', error: 'One of the request inputs is not valid.' };
    nextAcl = acl;
  } else if (permissions) {
    const updated = withPermissions(current.acl, permissions);
    if (!updated)
      return { status: 400, code: 'InvalidInput', error: 'One of the request inputs is not valid.' };
    nextAcl = updated;
  }
  return { owner: owner ?? current.owner, group: group ?? current.group, acl: nextAcl };
}

/** Get Blob Properties of the path with the caller's own authorisation (bearer token or SAS). */
function headThroughAzurite(
  req: http.IncomingMessage,
  url: URL,
  endpoint: FrontEndpoint,
  port: number,
  agent: https.Agent,
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const query = new URLSearchParams(url.searchParams);
  query.delete('action');
  query.delete('upn');
  const search = query.toString();
  const headers: http.OutgoingHttpHeaders = {};
  for (const name of ['authorization', 'x-ms-version', 'x-ms-date', 'x-ms-client-request-id']) {
    if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  }
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        method: 'HEAD',
        path: `${endpoint.blobPath}${search ? `?${search}` : ''}`,
        headers,
        agent,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** `hdi_isfolder` set on a path that exists: `400 UnsupportedHeader` (see `createHierarchicalNamespace`). */
function refuseFolderMetadata(res: http.ServerResponse): HnsDecision {
  sendError(res, 400, 'UnsupportedHeader', 'One of the headers specified in the request is not supported.');
  return { kind: 'answered' };
}

function isFolder(metadata: Record<string, string> | undefined): boolean {
  return Object.entries(metadata ?? {}).some(
    ([key, value]) => key.toLowerCase() === FOLDER_METADATA && value.toLowerCase() === 'true',
  );
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code });
  res.end(
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}
