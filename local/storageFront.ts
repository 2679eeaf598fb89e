import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { copyFromSecondary, frontWriteOf, type GeoReplication } from './geoReplication.js';
import { endpointOf } from './hns/endpoints.js';
import {
  createHierarchicalNamespace,
  type HierarchicalNamespace,
  type HnsDecision,
} from './hns/hierarchicalNamespace.js';
import { networkDenial } from './networkRules.js';
import {
  type FaultState,
  isReadAccessSku,
  type LocalStorageAccount,
  networkRulesOf,
  otherRegion,
  type RegionRole,
} from './types.js';

export interface StorageFrontOptions {
  cert: string;
  key: string;
  /** Azurite's blob port on 127.0.0.1. */
  azuriteBlobPort: number;
  accounts: LocalStorageAccount[];
  faults: FaultState;
  /** The lagging secondaries of RA-GRS accounts (`local/geoReplication.ts`); without, a secondary reads the primary's data. */
  geoReplication?: GeoReplication[];
}

export interface StorageFront {
  port: number;
  /** `https://127.0.0.1:<port>/<account>[-secondary]` */
  blobEndpoint(account: string, secondary: boolean): string;
  /** Access control of the paths of the HNS accounts (what the Data Lake endpoint serves). */
  accessControl: HierarchicalNamespace['accessControl'];
  stop(): Promise<void>;
}

const SECONDARY_SUFFIX = '-secondary';

/**
 * The blob endpoints of the local stack's storage accounts, in front of Azurite.
 *
 * Azurite serves every account and its RA-GRS `<account>-secondary` endpoint from one process and
 * knows nothing of regions. The front adds what a DR test needs from Azure's topology:
 * - an account's endpoint answers as in an outage (the connection is reset) while its region is down;
 * - the secondary endpoint lives in the DR region, and can be made unavailable on its own;
 * - the secondary endpoint is read-only, as in Azure (Azurite would accept writes);
 * - the secondary endpoint of an RA-GRS account, and a copy whose source names it, read the account's
 *   lagging secondary (`geoReplication`), and Get Blob Service Stats reports its `lastSyncTime`; every
 *   write forwarded to the primary is recorded for it before the client gets the answer;
 * - every request can be made to wait (`storageLatencyMs`), as a remote service's would;
 * - a request whose connection to Azurite drops is answered `503 ServerBusy`, which clients retry;
 * - each account's network rules (`faults.storageNetworkRules`) decide who may reach it, the app or,
 *   for a copy, the destination's storage service (`local/networkRules.ts`);
 * - accounts with a hierarchical namespace get its semantics, and a Data Lake endpoint
 *   (`<account>[-secondary]-dfs`) for their access control (`local/hns`).
 *
 * All accounts share one origin so that Azurite accepts a Copy Blob whose source is another of its
 * accounts (it only verifies sources on the same host). Azurite's own verification request comes
 * back through the front, so an unavailable source fails the copy as it would in Azure.
 */
export async function startStorageFront(options: StorageFrontOptions): Promise<StorageFront> {
  const upstream = new https.Agent({ keepAlive: true, maxSockets: 256, ca: options.cert });
  const server = https.createServer({ cert: options.cert, key: options.key, keepAlive: true }, (req, res) => {
    const latency = options.faults.storageLatencyMs;
    if (latency > 0) {
      // The request body waits in the socket until it is piped on.
      setTimeout(() => void forward(req, res), latency);
      return;
    }
    void forward(req, res);
  });
  const hns = createHierarchicalNamespace({
    cert: options.cert,
    azuriteBlobPort: options.azuriteBlobPort,
    // A directory the namespace makes is a write to the primary like any other: the secondary gets it.
    onDirectoryCreated: async (accountName, container, directory) =>
      options.geoReplication
        ?.find((g) => g.replicates && g.account.name === accountName)
        ?.recordWrite({ kind: 'blob', container, blob: directory }),
  });
  const forward = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://front');
    const endpoint = endpointOf(url.pathname);
    const first = url.pathname.split('/')[1] ?? '';
    // Azurite's check of a copy source that named a secondary comes back for the hidden account.
    const hiddenOf = options.geoReplication?.find((g) => g.hidden.secondary.name === first);
    const secondary = endpoint.secondary || hiddenOf !== undefined;
    const accountName = hiddenOf?.account.name ?? endpoint.accountName;
    const geo = options.geoReplication?.find((g) => g.replicates && g.account.name === accountName);
    const restOfPath = url.pathname.slice(first.length + 1);
    const account = options.accounts.find((a) => a.name === accountName);
    if (account && !isReachable(account, secondary, options.faults)) {
      // An outage: nothing answers. Resetting the connection fails fast instead of hanging.
      req.socket.destroy();
      return;
    }
    const denial =
      account &&
      networkDenial({ account, url, headers: req.headers }, options.accounts, (a) =>
        networkRulesOf(options.faults, a.name),
      );
    if (denial) {
      const detail = `\nRequestId:${crypto.randomUUID()}\nTime:${new Date().toISOString()}`;
      sendError(res, denial.status, denial.code, `${denial.message}${detail}`, denial.headers);
      return;
    }
    const writing = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (secondary && writing) {
      sendError(
        res,
        403,
        'AuthorizationFailure',
        'Write operations are not allowed on the read-access secondary endpoint.',
      );
      return;
    }
    if (account?.failoverInProgress && writing) {
      // Read-only while the failover runs (LocalStorageAccount.failoverInProgress). Azure documents no
      // error code for it; 503 ServerBusy is what a storage client retries, as an outage's end.
      sendError(
        res,
        503,
        'ServerBusy',
        `The storage account ${account.name} is failing over; writes are refused until the failover completes.`,
      );
      return;
    }
    if (
      secondary &&
      url.searchParams.get('restype') === 'service' &&
      url.searchParams.get('comp') === 'stats'
    ) {
      sendServiceStats(res, geo?.lastSyncTime() ?? options.faults.storageReplicationPausedAt ?? new Date());
      return;
    }
    // Hierarchical namespace and the Data Lake endpoint (local/hns).
    let decision: HnsDecision;
    try {
      decision = await hns.intercept(req, res, url, endpoint, account);
    } catch (error) {
      sendError(res, 503, 'ServerBusy', `The storage emulator did not answer: ${(error as Error).message}`);
      return;
    }
    if (decision.kind === 'answered') return;
    if (secondary && geo && !endpoint.dfs) {
      geo.serveSecondary(req, res, url, restOfPath);
      return;
    }
    copyFromSecondary(req.headers, options.geoReplication ?? []);
    const write = geo && !secondary ? frontWriteOf(req.method, url, restOfPath) : undefined;
    const upstreamRequest = https.request(
      {
        host: '127.0.0.1',
        port: options.azuriteBlobPort,
        method: req.method,
        path: `${endpoint.blobPath}${url.search}`,
        headers: req.headers,
        agent: upstream,
      },
      async (upstreamResponse) => {
        const status = upstreamResponse.statusCode ?? 502;
        if (decision.afterSuccess && status >= 200 && status < 300) {
          try {
            await decision.afterSuccess();
          } catch (error) {
            upstreamResponse.resume();
            sendError(
              res,
              503,
              'ServerBusy',
              `The storage emulator did not answer: ${(error as Error).message}`,
            );
            return;
          }
        }
        const headers = passThroughHeaders(upstreamResponse.headers);
        // Azure's Get Blob Metadata answers without Content-Encoding; Azurite echoes the blob's, and its
        // own copy-source check (axios) then fails to decompress the empty body of a gzip-encoded blob.
        if (url.searchParams.get('comp') === 'metadata') delete headers['content-encoding'];
        if (geo && write && status >= 200 && status < 300) {
          try {
            await geo.recordWrite(write);
          } catch (error) {
            upstreamResponse.destroy();
            sendError(
              res,
              500,
              'InternalError',
              `The write was not recorded for geo-replication: ${(error as Error).message}`,
            );
            return;
          }
        }
        res.writeHead(status, headers);
        upstreamResponse.pipe(res);
      },
    );
    upstreamRequest.on('error', (error) => {
      // A connection Azurite dropped (a kept-alive socket it had just closed, or Azurite too busy):
      // answered as Azure answers an overloaded partition, 503 ServerBusy, which clients retry.
      if (!res.headersSent) {
        sendError(res, 503, 'ServerBusy', `The storage emulator did not answer: ${error.message}`);
      } else res.destroy();
    });
    req.pipe(upstreamRequest);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    blobEndpoint: (account, secondary) =>
      `https://127.0.0.1:${port}/${account}${secondary ? SECONDARY_SUFFIX : ''}`,
    accessControl: hns.accessControl,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstream.destroy();
    },
  };
}

/**
 * The upstream answer's headers, to send on unchanged, byte for byte. Node reads header bytes as
 * latin1 and writes header strings as latin1, so any value the service sent (a Content-Disposition
 * of `résumé` in UTF-8 or latin1: HTTP allows such obs-text bytes, RFC 9110 §5.5, and Azure returns
 * the property as it was set) goes through as it came, with one exception: Node turns a
 * Content-Disposition that is written after Content-Length into a Buffer and then refuses its
 * non-ASCII bytes (ERR_INVALID_CHAR; `processHeader` in Node's `_http_outgoing`, nodejs/node#46528).
 * Content-Disposition therefore goes first.
 */
export function passThroughHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const { 'content-disposition': disposition, ...rest } = headers;
  return disposition === undefined ? { ...rest } : { 'content-disposition': disposition, ...rest };
}

/**
 * Where an endpoint lives: the primary endpoint in the account's current region, the secondary in
 * the other region of the pair. A failover swaps them while the endpoints keep their names ("the
 * URIs for the storage service endpoints ... remain the same, but their DNS entries are changed to
 * point to the new primary region", learn.microsoft.com/azure/storage/common/storage-failover-customer-managed-planned).
 */
function regionOf(account: LocalStorageAccount, secondary: boolean): RegionRole {
  return secondary ? otherRegion(account.region) : account.region;
}

function isReachable(account: LocalStorageAccount, secondary: boolean, faults: FaultState): boolean {
  // Only a read-access geo-redundant account has a secondary endpoint; after an unplanned failover
  // (LRS) its name no longer answers, as a host name that does not resolve.
  if (secondary && !isReadAccessSku(account.sku)) return false;
  if (faults.regionsDown.has(regionOf(account, secondary))) return false;
  if (secondary && faults.secondaryUnavailable) return false;
  return true;
}

function sendServiceStats(res: import('node:http').ServerResponse, lastSync: Date): void {
  const body =
    '<?xml version="1.0" encoding="utf-8"?><StorageServiceStats><GeoReplication>' +
    `<Status>live</Status><LastSyncTime>${lastSync.toUTCString()}</LastSyncTime>` +
    '</GeoReplication></StorageServiceStats>';
  res.writeHead(200, {
    'content-type': 'application/xml',
    'x-ms-version': '2025-01-05',
    'x-ms-request-id': crypto.randomUUID(),
  });
  res.end(body);
}

function sendError(
  res: import('node:http').ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code, ...headers });
  res.end(
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}
