import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import { afterAll } from 'vitest';
import { createStackCertificate, type StackCertificate } from '../../../local/certificate.js';
import { BUILT_IN_ROLE_DEFINITIONS } from '../../../local/emulator/authorization/builtInRoleDefinitions.js';
import {
  type ControlPlaneEmulator,
  type ControlPlaneEmulatorOptions,
  type EmulatorRequestEvent,
  startControlPlaneEmulator,
} from '../../../local/emulator/index.js';
import { emptyFaults, type LocalFlexibleServer, type LocalStorageAccount } from '../../../local/types.js';
import {
  type ClientFactory,
  createClientFactory,
  localStackAgent,
  type RetrySettings,
} from '../../../src/lib/clients/ClientFactory.js';
import { LocalStackCredential, unsignedJwt } from '../../../src/lib/clients/LocalStackCredential.js';

export const SUBSCRIPTION_ID = '00000000-1111-2222-3333-444444444444';
export const TENANT_ID = '99999999-8888-7777-6666-555555555555';
const REGIONS = { primary: 'centralus', dr: 'eastus2' };
export const PRIMARY_RG = 'rg-kyvos';
export const DR_RG = 'rg-kyvos-dr';
/**
 * The object ID of every token these helpers mint. The test emulator gives it Owner and Key Vault
 * Secrets Officer on the subscription, so these tests see the API, not authorization (test/local/emulator/authorization.test.ts
 * covers that).
 */
export const TEST_PRINCIPAL_ID = '11111111-2222-3333-4444-555555555555';

const certificateDirs: string[] = [];
// Registered when a test file imports these helpers: its certificates go when the file is done.
afterAll(() => {
  for (const dir of certificateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * The local stack's certificate (local/certificate.ts), for 127.0.0.1 and localhost, made once per
 * test file in a directory of its own, removed after the file's tests.
 */
export async function createTestCertificate(): Promise<StackCertificate> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kyvos-dr-emulator-'));
  certificateDirs.push(dir);
  return createStackCertificate(dir);
}

/** A JWT as the local stack's credential mints them, carrying `claims` (`oid` is the test principal unless given). */
export function testToken(claims: Record<string, unknown>): string {
  return unsignedJwt({ oid: TEST_PRINCIPAL_ID, ...claims });
}

/** The local stack's credential (src/lib/clients/LocalStackCredential.ts) for the test principal. */
export function testCredential(): LocalStackCredential {
  return new LocalStackCredential(TENANT_ID, TEST_PRINCIPAL_ID);
}

/**
 * The production client factory on a test emulator, as on the local stack: the stack's credential
 * (the test principal's unless given), its certificate as the only trust, the SDK's retries unless
 * `retry` changes them.
 */
export function testClients(
  stack: TestEmulator,
  tls: StackCertificate,
  options: { credential?: TokenCredential; retry?: Partial<RetrySettings> } = {},
): ClientFactory {
  return createClientFactory({
    kind: 'local',
    descriptor: {
      kind: 'local',
      tenantId: TENANT_ID,
      subscriptionId: SUBSCRIPTION_ID,
      caCertPath: tls.certPath,
      armEndpoint: stack.emulator.armEndpoint,
      keyVaultUrl: stack.emulator.keyVaultUrl,
      blobEndpointTemplate: 'https://127.0.0.1:40000/{account}',
      queueEndpointTemplate: 'https://127.0.0.1:40001/{account}',
    },
    credential: options.credential ?? testCredential(),
    ...(options.retry ? { retry: options.retry } : {}),
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, or undefined. */
  // biome-ignore lint/suspicious/noExplicitAny: wire-format tests read arbitrary JSON bodies
  json: any;
}

/**
 * One HTTPS request without an SDK, to check the wire format itself, trusting what the local stack's
 * clients trust (`localStackAgent` of the certificate).
 */
export function rawRequest(
  url: string,
  options: { tls: StackCertificate; method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const agent = localStackAgent(options.tls.certPath);
  return new Promise<RawResponse>((resolve, reject) => {
    const request = https.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  }).finally(() => agent.destroy());
}

/** A valid ARM token for raw requests. */
export function armToken(tenantId = TENANT_ID): string {
  const now = Math.floor(Date.now() / 1000);
  return testToken({
    aud: 'https://management.azure.com',
    tid: tenantId,
    iat: now,
    nbf: now,
    exp: now + 600,
  });
}

/** The stack's storage accounts, as local/stack.ts declares them (fresh objects per test). */
function testStorageAccounts(): LocalStorageAccount[] {
  return [
    {
      name: 'stkyvosprimary',
      key: Buffer.from('primary-key-0123456789').toString('base64'),
      resourceGroup: PRIMARY_RG,
      region: 'primary',
      sku: 'Standard_RAGRS',
      isHnsEnabled: true,
      existsInArm: true,
    },
    {
      name: 'stkyvosdr',
      key: Buffer.from('dr-key-0123456789').toString('base64'),
      resourceGroup: DR_RG,
      region: 'dr',
      sku: 'Standard_LRS',
      isHnsEnabled: true,
      existsInArm: false,
    },
    {
      name: 'stkyvoslrs',
      key: Buffer.from('lrs-key-0123456789').toString('base64'),
      resourceGroup: PRIMARY_RG,
      region: 'primary',
      sku: 'Standard_LRS',
      isHnsEnabled: false,
      existsInArm: true,
    },
  ];
}

/** Blob containers in memory: container storage is the stack's job, not the emulator's. */
class InMemoryContainers {
  readonly names = new Set<string>();
  failWith: Error | undefined;

  async create(account: string, container: string): Promise<'created' | 'exists'> {
    if (this.failWith) throw this.failWith;
    const key = `${account}/${container}`;
    if (this.names.has(key)) return 'exists';
    this.names.add(key);
    return 'created';
  }

  async exists(account: string, container: string): Promise<boolean> {
    if (this.failWith) throw this.failWith;
    return this.names.has(`${account}/${container}`);
  }
}

export interface TestEmulator {
  emulator: ControlPlaneEmulator;
  options: ControlPlaneEmulatorOptions;
  containers: InMemoryContainers;
  requests: EmulatorRequestEvent[];
  stop(): Promise<void>;
}

/** Starts an emulator on free ports with the test topology; `overrides` replace options. */
export async function startTestEmulator(
  tls: { cert: string; key: string },
  overrides: Partial<ControlPlaneEmulatorOptions> & { servers?: LocalFlexibleServer[] } = {},
): Promise<TestEmulator> {
  const containers = new InMemoryContainers();
  const requests: EmulatorRequestEvent[] = [];
  const options: ControlPlaneEmulatorOptions = {
    tls,
    subscriptionId: SUBSCRIPTION_ID,
    tenantId: TENANT_ID,
    regions: REGIONS,
    storageAccounts: testStorageAccounts(),
    servers: [],
    faults: emptyFaults(),
    blobEndpoint: (account, secondary) =>
      `https://127.0.0.1:40000/${account}${secondary ? '-secondary' : ''}`,
    containers,
    keyVaultName: 'kv-kyvos-dr',
    authorization: {
      policy: {
        roleDefinitions: BUILT_IN_ROLE_DEFINITIONS,
        assignments: [
          {
            principalId: TEST_PRINCIPAL_ID,
            scope: `/subscriptions/${SUBSCRIPTION_ID}`,
            roleDefinitionId: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
          },
          // Owner grants no data actions; Key Vault Secrets Officer grants every secret operation.
          {
            principalId: TEST_PRINCIPAL_ID,
            scope: `/subscriptions/${SUBSCRIPTION_ID}`,
            roleDefinitionId: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
          },
        ],
      },
      keyVaultResourceId: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.KeyVault/vaults/kv-kyvos-dr`,
      keyVaultLocation: REGIONS.primary,
    },
    lroPollDelaySeconds: 0,
    storageOperationDurationInMs: 300,
    onRequest: (event) => requests.push(event),
    ...overrides,
  };
  const emulator = await startControlPlaneEmulator(options);
  return { emulator, options, containers, requests, stop: () => emulator.stop() };
}
