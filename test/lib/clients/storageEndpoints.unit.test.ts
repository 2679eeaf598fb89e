import type { StorageAccount } from '@azure/arm-storage';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { describe, expect, it } from 'vitest';
import { type ClientFactory, createClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { endpointsFromArm, learnStorageEndpoints } from '../../../src/lib/clients/storageEndpoints.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { copyDepsFor } from '../../../src/lib/failover/copyContext.js';
import { createLogger } from '../../../src/lib/log.js';

const SAS = 'sv=2025-01-05&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=c2lnbmF0dXJl';
const credential: TokenCredential = {
  getToken: async (): Promise<AccessToken> => ({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }),
};

/** An account with Azure DNS zone endpoints, as ARM reports it (`dnsEndpointType: AzureDnsZone`). */
const dnsZoneAccount = (name: string, zone: string): StorageAccount => ({
  name,
  location: 'eastus2',
  primaryEndpoints: {
    blob: `https://${name}.${zone}.blob.storage.azure.net/`,
    dfs: `https://${name}.${zone}.dfs.storage.azure.net/`,
  },
  secondaryEndpoints: { blob: `https://${name}-secondary.${zone}.blob.storage.azure.net/` },
});

/** An Azure factory whose ARM client answers from `accounts` (and counts the calls). */
function azureClients(accounts: Record<string, StorageAccount | Error>, calls: string[] = []): ClientFactory {
  const clients = createClientFactory({ kind: 'azure', credential });
  clients.storageManagement = () =>
    ({
      storageAccounts: {
        getProperties: async (_group: string, name: string) => {
          calls.push(name);
          const answer = accounts[name];
          if (!answer) throw Object.assign(new Error(`${name} not found`), { statusCode: 404 });
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
    }) as never;
  return clients;
}

const config = {
  subscriptionId: 'sub',
  primary: { resourceGroup: 'rg-kyvos', storageAccount: 'kyvosprimdata', container: 'kyvos' },
  dr: { resourceGroup: 'rg-kyvos-dr', storageAccount: 'kyvosdrdata', container: 'kyvos' },
  copyPrefix: '',
  sourceSasSecretName: 'kyvos-dr-source-sas',
} as unknown as DrConfig;

describe('storage endpoints from ARM', () => {
  it('takes blob, dfs and secondary blob endpoints from the ARM resource, without trailing slashes', () => {
    expect(endpointsFromArm(dnsZoneAccount('kyvosprimdata', 'z21'))).toEqual({
      blob: 'https://kyvosprimdata.z21.blob.storage.azure.net',
      dfs: 'https://kyvosprimdata.z21.dfs.storage.azure.net',
      secondaryBlob: 'https://kyvosprimdata-secondary.z21.blob.storage.azure.net',
    });
  });

  it('builds clients at the recorded endpoints, and at the conventional ones for an account ARM did not show', () => {
    const clients = createClientFactory({ kind: 'azure', credential });
    expect(clients.blobEndpoint('kyvosprimdata', true)).toBe(
      'https://kyvosprimdata-secondary.blob.core.windows.net',
    );
    clients.useEndpoints('kyvosprimdata', endpointsFromArm(dnsZoneAccount('kyvosprimdata', 'z21')));
    expect(clients.blobService('kyvosprimdata').url).toBe(
      'https://kyvosprimdata.z21.blob.storage.azure.net/',
    );
    expect(clients.blobService('kyvosprimdata', { secondary: true, sas: SAS }).url).toContain(
      'https://kyvosprimdata-secondary.z21.blob.storage.azure.net/?sv=',
    );
    expect(clients.blobEndpoint('kyvosdrdata')).toBe('https://kyvosdrdata.blob.core.windows.net');
  });

  it("the copy reads the source's secondary and writes the DR account at ARM's endpoints", async () => {
    const clients = azureClients({
      kyvosprimdata: dnsZoneAccount('kyvosprimdata', 'z21'),
      kyvosdrdata: dnsZoneAccount('kyvosdrdata', 'z42'),
    });
    const deps = await copyDepsFor({
      clients,
      config,
      logger: createLogger(() => {}),
      clock: () => new Date('2026-12-01T10:00:00Z'),
      appStorageAccount: 'kyvosdrapp',
      settings: { KYVOS_DR_SOURCE_SAS: SAS },
    });
    expect(deps.source.containerClient().url).toMatch(
      /^https:\/\/kyvosprimdata-secondary\.z21\.blob\.storage\.azure\.net\/kyvos\?/,
    );
    expect(deps.clients.blobService(deps.destination.account).url).toBe(
      'https://kyvosdrdata.z42.blob.storage.azure.net/',
    );
  });

  it('keeps the conventional endpoints when ARM does not answer, and asks again only after 5 minutes', async () => {
    const calls: string[] = [];
    const clients = azureClients({ kyvosprimdata: new Error('503 ServiceUnavailable') }, calls);
    let now = 0;
    const target = { subscriptionId: 'sub', resourceGroup: 'rg-kyvos', account: 'kyvosprimdata' };
    const first = await learnStorageEndpoints(clients, target, { now: () => now });
    expect(first).toMatchObject({ learned: false, fresh: true });
    expect(first.problem).toContain('503 ServiceUnavailable');
    now = 4 * 60_000;
    expect(await learnStorageEndpoints(clients, target, { now: () => now })).toMatchObject({
      learned: false,
    });
    expect(calls).toEqual(['kyvosprimdata']);
    now = 6 * 60_000;
    await learnStorageEndpoints(clients, target, { now: () => now });
    expect(calls).toEqual(['kyvosprimdata', 'kyvosprimdata']);
    expect(clients.blobEndpoint('kyvosprimdata')).toBe('https://kyvosprimdata.blob.core.windows.net');
  });
});
