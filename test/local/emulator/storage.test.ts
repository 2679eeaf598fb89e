import type { StorageManagementClient } from '@azure/arm-storage';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import { applyFaultsChange } from '../../../local/emulator/faultsAdmin.js';
import {
  armToken,
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

function storageClient(options: { maxRetries?: number } = {}): StorageManagementClient {
  const retry = options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : undefined;
  return testClients(stack, tls, retry ? { retry } : {}).storageManagement(SUBSCRIPTION_ID);
}

describe('storage accounts through the control-plane emulator', () => {
  it('answers the full account resource of an RA-GRS HNS account, with endpoints on the storage front', async () => {
    stack = await startTestEmulator(tls);
    const account = await storageClient().storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary');

    expect(account.id).toBe(
      `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.Storage/storageAccounts/stkyvosprimary`,
    );
    expect(account.name).toBe('stkyvosprimary');
    expect(account.type).toBe('Microsoft.Storage/storageAccounts');
    expect(account.location).toBe('centralus');
    expect(account.kind).toBe('StorageV2');
    expect(account.sku).toEqual({ name: 'Standard_RAGRS', tier: 'Standard' });
    expect(account.provisioningState).toBe('Succeeded');
    expect(account.isHnsEnabled).toBe(true);
    expect(account.primaryEndpoints?.blob).toBe('https://127.0.0.1:40000/stkyvosprimary/');
    // The storage front's Data Lake endpoints (local/hns/endpoints.ts).
    expect(account.primaryEndpoints?.dfs).toBe('https://127.0.0.1:40000/stkyvosprimary-dfs/');
    expect(account.secondaryEndpoints?.blob).toBe('https://127.0.0.1:40000/stkyvosprimary-secondary/');
    expect(account.secondaryEndpoints?.dfs).toBe('https://127.0.0.1:40000/stkyvosprimary-secondary-dfs/');
    expect(account.primaryLocation).toBe('centralus');
    expect(account.secondaryLocation).toBe('eastus2');
    expect(account.statusOfPrimary).toBe('available');
    expect(account.statusOfSecondary).toBe('available');
    expect(account.creationTime).toBeInstanceOf(Date);
    expect(account.minimumTlsVersion).toBe('TLS1_2');
    expect(account.enableHttpsTrafficOnly).toBe(true);
    expect(account.allowBlobPublicAccess).toBe(false);
    expect(account.encryption?.keySource).toBe('Microsoft.Storage');
    // Only on $expand.
    expect(account.geoReplicationStats).toBeUndefined();
  });

  it('reports the network rules the storage front enforces, as networkAcls (NetworkRuleSet)', async () => {
    stack = await startTestEmulator(tls);
    const open = await storageClient().storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary');
    expect(open.networkRuleSet).toEqual({
      bypass: 'AzureServices',
      defaultAction: 'Allow',
      ipRules: [],
      virtualNetworkRules: [],
      resourceAccessRules: [],
    });
    applyFaultsChange(stack.options.faults, {
      storageNetworkRules: {
        stkyvosprimary: {
          defaultAction: 'Deny',
          ipRules: [{ value: '198.51.100.0/24', action: 'Allow' }],
          virtualNetworkRules: [
            {
              id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/f',
              action: 'Allow',
            },
          ],
        },
      },
    });
    const denying = await storageClient().storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary');
    expect(denying.networkRuleSet).toMatchObject({
      defaultAction: 'Deny',
      ipRules: [{ iPAddressOrRange: '198.51.100.0/24', action: 'Allow' }],
      virtualNetworkRules: [
        { virtualNetworkResourceId: expect.stringContaining('/subnets/f'), action: 'Allow' },
      ],
    });
  });

  it('reports geo-replication Live with a current lastSyncTime, frozen while replication is paused', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    const before = Date.now();
    const live = await client.storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary', {
      expand: 'geoReplicationStats',
    });
    expect(live.geoReplicationStats?.status).toBe('Live');
    expect(live.geoReplicationStats?.canFailover).toBe(true);
    expect(live.geoReplicationStats?.canPlannedFailover).toBe(true);
    expect(live.geoReplicationStats?.postFailoverRedundancy).toBe('Standard_LRS');
    expect(live.geoReplicationStats?.postPlannedFailoverRedundancy).toBe('Standard_RAGRS');
    expect(live.geoReplicationStats?.lastSyncTime?.getTime()).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000,
    );

    const pausedAt = new Date('2025-01-02T03:04:05Z');
    stack.options.faults.storageReplicationPausedAt = pausedAt;
    const paused = await client.storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary', {
      expand: 'geoReplicationStats',
    });
    expect(paused.geoReplicationStats?.status).toBe('Live');
    expect(paused.geoReplicationStats?.lastSyncTime?.toISOString()).toBe(pausedAt.toISOString());
  });

  it('reports the secondary Unavailable when it is out or the DR region is down', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    stack.options.faults.secondaryUnavailable = true;
    const out = await client.storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary', {
      expand: 'geoReplicationStats',
    });
    expect(out.statusOfSecondary).toBe('unavailable');
    expect(out.geoReplicationStats?.status).toBe('Unavailable');
    expect(out.geoReplicationStats?.canFailover).toBe(false);
    expect(out.geoReplicationStats?.lastSyncTime).toBeUndefined();

    stack.options.faults.secondaryUnavailable = false;
    stack.options.faults.regionsDown.add('dr');
    const drDown = await client.storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary', {
      expand: 'geoReplicationStats',
    });
    expect(drDown.geoReplicationStats?.status).toBe('Unavailable');
  });

  it('answers 503 ServiceUnavailable for an account whose region is down', async () => {
    stack = await startTestEmulator(tls);
    stack.options.faults.regionsDown.add('primary');
    const error = await storageClient({ maxRetries: 0 })
      .storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 503, code: 'ServiceUnavailable' });
    expect((error as Error).message).toContain("region 'centralus'");
  });

  it('answers 404 ResourceNotFound for an unknown account and for one ARM has not created yet', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    for (const [rg, name] of [
      [PRIMARY_RG, 'nosuchaccount'],
      [DR_RG, 'stkyvosdr'],
    ] as const) {
      const error = await client.storageAccounts.getProperties(rg, name).catch((e: unknown) => e);
      expect(error).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    }
  });

  it('creates the DR account as a long-running operation; afterwards GET answers it with the requested properties', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    const poller = client.storageAccounts.create(
      DR_RG,
      'stkyvosdr',
      {
        location: 'eastus2',
        kind: 'StorageV2',
        sku: { name: 'Standard_ZRS' },
        isHnsEnabled: true,
        minimumTlsVersion: 'TLS1_2',
        enableHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
      },
      { updateIntervalInMs: 100 },
    );
    const created = await poller.pollUntilDone();
    expect(created.name).toBe('stkyvosdr');
    expect(created.location).toBe('eastus2');
    expect(created.isHnsEnabled).toBe(true);
    expect(stack.options.storageAccounts.find((a) => a.name === 'stkyvosdr')?.existsInArm).toBe(true);

    const account = await client.storageAccounts.getProperties(DR_RG, 'stkyvosdr');
    // Zone-redundant, not geo-redundant: no secondary region.
    expect(account.sku?.name).toBe('Standard_ZRS');
    expect(account.secondaryLocation).toBeUndefined();
    expect(account.primaryEndpoints?.blob).toBe('https://127.0.0.1:40000/stkyvosdr/');

    // The operation URL answered 202 while running, then 200.
    const polls = stack.requests.filter((r) => r.path.includes('/asyncoperations/'));
    expect(polls.map((r) => r.status)).toContain(202);
    expect(polls.at(-1)?.status).toBe(200);
  });

  it('refuses to create an account Azurite was not started with, and names the ones it can create', async () => {
    stack = await startTestEmulator(tls);
    const error = await storageClient()
      .storageAccounts.create(DR_RG, 'stbrandnew', {
        location: 'eastus2',
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
      })
      .pollUntilDone()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 400, code: 'StorageAccountNotInLocalStack' });
    expect((error as Error).message).toContain('Azurite fixes its accounts at start');
    expect((error as Error).message).toContain('stkyvosdr');
  });

  it('validates the create body: location must be one of the pair', async () => {
    stack = await startTestEmulator(tls);
    const response = await rawRequest(
      `${stack.emulator.armEndpoint}/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${DR_RG}/providers/Microsoft.Storage/storageAccounts/stkyvosdr?api-version=2025-08-01`,
      {
        tls,
        method: 'PUT',
        headers: { authorization: `Bearer ${armToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ location: 'westeurope', kind: 'StorageV2', sku: { name: 'Standard_LRS' } }),
      },
    );
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('LocationNotAvailableForResourceType');
  });

  it('lists the account keys, key1 being the Azurite key', async () => {
    stack = await startTestEmulator(tls);
    const result = await storageClient().storageAccounts.listKeys(PRIMARY_RG, 'stkyvosprimary');
    expect(result.keys?.map((k) => k.keyName)).toEqual(['key1', 'key2']);
    expect(result.keys?.[0]?.value).toBe(stack.options.storageAccounts[0]?.key);
    expect(result.keys?.[0]?.permissions).toBe('Full');
    expect(result.keys?.[1]?.value).not.toBe(result.keys?.[0]?.value);
  });

  it('fails an account over: the account moves to the DR region and becomes LRS', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    await client.storageAccounts
      .failover(PRIMARY_RG, 'stkyvosprimary', { updateIntervalInMs: 100 })
      .pollUntilDone();
    const account = await client.storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary');
    expect(account.location).toBe('eastus2');
    expect(account.sku?.name).toBe('Standard_LRS');
    expect(account.lastGeoFailoverTime).toBeInstanceOf(Date);
    expect(account.secondaryEndpoints).toBeUndefined();
  });

  it('a planned failover keeps the geo-redundant SKU and swaps the locations', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    await client.storageAccounts
      .failover(PRIMARY_RG, 'stkyvosprimary', { failoverType: 'Planned', updateIntervalInMs: 100 })
      .pollUntilDone();
    const account = await client.storageAccounts.getProperties(PRIMARY_RG, 'stkyvosprimary');
    expect(account.primaryLocation).toBe('eastus2');
    expect(account.secondaryLocation).toBe('centralus');
    expect(account.sku?.name).toBe('Standard_RAGRS');
  });

  it('an unplanned failover works while the primary region is down', async () => {
    stack = await startTestEmulator(tls);
    stack.options.faults.regionsDown.add('primary');
    await storageClient()
      .storageAccounts.failover(PRIMARY_RG, 'stkyvosprimary', { updateIntervalInMs: 100 })
      .pollUntilDone();
    expect(stack.options.storageAccounts[0]?.region).toBe('dr');
  });

  it('refuses to fail over an LRS account', async () => {
    stack = await startTestEmulator(tls);
    const error = await storageClient()
      .storageAccounts.failover(PRIMARY_RG, 'stkyvoslrs', { updateIntervalInMs: 100 })
      .pollUntilDone()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 400, code: 'FailoverNotSupported' });
  });

  it('creates blob containers through the stack and reads them back', async () => {
    stack = await startTestEmulator(tls);
    const client = storageClient();
    const created = await client.blobContainers.create(PRIMARY_RG, 'stkyvosprimary', 'kyvos', {});
    expect(created).toMatchObject({
      name: 'kyvos',
      type: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.Storage/storageAccounts/stkyvosprimary/blobServices/default/containers/kyvos`,
    });
    expect(stack.containers.names.has('stkyvosprimary/kyvos')).toBe(true);
    // Idempotent.
    await client.blobContainers.create(PRIMARY_RG, 'stkyvosprimary', 'kyvos', {});
    expect((await client.blobContainers.get(PRIMARY_RG, 'stkyvosprimary', 'kyvos')).name).toBe('kyvos');
    const missing = await client.blobContainers
      .get(PRIMARY_RG, 'stkyvosprimary', 'nope')
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404, code: 'ContainerNotFound' });
    const statuses = stack.requests.filter((r) => r.method === 'PUT').map((r) => r.status);
    expect(statuses).toEqual([201, 200]);
  });
});
