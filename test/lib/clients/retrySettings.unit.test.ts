import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStackCertificate } from '../../../local/certificate.js';
import { type ClientFactory, createClientFactory } from '../../../src/lib/clients/ClientFactory.js';

/** One answer of the scripted server: a status, headers and a body. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const MAX_RETRIES = 2;
const RETRY_AFTER_SECONDS = 1;

/**
 * Every client the factory builds, against one HTTPS server on loopback that answers from a script
 * and records when each request came: the retries are the factory's (`maxRetries` 2, 1 ms delays),
 * so a run of failures shows how many requests an operation makes and how long it waited.
 */
describe('the retries the client factory gives every client', () => {
  let dir: string;
  let server: https.Server;
  let clients: ClientFactory;
  let vaultUrl: string;
  /** Arrival times (performance.now) of the requests that count: authorised ones. */
  let arrivals: number[];
  let script: (index: number) => Answer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-retry-'));
    const certificate = await createStackCertificate(dir);
    server = https.createServer({ cert: certificate.cert, key: certificate.key }, (request, response) => {
      request.resume();
      request.on('end', () => {
        // Key Vault's challenge: the first request goes without a token, to learn the tenant.
        if (!request.headers.authorization && request.url?.startsWith('/vault')) {
          response.writeHead(401, {
            'www-authenticate':
              'Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"',
          });
          response.end();
          return;
        }
        arrivals.push(performance.now());
        const answer = script(arrivals.length - 1);
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        response.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    vaultUrl = `${origin}/vault`;
    clients = createClientFactory({
      kind: 'local',
      descriptor: {
        kind: 'local',
        tenantId: 'tenant',
        subscriptionId: 'sub',
        caCertPath: certificate.certPath,
        armEndpoint: origin,
        keyVaultUrl: vaultUrl,
        blobEndpointTemplate: `${origin}/{account}`,
        queueEndpointTemplate: `${origin}/queue/{account}`,
      },
      retry: { maxRetries: MAX_RETRIES, retryDelayInMs: 1, maxRetryDelayInMs: 1 },
    });
  });
  afterAll(async () => {
    clients?.httpsAgent?.destroy();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    arrivals = [];
  });

  const unavailable: Answer = { status: 503, body: '{}' };
  const throttledOnce = (status: 429 | 503, then: Answer) => (index: number) =>
    index === 0 ? { status, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) }, body: '{}' } : then;
  const waitedBeforeSecondTry = () => (arrivals[1] ?? 0) - (arrivals[0] ?? 0);

  const operations: Record<string, () => Promise<unknown>> = {
    blob: () => clients.blobService('acct').getContainerClient('c').getProperties(),
    'Data Lake': () => clients.dataLakeService('acct').getFileSystemClient('fs').getProperties(),
    queue: () => clients.queueService('acct').getQueueClient('q').getProperties(),
    'List Blobs (raw)': () =>
      clients.containerRequests('acct', 'c').get({ restype: 'container', comp: 'list' }),
    ARM: () => clients.storageManagement('sub').storageAccounts.getProperties('rg', 'acct'),
    'ARM (raw)': () => clients.armResources().get('/subscriptions/sub/resourceGroups/rg', '2024-01-01'),
    'Key Vault': () => clients.secrets(vaultUrl).getSecret('name'),
  };

  for (const [client, operation] of Object.entries(operations)) {
    it(`${client}: a request that keeps failing with 503 is sent maxRetries + 1 times, then fails`, async () => {
      script = () => unavailable;
      await expect(operation()).rejects.toMatchObject({ statusCode: 503 });
      expect(arrivals).toHaveLength(MAX_RETRIES + 1);
    });
  }

  it('a blob request throttled with 429 and Retry-After is sent again after the time asked, and succeeds', async () => {
    script = throttledOnce(429, { status: 200 });
    await clients.blobService('acct').getContainerClient('c').getProperties();
    expect(arrivals).toHaveLength(2);
    expect(waitedBeforeSecondTry()).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 50);
  });

  it('a queue request answered 503 with Retry-After waits the time asked, not the configured backoff', async () => {
    script = throttledOnce(503, { status: 200 });
    await clients.queueService('acct').getQueueClient('q').getProperties();
    expect(arrivals).toHaveLength(2);
    expect(waitedBeforeSecondTry()).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 50);
  });

  it('an ARM request throttled with 429 and Retry-After is sent again after the time asked, and succeeds', async () => {
    script = throttledOnce(429, { status: 200, body: JSON.stringify({ name: 'acct', location: 'eastus2' }) });
    const account = await clients.storageManagement('sub').storageAccounts.getProperties('rg', 'acct');
    expect(account.name).toBe('acct');
    expect(arrivals).toHaveLength(2);
    expect(waitedBeforeSecondTry()).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 50);
  });
});
