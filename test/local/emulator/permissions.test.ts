import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import { BUILT_IN_ROLE_DEFINITIONS } from '../../../local/emulator/authorization/builtInRoleDefinitions.js';
import {
  armToken,
  createTestCertificate,
  DR_RG,
  PRIMARY_RG,
  rawRequest,
  SUBSCRIPTION_ID,
  startTestEmulator,
  TENANT_ID,
  TEST_PRINCIPAL_ID,
  type TestEmulator,
  testToken,
} from './helpers.js';

const SUB = `/subscriptions/${SUBSCRIPTION_ID}`;
const ACCOUNT = `${SUB}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.Storage/storageAccounts/stkyvosprimary`;
const VAULT = `${SUB}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.KeyVault/vaults/kv-kyvos-dr`;
/** A principal holding Reader and Storage Blob Data Reader on the primary account, and nothing else. */
const READER_ID = '00000000-0000-0000-0000-0000000000b1';
const role = (name: string) => {
  const found = BUILT_IN_ROLE_DEFINITIONS.find((r) => r.roleName === name);
  if (!found) throw new Error(name);
  return found;
};

let tls: StackCertificate;
let stack: TestEmulator;

beforeAll(async () => {
  tls = await createTestCertificate();
  stack = await startTestEmulator(tls, {
    authorization: {
      policy: {
        roleDefinitions: BUILT_IN_ROLE_DEFINITIONS,
        assignments: [
          { principalId: TEST_PRINCIPAL_ID, scope: SUB, roleDefinitionId: role('Owner').id },
          {
            principalId: TEST_PRINCIPAL_ID,
            scope: SUB,
            roleDefinitionId: role('Key Vault Secrets Officer').id,
          },
          { principalId: READER_ID, scope: ACCOUNT, roleDefinitionId: role('Reader').id },
          { principalId: READER_ID, scope: ACCOUNT, roleDefinitionId: role('Storage Blob Data Reader').id },
          { principalId: READER_ID, scope: `${VAULT}/secrets/one`, roleDefinitionId: role('Reader').id },
        ],
      },
      keyVaultResourceId: VAULT,
      keyVaultLocation: 'eastus2',
    },
  });
});

afterAll(async () => {
  await stack.stop();
});

function list(scope: string, options: { principalId?: string; apiVersion?: string | null } = {}) {
  const version = options.apiVersion === undefined ? '2022-04-01' : options.apiVersion;
  const token = options.principalId
    ? testToken({ aud: 'https://management.azure.com', tid: TENANT_ID, oid: options.principalId })
    : armToken();
  return rawRequest(
    `${stack.emulator.armEndpoint}${scope}/providers/Microsoft.Authorization/permissions${version === null ? '' : `?api-version=${version}`}`,
    { tls, headers: { authorization: `Bearer ${token}` } },
  );
}

describe('Permissions_ListForResourceGroup and Permissions_ListForResource', () => {
  it("answers one entry per permission block of each of the caller's roles at the scope or above", async () => {
    const response = await list(`${SUB}/resourceGroups/${DR_RG}`);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      value: [
        { actions: ['*'], notActions: [], dataActions: [], notDataActions: [] },
        {
          ...role('Key Vault Secrets Officer').permissions[0],
        },
      ],
    });
  });

  it("lists the caller's roles only, those on the resource and those inherited", async () => {
    const response = await list(ACCOUNT, { principalId: READER_ID });
    expect(response.status).toBe(200);
    expect(response.json.value).toEqual([
      { actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] },
      role('Storage Blob Data Reader').permissions[0],
    ]);
    const owner = await list(ACCOUNT);
    expect(owner.json.value).toHaveLength(2);
    expect(owner.json.value[0].actions).toEqual(['*']);
  });

  it('answers for a child resource (a parent resource path), the same for any letter case', async () => {
    const response = await list(`${VAULT.toUpperCase()}/SECRETS/one`, { principalId: READER_ID });
    expect(response.status).toBe(200);
    expect(response.json.value).toEqual([
      { actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] },
    ]);
  });

  it('needs Microsoft.Authorization/permissions/read at the scope itself: 403 AuthorizationFailed without it', async () => {
    const response = await list(`${SUB}/resourceGroups/${PRIMARY_RG}`, { principalId: READER_ID });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('AuthorizationFailed');
    expect(response.json.error.message).toContain("'Microsoft.Authorization/permissions/read'");
    expect(response.json.error.message).toContain(`over scope '${SUB}/resourceGroups/${PRIMARY_RG}'`);
  });

  it('answers 404 ResourceGroupNotFound for a resource group the subscription does not have', async () => {
    const response = await list(`${SUB}/resourceGroups/rg-missing`);
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('ResourceGroupNotFound');
  });

  it('answers 400 for a missing api-version, and InvalidResourceType for one without the operation', async () => {
    const missing = await list(`${SUB}/resourceGroups/${DR_RG}`, { apiVersion: null });
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe('MissingApiVersionParameter');
    const unknown = await list(`${SUB}/resourceGroups/${DR_RG}`, { apiVersion: '2021-01-01' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('InvalidResourceType');
    expect(unknown.json.error.message).toContain('2022-04-01');
  });
});
