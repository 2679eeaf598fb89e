import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import {
  armToken,
  createTestCertificate,
  DR_RG,
  PRIMARY_RG,
  rawRequest,
  SUBSCRIPTION_ID,
  startTestEmulator,
  type TestEmulator,
} from './helpers.js';

let tls: StackCertificate;
let stack: TestEmulator;

beforeAll(async () => {
  tls = await createTestCertificate();
  stack = await startTestEmulator(tls, { keyVault: { resourceGroup: PRIMARY_RG, location: 'westus3' } });
});

afterAll(async () => {
  await stack.stop();
});

const vaultPath = (resourceGroup: string, name: string) =>
  `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${resourceGroup}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`;

function get(path: string) {
  return rawRequest(`${stack.emulator.armEndpoint}${path}`, {
    tls,
    headers: { authorization: `Bearer ${armToken()}` },
  });
}

describe('Vaults_Get (Microsoft.KeyVault/vaults)', () => {
  it('answers the vault with its location, in the shape of the REST example', async () => {
    const response = await get(vaultPath(PRIMARY_RG, 'kv-kyvos-dr'));
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.KeyVault/vaults/kv-kyvos-dr`,
      name: 'kv-kyvos-dr',
      type: 'Microsoft.KeyVault/vaults',
      location: 'westus3',
      properties: { sku: { family: 'A', name: 'standard' }, vaultUri: `${stack.emulator.keyVaultUrl}/` },
    });
  });

  it('answers 404 ResourceNotFound for another vault or another resource group', async () => {
    for (const path of [vaultPath(PRIMARY_RG, 'kv-other'), vaultPath(DR_RG, 'kv-kyvos-dr')]) {
      const response = await get(path);
      expect(response.status).toBe(404);
      expect(response.json).toMatchObject({ error: { code: 'ResourceNotFound' } });
    }
  });
});
