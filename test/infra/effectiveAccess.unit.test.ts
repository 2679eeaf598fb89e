import { describe, expect, it } from 'vitest';
import { checkAccess, type RbacPolicy } from '../../local/emulator/authorization/accessCheck.js';
import { DEFAULT_NAMES } from '../../local/stack.js';
import { stackRbacPolicy } from '../../local/stackAuthorization.js';
import { LOCAL_APP_OBJECT_ID } from '../../src/lib/clients/LocalStackCredential.js';

/**
 * What the app's identity may do once `infra/` is deployed, evaluated from the templates themselves
 * (local/emulator/authorization/infraAssignments.ts) with the local stack's names. The same policy
 * is what the local stack enforces.
 */
const n = DEFAULT_NAMES;
const SUB = `/subscriptions/${n.subscriptionId}`;
const PRIMARY_RG = `${SUB}/resourceGroups/${n.primaryResourceGroup}`;
const DR_RG = `${SUB}/resourceGroups/${n.drResourceGroup}`;
const server = (rg: string, name: string) =>
  `${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
const REPLICA = server(DR_RG, n.replicaPostgresServer);
const PRIMARY = server(PRIMARY_RG, n.primaryPostgresServer);
const pgStatus = (region: string) =>
  `${SUB}/providers/Microsoft.DBforPostgreSQL/locations/${region}/azureAsyncOperation/0b5e`;
const VAULT = `${PRIMARY_RG}/providers/Microsoft.KeyVault/vaults/${n.keyVaultName}`;
const STATUS_READ = 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read';

const may = (
  policy: RbacPolicy,
  action: string,
  scope: string,
  extra: { dataAction?: boolean; operationResourceGroup?: string } = {},
) => checkAccess(policy, { principalId: LOCAL_APP_OBJECT_ID, action, scope, ...extra }).allowed;

const templates = stackRbacPolicy(n, n.drResourceGroup);
/**
 * The assignments as they were before: the operation-status reads granted with the server roles,
 * on the servers (here: the status role moved from each resource group to its server).
 */
const serverScopeOnly = stackRbacPolicy(n, n.drResourceGroup, {
  adjustAssignments: (assignments, roleOf) =>
    assignments.map((a) =>
      roleOf(a) !== 'Kyvos DR Operation Status Reader'
        ? a
        : { ...a, scope: a.scope === DR_RG ? REPLICA : PRIMARY },
    ),
});

function roleNameOf(roleDefinitionId: string): string {
  const id = roleDefinitionId.split('/').pop()?.toLowerCase();
  return templates.roleDefinitions.find((r) => r.id.toLowerCase() === id)?.roleName ?? '';
}

describe('the app identity, as infra/ deploys it', () => {
  it("can read the vault's ARM resource (its region), which reads no secret", () => {
    expect(may(templates, 'Microsoft.KeyVault/vaults/read', VAULT)).toBe(true);
    const withoutVaultReader = stackRbacPolicy(n, n.drResourceGroup, {
      adjustAssignments: (assignments, roleOf) =>
        assignments.filter((a) => !(roleOf(a) === 'Reader' && a.scope.toLowerCase() === VAULT.toLowerCase())),
    });
    expect(may(withoutVaultReader, 'Microsoft.KeyVault/vaults/read', VAULT)).toBe(false);
  });

  it('can promote the replica and track the promote', () => {
    expect(may(templates, 'Microsoft.DBforPostgreSQL/flexibleServers/write', REPLICA)).toBe(true);
    expect(may(templates, STATUS_READ, pgStatus(n.regions.dr), { operationResourceGroup: DR_RG })).toBe(true);
    expect(
      may(templates, 'Microsoft.DBforPostgreSQL/locations/operationResults/read', pgStatus(n.regions.dr), {
        operationResourceGroup: DR_RG,
      }),
    ).toBe(true);
  });

  it('can stop the old primary and track the stop', () => {
    expect(may(templates, 'Microsoft.DBforPostgreSQL/flexibleServers/stop/action', PRIMARY)).toBe(true);
    expect(
      may(templates, STATUS_READ, pgStatus(n.regions.primary), { operationResourceGroup: PRIMARY_RG }),
    ).toBe(true);
  });

  it('can create the DR storage account and track the create', () => {
    const account = `${DR_RG}/providers/Microsoft.Storage/storageAccounts/${n.drStorageAccount}`;
    expect(may(templates, 'Microsoft.Storage/storageAccounts/write', account)).toBe(true);
    expect(
      may(
        templates,
        'Microsoft.Storage/operations/read',
        `${SUB}/providers/Microsoft.Storage/locations/eastus2/asyncoperations/1`,
        {
          operationResourceGroup: DR_RG,
        },
      ),
    ).toBe(true);
  });

  it('may create and read a DR storage account but not delete it, read or regenerate its keys', () => {
    const account = `${DR_RG}/providers/Microsoft.Storage/storageAccounts/${n.drStorageAccount}`;
    expect(may(templates, 'Microsoft.Storage/storageAccounts/read', account)).toBe(true);
    for (const action of [
      'Microsoft.Storage/storageAccounts/delete',
      'Microsoft.Storage/storageAccounts/listkeys/action',
      'Microsoft.Storage/storageAccounts/regeneratekey/action',
      'Microsoft.Storage/storageAccounts/failover/action',
    ]) {
      expect(may(templates, action, account), action).toBe(false);
    }
  });

  it('holds no table role on its own storage account', () => {
    const table = `${SUB}/resourceGroups/${n.drResourceGroup}/providers/Microsoft.Storage/storageAccounts/${n.appStorageAccount}/tableServices/default/tables/runs`;
    expect(
      may(templates, 'Microsoft.Storage/storageAccounts/tableServices/tables/entities/read', table, {
        dataAction: true,
      }),
    ).toBe(false);
  });

  it('with the operation-status reads granted on the servers only, starts a promote or a stop it cannot track', () => {
    expect(may(serverScopeOnly, 'Microsoft.DBforPostgreSQL/flexibleServers/write', REPLICA)).toBe(true);
    expect(may(serverScopeOnly, STATUS_READ, REPLICA)).toBe(true);
    expect(may(serverScopeOnly, STATUS_READ, pgStatus(n.regions.dr), { operationResourceGroup: DR_RG })).toBe(
      false,
    );
    expect(may(serverScopeOnly, 'Microsoft.DBforPostgreSQL/flexibleServers/stop/action', PRIMARY)).toBe(true);
    expect(
      may(serverScopeOnly, STATUS_READ, pgStatus(n.regions.primary), { operationResourceGroup: PRIMARY_RG }),
    ).toBe(false);
  });

  it('still cannot update the primary, stop the replica, delete a server or list keys of the primary account', () => {
    expect(may(templates, 'Microsoft.DBforPostgreSQL/flexibleServers/write', PRIMARY)).toBe(false);
    expect(may(templates, 'Microsoft.DBforPostgreSQL/flexibleServers/stop/action', REPLICA)).toBe(false);
    expect(may(templates, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', REPLICA)).toBe(false);
    expect(may(templates, 'Microsoft.DBforPostgreSQL/flexibleServers/write', server(DR_RG, 'pg-other'))).toBe(
      false,
    );
    expect(
      may(
        templates,
        'Microsoft.Storage/storageAccounts/listkeys/action',
        `${PRIMARY_RG}/providers/Microsoft.Storage/storageAccounts/${n.primaryStorageAccount}`,
      ),
    ).toBe(false);
  });

  it('holds nothing but operation-status reads on the primary resource group', () => {
    const onGroup = templates.assignments.filter(
      (a) => a.principalId === LOCAL_APP_OBJECT_ID && a.scope.toLowerCase() === PRIMARY_RG.toLowerCase(),
    );
    expect(onGroup.map((a) => roleNameOf(a.roleDefinitionId))).toEqual(['Kyvos DR Operation Status Reader']);
    const role = templates.roleDefinitions.find((r) => r.roleName === 'Kyvos DR Operation Status Reader');
    const actions = role?.permissions.flatMap((p) => [...p.actions, ...p.dataActions]) ?? [];
    expect(actions.length).toBeGreaterThan(0);
    // Operation-status reads, and the listing of its own permissions (kyvos-dr doctor).
    expect(
      actions.every(
        (a) =>
          /^Microsoft\.[A-Za-z]+\/(locations\/[A-Za-z]+|operations)\/read$/.test(a) ||
          a === 'Microsoft.Authorization/permissions/read',
      ),
    ).toBe(true);
  });

  it('reads every secret but, with vaultWriteScope activeSecrets, writes only the active-name secrets', () => {
    const active = stackRbacPolicy(n, n.drResourceGroup, {
      parameters: { 'rbac-primary.json': { vaultWriteScope: 'activeSecrets' } },
    });
    const set = 'Microsoft.KeyVault/vaults/secrets/setSecret/action';
    expect(may(active, set, `${VAULT}/secrets/kyvos-dr-active-pg-server`, { dataAction: true })).toBe(true);
    expect(may(active, set, `${VAULT}/secrets/kyvos-dr-source-sas`, { dataAction: true })).toBe(false);
    expect(
      may(
        active,
        'Microsoft.KeyVault/vaults/secrets/getSecret/action',
        `${VAULT}/secrets/kyvos-dr-source-sas`,
        { dataAction: true },
      ),
    ).toBe(true);
    expect(may(templates, set, `${VAULT}/secrets/kyvos-dr-source-sas`, { dataAction: true })).toBe(true);
  });
});
