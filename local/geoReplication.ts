import type http from 'node:http';
import https from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../src/lib/redact.js';
import { localAccountSas } from './accountSas.js';
import type { AzuriteAccount } from './azurite.js';
import { GeoReplicationLog, type ReplicatedWrite, type ReplicationConditions } from './geoReplicationLog.js';
import { passThroughHeaders } from './storageFront.js';
import { type FaultState, isReadAccessSku, type LocalStorageAccount, otherRegion } from './types.js';

/**
 * The hidden Azurite accounts behind an RA-GRS account's secondary: `secondary` holds what the
 * secondary endpoint serves, `staging` the content of each logged write until it is replayed.
 * Azurite's accounts are fixed at start, so they are made up from the account's name.
 */
export function hiddenAccountsOf(account: LocalStorageAccount): {
  secondary: AzuriteAccount;
  staging: AzuriteAccount;
} {
  const key = (role: string) => Buffer.from(`${account.name}-${role}-local-stack-key`).toString('base64');
  return {
    secondary: { name: `${account.name}geosecondary`, key: key('geosecondary') },
    staging: { name: `${account.name}geostaging`, key: key('geostaging') },
  };
}

export interface GeoReplicationOptions {
  /** The RA-GRS account whose secondary this replicates. */
  account: LocalStorageAccount;
  azuriteBlobPort: number;
  /** The stack's certificate, which Azurite serves. */
  cert: string;
  faults: FaultState;
  /** Clock (ms); tests pass a fake one. */
  now?: () => number;
  /** How often replication advances. */
  tickInMs?: number;
}

/** A write through the storage front that the secondary has to replay once the primary acknowledged it. */
export type FrontWrite =
  | { kind: 'blob'; container: string; blob: string }
  | { kind: 'createContainer'; container: string }
  | { kind: 'deleteContainer'; container: string };

const STAGING_CONTAINER = 'writes';
/** Tries of a replay copy whose source check failed for another reason than a missing source. */
const COPY_SOURCE_CHECK_TRIES = 3;
const API_VERSION = '2025-01-05';

/**
 * The secondary of one RA-GRS account, in its own hidden Azurite account, a configurable delay
 * (`FaultState.storageReplicationDelayMs`) behind the primary.
 *
 * Every write to the primary that the storage front forwards is recorded when the primary
 * acknowledges it, with a copy of the blob as it then was (Azurite copies within one instance by
 * reference, so the copy costs no data). Replication replays the recorded writes on the hidden
 * account, oldest first, once they are older than the delay, and not while replication is paused or
 * halted (the primary region, the DR region or the secondary out: nothing can be sent or received);
 * `lastSyncTime` then moves to the time replayed up to (`GeoReplicationLog`). Reads of the secondary
 * endpoint, and copies whose source names it, are served from the hidden account.
 */
export class GeoReplication {
  readonly account: LocalStorageAccount;
  readonly hidden: { secondary: AzuriteAccount; staging: AzuriteAccount };
  private readonly log: GeoReplicationLog;
  private readonly agent: https.Agent;
  private readonly now: () => number;
  private readonly sas: Record<'primary' | 'secondary' | 'staging', string>;
  private timer: NodeJS.Timeout | undefined;
  private advancing: Promise<void> | undefined;
  private lastError: string | undefined;
  /**
   * Where Azurite's check of a copy source goes: the storage front, once it runs, whose answer to
   * Get Blob Metadata Azurite can read for every blob (see `startStorageFront`); Azurite accepts it
   * because the copy request names the same host.
   */
  copySourceOrigin: string;

  constructor(private readonly options: GeoReplicationOptions) {
    this.account = options.account;
    this.hidden = hiddenAccountsOf(options.account);
    this.now = options.now ?? Date.now;
    this.log = new GeoReplicationLog(this.now(), options.faults.storageReplicationDelayMs);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: options.cert });
    this.copySourceOrigin = `https://127.0.0.1:${options.azuriteBlobPort}`;
    this.sas = {
      primary: accountSas(options.account),
      secondary: accountSas(this.hidden.secondary),
      staging: accountSas(this.hidden.staging),
    };
  }

  /** Creates the staging container and starts replicating. */
  async start(): Promise<void> {
    await this.expect(
      this.azurite('PUT', this.hidden.staging.name, `/${STAGING_CONTAINER}?restype=container`),
      [201, 409],
    );
    this.timer = setInterval(() => void this.advance(), this.options.tickInMs ?? 100);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.advancing;
    this.agent.destroy();
  }

  /**
   * Whether the account still has a read-access secondary that this replicates. An unplanned
   * failover makes the account LRS: from then on it has no secondary and nothing is replicated.
   */
  get replicates(): boolean {
    return isReadAccessSku(this.account.sku);
  }

  /**
   * Replays every recorded write, whatever the delay: what a planned failover waits for, since
   * "replication from the primary to secondary region must be complete before the DNS entries for
   * the endpoints are changed" (learn.microsoft.com/azure/storage/common/storage-failover-customer-managed-planned).
   * The caller keeps writes out meanwhile (`LocalStorageAccount.failoverInProgress`).
   */
  async catchUp(): Promise<void> {
    while (this.advancing) await this.advancing;
    const target = Math.max(this.now(), this.log.backlog().at(-1)?.at ?? 0);
    this.advancing = this.replayUpTo(target).finally(() => {
      this.advancing = undefined;
    });
    await this.advancing;
  }

  /**
   * Makes the account's own data what the secondary holds, for an unplanned failover: "the secondary
   * region becomes the new primary", and "any data written to the primary region but not yet
   * replicated to the secondary region is lost" (learn.microsoft.com/azure/storage/common/
   * storage-failover-customer-managed-unplanned; storage-disaster-recovery-guidance, "Anticipate data
   * loss"). Every container and blob of the primary account that the secondary lacks is deleted, and
   * every blob of the secondary is copied over (by reference, within Azurite), so that the account
   * holds exactly the writes up to `lastSyncTime`. Replication stops: the account is LRS after it.
   * Access control of the Data Lake paths (`local/hns`) is kept by account name and so stays.
   */
  async promoteSecondary(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.advancing) await this.advancing;
    for (const logged of this.log.discardBacklog()) {
      if (logged.write.kind === 'blob' && logged.write.staged !== null) {
        await this.expect(
          this.azurite('DELETE', this.hidden.staging.name, blobPath(STAGING_CONTAINER, logged.write.staged)),
          [202, 404],
        );
      }
    }
    // Read as a copy from the secondary endpoint reads it: Azurite's check of the source goes through
    // the storage front (see `copySourceOrigin`), authorized by the account's own SAS.
    await this.mirror(
      { account: this.hidden.secondary.name, sas: this.sas.primary },
      { account: this.account.name, sas: this.sas.primary },
      (container, blob) =>
        `The secondary of ${this.account.name} lost ${container}/${blob} while failing over`,
    );
  }

  /**
   * Replicates anew after the account was made geo-redundant again (a SKU update after an unplanned
   * failover): the secondary, in the region the account failed over from, receives a full copy of the
   * account, the initial synchronization Azure reports as `Bootstrap`, and replication goes on from
   * the moment the copy began ("once you re-enable GRS for your storage account, Microsoft replicates
   * data to the new secondary region", Invoke-AzStorageAccountFailover). It waits while replication
   * is halted (either region out). Writes acknowledged meanwhile are logged and replayed after it.
   */
  async bootstrap(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.advancing) await this.advancing;
    while (this.conditions().halted) await delay(this.options.tickInMs ?? 100);
    const startedAt = this.now();
    await this.mirror(
      { account: this.account.name, sas: this.sas.primary },
      { account: this.hidden.secondary.name, sas: this.sas.secondary },
      (container, blob) => `${container}/${blob} of ${this.account.name} vanished during the initial sync`,
    );
    const first = this.log.backlog()[0];
    // Every write before the copy began is on the secondary; those logged since are replayed next.
    this.log.syncedTo(Math.min(startedAt, (first?.at ?? startedAt + 1) - 1));
    this.timer = setInterval(() => void this.advance(), this.options.tickInMs ?? 100);
    this.timer.unref();
  }

  /**
   * Makes `to` hold exactly the containers and blobs of `from`: what `from` lacks is deleted from
   * `to`, and every blob of `from` is copied over (by reference, within Azurite).
   */
  private async mirror(
    from: { account: string; sas: string },
    to: { account: string; sas: string },
    lost: (container: string, blob: string) => string,
  ): Promise<void> {
    const kept = new Set(await this.listContainers(from.account));
    for (const container of await this.listContainers(to.account)) {
      if (!kept.has(container)) {
        await this.expect(this.azurite('DELETE', to.account, `/${container}?restype=container`), [202, 404]);
      }
    }
    for (const container of kept) {
      await this.expect(this.azurite('PUT', to.account, `/${container}?restype=container`), [201, 409]);
      const blobs = new Set(await this.listBlobs(from.account, container));
      for (const blob of await this.listBlobs(to.account, container)) {
        if (!blobs.has(blob)) {
          await this.expect(
            this.azurite('DELETE', to.account, blobPath(container, blob), {
              'x-ms-delete-snapshots': 'include',
            }),
            [202, 404],
          );
        }
      }
      for (const blob of blobs) {
        const path = blobPath(container, blob);
        const copied = await this.copy({ ...from, path }, { ...to, path });
        if (!copied) throw new Error(lost(container, blob));
      }
    }
  }

  private listContainers(account: string): Promise<string[]> {
    return this.listNames(account, '/?comp=list', 'Container');
  }

  private listBlobs(account: string, container: string): Promise<string[]> {
    return this.listNames(account, `/${container}?restype=container&comp=list`, 'Blob');
  }

  /** Every `<Name>` of a List Containers or List Blobs answer, page by page. */
  private async listNames(
    account: string,
    listing: string,
    element: 'Container' | 'Blob',
  ): Promise<string[]> {
    const names: string[] = [];
    let marker = '';
    do {
      const page = `${listing}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`;
      const answer = await this.azurite('GET', account, page);
      if (answer.status !== 200) {
        throw new Error(`${answer.what} answered ${answer.status} ${answer.errorCode} ${answer.message}`);
      }
      const pattern = new RegExp(`<${element}><Name>([^<]*)</Name>`, 'g');
      for (const match of answer.body.matchAll(pattern)) names.push(unescapeXml(match[1] ?? ''));
      marker = unescapeXml(/<NextMarker>([^<]*)<\/NextMarker>/.exec(answer.body)?.[1] ?? '');
    } while (marker);
    return names;
  }

  /** `geoReplicationStats.lastSyncTime` and the secondary's Get Blob Service Stats. */
  lastSyncTime(): Date {
    return this.log.lastSyncTime();
  }

  conditions(): ReplicationConditions {
    const { faults } = this.options;
    return {
      delayMs: faults.storageReplicationDelayMs,
      pausedAt: faults.storageReplicationPausedAt,
      halted:
        faults.regionsDown.has(this.account.region) ||
        faults.regionsDown.has(otherRegion(this.account.region)) ||
        faults.secondaryUnavailable,
    };
  }

  /**
   * A write the primary has just acknowledged. Resolves once it is recorded (or, without lag, on
   * the secondary): the front answers the client only then, so that a later write cannot be
   * recorded in its place.
   */
  async recordWrite(write: FrontWrite): Promise<void> {
    if (this.log.appliesAtOnce(this.conditions())) {
      await this.replay(this.atOnce(write));
      return;
    }
    const seq = this.log.reserveSeq();
    const replicated = write.kind === 'blob' ? { ...write, staged: await this.stage(write, seq) } : write;
    this.log.record(seq, replicated, this.now());
  }

  /** Replays the writes that are due and moves `lastSyncTime`; one advance at a time. */
  advance(): Promise<void> {
    this.advancing ??= this.advanceOnce().finally(() => {
      this.advancing = undefined;
    });
    return this.advancing;
  }

  private async advanceOnce(): Promise<void> {
    const target = this.log.target(this.now(), this.conditions());
    try {
      await this.replayUpTo(target);
      this.lastError = undefined;
    } catch (error) {
      // Replication is stuck behind this write: lastSyncTime stays where it is (the RPO grows, as on
      // Azure when replication falls behind); it is tried again on the next tick.
      const message = describeError(error);
      if (message !== this.lastError) {
        process.stderr.write(`geo-replication of ${this.account.name}: ${message}\n`);
      }
      this.lastError = message;
    }
  }

  private async replayUpTo(target: number): Promise<void> {
    for (const logged of this.log.due(target)) {
      await this.replay(logged.write);
      this.log.replayed(logged);
    }
    this.log.syncedTo(target);
  }

  /** The copy of a blob at this moment in the staging account, or null when it does not exist. */
  private async stage(write: { container: string; blob: string }, seq: number): Promise<string | null> {
    const staged = String(seq);
    const copied = await this.copy(
      { account: this.account.name, sas: this.sas.primary, path: blobPath(write.container, write.blob) },
      { account: this.hidden.staging.name, sas: this.sas.staging, path: blobPath(STAGING_CONTAINER, staged) },
    );
    return copied ? staged : null;
  }

  /** Without lag, a write is replayed from the primary's current state. */
  private atOnce(write: FrontWrite): ReplicatedWrite {
    return write.kind === 'blob' ? { ...write, staged: null } : write;
  }

  private async replay(write: ReplicatedWrite): Promise<void> {
    const secondary = this.hidden.secondary.name;
    if (write.kind === 'createContainer') {
      await this.expect(this.azurite('PUT', secondary, `/${write.container}?restype=container`), [201, 409]);
      return;
    }
    if (write.kind === 'deleteContainer') {
      await this.expect(
        this.azurite('DELETE', secondary, `/${write.container}?restype=container`),
        [202, 404],
      );
      return;
    }
    const target = {
      account: secondary,
      sas: this.sas.secondary,
      path: blobPath(write.container, write.blob),
    };
    const source =
      write.staged === null
        ? // Applied at once: the primary as it is now.
          { account: this.account.name, sas: this.sas.primary, path: target.path }
        : {
            account: this.hidden.staging.name,
            sas: this.sas.staging,
            path: blobPath(STAGING_CONTAINER, write.staged),
          };
    const copied = await this.copy(source, target);
    if (!copied) {
      await this.expect(
        this.azurite('DELETE', secondary, target.path, { 'x-ms-delete-snapshots': 'include' }),
        [202, 404],
      );
    }
    if (write.staged !== null) {
      await this.expect(this.azurite('DELETE', this.hidden.staging.name, source.path), [202, 404]);
    }
  }

  /**
   * Copy Blob within Azurite (by reference). False when the source blob does not exist. The target's
   * container is created when missing: a blob can only be on the secondary in its container.
   */
  private async copy(
    source: { account: string; sas: string; path: string },
    target: { account: string; sas: string; path: string },
  ): Promise<boolean> {
    const copySource = `${this.copySourceOrigin}/${source.account}${source.path}?${source.sas}`;
    const headers = { 'x-ms-copy-source': copySource, host: new URL(this.copySourceOrigin).host };
    for (let attempt = 0; ; attempt++) {
      const answer = await this.azurite('PUT', target.account, target.path, headers);
      if (answer.status === 202) return true;
      if (copySourceIsGone(answer)) return false;
      // Azurite's check of the source went through the storage front, which answers 503 when Azurite
      // dropped a kept-alive connection: sent again at once, as a client would.
      if (answer.errorCode === 'CannotVerifyCopySource' && attempt < COPY_SOURCE_CHECK_TRIES - 1) continue;
      if (answer.errorCode === 'ContainerNotFound' && attempt === 0) {
        const container = target.path.split('/')[1] ?? '';
        await this.expect(this.azurite('PUT', target.account, `/${container}?restype=container`), [201, 409]);
        continue;
      }
      throw new Error(
        `Copy Blob to ${target.account}${target.path} answered ${answer.status} ${answer.errorCode} ${answer.message}`,
      );
    }
  }

  private async expect(request: Promise<AzuriteAnswer>, statuses: number[]): Promise<void> {
    const answer = await request;
    if (!statuses.includes(answer.status)) {
      throw new Error(`${answer.what} answered ${answer.status} ${answer.errorCode} ${answer.message}`);
    }
  }

  /** One request to Azurite itself (not through the front), authorized by the account's SAS. */
  private azurite(
    method: string,
    account: string,
    pathAndQuery: string,
    headers: Record<string, string> = {},
  ): Promise<AzuriteAnswer> {
    const sas =
      account === this.account.name
        ? this.sas.primary
        : account === this.hidden.staging.name
          ? this.sas.staging
          : this.sas.secondary;
    const path = `/${account}${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}${sas}`;
    const what = `${method} ${account}${pathAndQuery}`;
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: '127.0.0.1',
          port: this.options.azuriteBlobPort,
          method,
          path,
          agent: this.agent,
          headers: { 'x-ms-version': API_VERSION, 'content-length': '0', ...headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const body = Buffer.concat(chunks).toString();
            resolve({
              what,
              status: response.statusCode ?? 0,
              errorCode: String(response.headers['x-ms-error-code'] ?? ''),
              message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '',
              body,
            });
          });
        },
      );
      request.on('error', reject);
      request.end();
    });
  }

  /**
   * Serves a read of the secondary endpoint from the hidden account. The request is first
   * authorized as it came, against the account itself: Azure authorizes a request to the secondary
   * with the account's own keys and SAS (Shared Key signs the account name without `-secondary`,
   * learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key), which Azurite checks for
   * `<account>-secondary`. Only then is it answered from the hidden account, under the front's own
   * SAS; listings name the secondary endpoint, as they would on Azure.
   */
  serveSecondary(req: http.IncomingMessage, res: http.ServerResponse, url: URL, restOfPath: string): void {
    const asSent = `/${this.account.name}-secondary${restOfPath}${url.search}`;
    const check = https.request(
      {
        host: '127.0.0.1',
        port: this.options.azuriteBlobPort,
        method: req.method,
        path: asSent,
        headers: req.headers,
        agent: this.agent,
      },
      (answer) => {
        if (answer.statusCode === 401 || answer.statusCode === 403) {
          res.writeHead(answer.statusCode, passThroughHeaders(answer.headers));
          answer.pipe(res);
          return;
        }
        answer.destroy();
        this.readHidden(req, res, url, restOfPath);
      },
    );
    check.on('error', (error) => serverBusy(res, error));
    check.end();
  }

  private readHidden(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    restOfPath: string,
  ): void {
    const query = new URLSearchParams(url.search);
    for (const name of [...query.keys()]) if (SAS_PARAMETERS.has(name)) query.delete(name);
    const search = [query.toString(), this.sas.secondary].filter(Boolean).join('&');
    const { authorization: _, ...headers } = req.headers;
    const listing = query.get('comp') === 'list';
    const upstream = https.request(
      {
        host: '127.0.0.1',
        port: this.options.azuriteBlobPort,
        method: req.method,
        path: `/${this.hidden.secondary.name}${restOfPath}?${search}`,
        headers,
        agent: this.agent,
      },
      (answer) => {
        const out = passThroughHeaders(answer.headers);
        // As the front does for the primary (Azurite's own copy-source check reads it).
        if (query.get('comp') === 'metadata') delete out['content-encoding'];
        if (!listing) {
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.from(
            Buffer.concat(chunks)
              .toString('utf8')
              .replaceAll(`/${this.hidden.secondary.name}`, `/${this.account.name}-secondary`),
          );
          delete out['transfer-encoding'];
          out['content-length'] = String(body.length);
          res.writeHead(answer.statusCode ?? 502, out);
          res.end(body);
        });
      },
    );
    upstream.on('error', (error) => serverBusy(res, error));
    upstream.end();
  }
}

/**
 * Whether a failed replay copy means that the blob it replays no longer exists, so that the
 * secondary must not hold it either. Azurite checks a copy source with Get Blob Metadata through
 * the storage front and answers `CannotVerifyCopySource` with the status that check got
 * (`BlobHandler.validateCopySource`): 404 when the source is gone, but also 403 or 503 when the
 * front refused or could not answer it. Only the 404 (or `BlobNotFound`) is a deletion; any other
 * answer is a failed replay, retried, never a blob silently missing from the secondary.
 */
export function copySourceIsGone(answer: Pick<AzuriteAnswer, 'status' | 'errorCode'>): boolean {
  if (answer.errorCode === 'BlobNotFound') return true;
  return answer.errorCode === 'CannotVerifyCopySource' && answer.status === 404;
}

interface AzuriteAnswer {
  what: string;
  status: number;
  errorCode: string;
  /** The error's message, when Azurite sent one. */
  message: string;
  body: string;
}

function unescapeXml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

/** Query parameters of an account, service or user-delegation SAS. */
const SAS_PARAMETERS = new Set([
  'sv',
  'ss',
  'srt',
  'sp',
  'se',
  'st',
  'spr',
  'sip',
  'sig',
  'sr',
  'si',
  'ses',
  'sdd',
  'skoid',
  'sktid',
  'skt',
  'ske',
  'sks',
  'skv',
  'saoid',
  'suoid',
  'scid',
]);

function blobPath(container: string, blob: string): string {
  return `/${container}/${blob.split('/').map(encodeURIComponent).join('/')}`;
}

function accountSas(account: AzuriteAccount): string {
  return localAccountSas(account, 'rwdlac', 365 * 24 * 3600_000);
}

function serverBusy(res: http.ServerResponse, error: Error): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(503, { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy' });
  res.end(
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The storage emulator did not answer: ${error.message}</Message></Error>`,
  );
}

/**
 * Which replicated write a request to a primary account is, if any. Put Block (uncommitted), leases
 * and snapshots change nothing the secondary serves here; container metadata and ACLs, service
 * properties and blob batches are not replicated by the local stack.
 */
export function frontWriteOf(
  method: string | undefined,
  url: URL,
  restOfPath: string,
): FrontWrite | undefined {
  if (method !== 'PUT' && method !== 'DELETE') return undefined;
  const [, container = '', ...blobParts] = restOfPath.split('/');
  if (!container) return undefined;
  const comp = url.searchParams.get('comp');
  if (blobParts.length === 0 || blobParts.join('/') === '') {
    if (url.searchParams.get('restype') !== 'container' || comp !== null) return undefined;
    return method === 'PUT' ? { kind: 'createContainer', container } : { kind: 'deleteContainer', container };
  }
  if (comp === 'block' || comp === 'lease' || comp === 'snapshot') return undefined;
  return { kind: 'blob', container, blob: decodeURIComponent(blobParts.join('/')) };
}

/**
 * A Copy Blob (or Copy Blob From URL) whose source names an account's secondary endpoint copies from
 * that secondary, as on Azure; Azurite would strip `-secondary` and read the primary's data.
 */
export function copyFromSecondary(headers: http.IncomingHttpHeaders, replicated: GeoReplication[]): void {
  const source = headers['x-ms-copy-source'];
  if (typeof source !== 'string') return;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return; // Azurite answers an invalid copy source itself.
  }
  const first = url.pathname.split('/')[1] ?? '';
  const geo = replicated.find((g) => `${g.account.name}-secondary` === first);
  if (!geo) return;
  url.pathname = `/${geo.hidden.secondary.name}${url.pathname.slice(first.length + 1)}`;
  headers['x-ms-copy-source'] = url.toString();
}
