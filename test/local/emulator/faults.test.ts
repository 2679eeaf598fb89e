import type { StorageManagementClient } from '@azure/arm-storage';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import type { FaultState } from '../../../local/types.js';
import {
  createTestCertificate,
  DR_RG,
  PRIMARY_RG,
  rawRequest,
  SUBSCRIPTION_ID,
  startTestEmulator,
  type TestEmulator,
  testClients,
} from './helpers.js';

let tls: StackCertificate;
let stack: TestEmulator;

beforeAll(async () => {
  tls = await createTestCertificate();
});

afterEach(async () => {
  await stack?.stop();
});

function storageClient(): StorageManagementClient {
  return testClients(stack, tls).storageManagement(SUBSCRIPTION_ID);
}

describe('faults of the control-plane emulator', () => {
  it('throttles the next ARM request with 429 and Retry-After; the SDK waits, retries and succeeds', async () => {
    stack = await startTestEmulator(tls);
    stack.options.faults.armThrottle = { count: 1, status: 429, retryAfterSeconds: 1 };
    const started = Date.now();
    const account = await storageClient().storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary');
    expect(account.name).toBe('stkyvosprimary');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(stack.requests.filter((r) => r.service === 'arm').map((r) => [r.status, r.errorCode])).toEqual([
      [429, 'TooManyRequests'],
      [200, undefined],
    ]);
    expect(stack.options.faults.armThrottle).toBeNull();
  });

  it('fails the next long-running operation with the injected error, then lets the next one through', async () => {
    stack = await startTestEmulator(tls);
    stack.options.faults.lroFailures = {
      count: 1,
      code: 'InternalServerError',
      message: 'Injected for the test.',
    };
    const client = storageClient();
    const parameters = {
      location: 'eastus2',
      kind: 'StorageV2' as const,
      sku: { name: 'Standard_LRS' as const },
    };
    const error = await client.storageAccounts
      .create(DR_RG, 'stkyvosdr', parameters, { updateIntervalInMs: 100 })
      .pollUntilDone()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'InternalServerError', message: 'Injected for the test.' });
    expect(stack.options.storageAccounts.find((a) => a.name === 'stkyvosdr')?.existsInArm).toBe(false);
    expect(stack.options.faults.lroFailures).toBeNull();

    const created = await client.storageAccounts
      .create(DR_RG, 'stkyvosdr', parameters, { updateIntervalInMs: 100 })
      .pollUntilDone();
    expect(created.name).toBe('stkyvosdr');
  });

  it('lets a loopback client set, read and clear the faults without a token, and tells the stack', async () => {
    const notified: FaultState[] = [];
    stack = await startTestEmulator(tls, {
      onFaultsChanged: async (faults) => {
        notified.push(faults);
      },
    });
    const admin = (method: string, body?: unknown) =>
      rawRequest(`${stack.emulator.armEndpoint}/_emulator/faults`, {
        tls,
        method,
        headers: { 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });

    const set = await admin('POST', {
      regionDown: 'primary',
      secondaryUnavailable: true,
      pauseStorageReplication: true,
      storageReplicationDelayMs: 5_000,
      storageLatencyMs: 20,
      armThrottle: { count: 2, status: 503, retryAfterSeconds: 3 },
      lroFailures: { count: 1, code: 'Conflict', message: 'No.' },
    });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({
      regionsDown: ['primary'],
      secondaryUnavailable: true,
      storageReplicationDelayMs: 5_000,
      storageLatencyMs: 20,
      armThrottle: { count: 2, status: 503, retryAfterSeconds: 3 },
      lroFailures: { count: 1, code: 'Conflict', message: 'No.' },
    });
    const faults = stack.options.faults;
    expect(faults.regionsDown.has('primary')).toBe(true);
    expect(faults.storageReplicationPausedAt).toBeInstanceOf(Date);
    expect(faults.storageReplicationDelayMs).toBe(5_000);
    expect(set.json.storageReplicationPausedAt).toBe(faults.storageReplicationPausedAt?.toISOString());
    expect(notified).toHaveLength(1);

    expect((await admin('GET')).json.regionsDown).toEqual(['primary']);

    const invalid = await admin('POST', { regionDown: 'mars' });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.code).toBe('InvalidRequestContent');
    const slow = await admin('POST', { storageLatencyMs: 61_000 });
    expect(slow.status).toBe(400);
    expect(slow.json.error.message).toMatch(/storageLatencyMs must be a whole number of milliseconds from 0/);
    const lagging = await admin('POST', { storageReplicationDelayMs: -1 });
    expect(lagging.status).toBe(400);
    expect(lagging.json.error.message).toMatch(
      /storageReplicationDelayMs must be a whole number of milliseconds from 0 to 3600000/,
    );

    const rules = await admin('POST', {
      storageNetworkRules: { kyvosprimdata: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.7' }] } },
    });
    expect(rules.json.storageNetworkRules.kyvosprimdata).toEqual({
      defaultAction: 'Deny',
      bypass: 'AzureServices',
      ipRules: [{ value: '198.51.100.7' }],
      virtualNetworkRules: [],
      resourceAccessRules: [],
    });
    const badRules = await admin('POST', {
      storageNetworkRules: { kyvosprimdata: { defaultAction: 'Block' } },
    });
    expect(badRules.status).toBe(400);
    expect(badRules.json.error.message).toContain('storageNetworkRules.kyvosprimdata.defaultAction must be');

    const cleared = await admin('DELETE');
    expect(cleared.json).toEqual({
      regionsDown: [],
      secondaryUnavailable: false,
      storageReplicationPausedAt: null,
      storageReplicationDelayMs: 0,
      storageLatencyMs: 0,
      armThrottle: null,
      lroFailures: null,
      keyVaultUnavailable: false,
      storageNetworkRules: {},
    });
    // The same object, changed in place: the storage front and the stack share it.
    expect(stack.options.faults).toBe(faults);
    // Set, the network rules, clear: the stack is told each time.
    expect(notified).toHaveLength(3);
  });
});
