import { describe, expect, it } from 'vitest';
import { permissionsAt, type RbacPolicy } from '../../../local/emulator/authorization/accessCheck.js';
import { DEFAULT_NAMES } from '../../../local/stack.js';
import { type StackRbacOptions, stackRbacPolicy } from '../../../local/stackAuthorization.js';
import { LOCAL_APP_OBJECT_ID } from '../../../src/lib/clients/LocalStackCredential.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import {
  type PermissionNeed,
  permissionNeeds,
  STORAGE_FAILOVER_ROLE,
} from '../../../src/lib/doctor/permissionNeeds.js';
import {
  permissionFindings,
  readScopePermissions,
  type ScopePermissions,
} from '../../../src/lib/doctor/permissions.js';
import { permissionsAllow, type RolePermission } from '../../../src/lib/doctor/rolePermissions.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';
import { restError } from '../../helpers/restError.js';

const block = (permission: Partial<RolePermission>): RolePermission => ({
  actions: [],
  notActions: [],
  dataActions: [],
  notDataActions: [],
  ...permission,
});

describe('whether permission blocks allow an operation', () => {
  it('matches wildcards anywhere in the action, in any letter case', () => {
    const reader = [block({ actions: ['*/read'] })];
    expect(permissionsAllow(reader, 'Microsoft.DBforPostgreSQL/flexibleServers/read', false)).toBe(true);
    expect(permissionsAllow(reader, 'microsoft.authorization/PERMISSIONS/read', false)).toBe(true);
    expect(permissionsAllow(reader, 'Microsoft.DBforPostgreSQL/flexibleServers/write', false)).toBe(false);
    const storage = [block({ actions: ['Microsoft.Storage/storageAccounts/*'] })];
    expect(permissionsAllow(storage, 'Microsoft.Storage/storageAccounts/write', false)).toBe(true);
    expect(permissionsAllow(storage, 'Microsoft.Storage/operations/read', false)).toBe(false);
  });

  it('subtracts notActions within their own block only', () => {
    const contributor = block({ actions: ['*'], notActions: ['Microsoft.Authorization/*/Write'] });
    const action = 'Microsoft.Authorization/roleAssignments/write';
    expect(permissionsAllow([contributor], action, false)).toBe(false);
    expect(
      permissionsAllow(
        [contributor, block({ actions: ['Microsoft.Authorization/roleAssignments/*'] })],
        action,
        false,
      ),
    ).toBe(true);
  });

  it('never grants a data action through actions, even *, and subtracts notDataActions', () => {
    const getSecret = 'Microsoft.KeyVault/vaults/secrets/getSecret/action';
    expect(permissionsAllow([block({ actions: ['*'] })], getSecret, true)).toBe(false);
    expect(
      permissionsAllow([block({ dataActions: ['Microsoft.KeyVault/vaults/secrets/*'] })], getSecret, true),
    ).toBe(true);
    expect(
      permissionsAllow(
        [block({ dataActions: ['Microsoft.KeyVault/vaults/secrets/*'], notDataActions: [getSecret] })],
        getSecret,
        true,
      ),
    ).toBe(false);
    expect(
      permissionsAllow([block({ dataActions: ['*'] })], 'Microsoft.Storage/storageAccounts/read', false),
    ).toBe(false);
  });
});

const config = (overrides: Partial<DrConfig> = {}): DrConfig =>
  testConfig({
    keyVault: { url: 'https://kv-kyvos.vault.azure.net/', name: DEFAULT_NAMES.keyVaultName },
    ...overrides,
  });

/** What ARM's permissions API would answer the app at each scope of the table, with `infra/` deployed (as the stack has it). */
function readWith(needs: readonly PermissionNeed[], policy: RbacPolicy): Map<string, ScopePermissions> {
  const permissionsRead = 'Microsoft.Authorization/permissions/read';
  return new Map(
    needs.map((need) => {
      const permissions = permissionsAt(policy, LOCAL_APP_OBJECT_ID, need.scope.id);
      const readable = permissionsAllow(permissions, permissionsRead, false);
      return [
        need.scope.id,
        readable
          ? { readable: true, permissions }
          : { readable: false, error: restError(403, 'AuthorizationFailed') },
      ] as const;
    }),
  );
}

function findingsFor(options: StackRbacOptions = {}, overrides: Partial<DrConfig> = {}) {
  const needs = permissionNeeds(config(overrides));
  return permissionFindings(
    needs,
    readWith(needs, stackRbacPolicy(DEFAULT_NAMES, DEFAULT_NAMES.drResourceGroup, options)),
  );
}

const DR_RG = `/subscriptions/${DEFAULT_NAMES.subscriptionId}/resourceGroups/${DEFAULT_NAMES.drResourceGroup}`;
const REPLICA = `${DR_RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${DEFAULT_NAMES.replicaPostgresServer}`;

describe('the effective permissions, decided from the table of needs', () => {
  it('passes every need when infra/ is deployed as it is', () => {
    const findings = findingsFor();
    expect(findings.filter((f) => f.outcome !== 'pass')).toEqual([]);
    expect(findings.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'permissions.replica.promote',
        'permissions.drResourceGroup.promotePoll',
        'permissions.primaryResourceGroup.stopPoll',
        'permissions.drResourceGroup.blobWrite',
        'permissions.keyVault.getSecret',
        'permissions.keyVault.setSecret.kyvos-dr-active-pg-server',
      ]),
    );
  });

  it('fails a dropped role assignment, naming the role, the scope and the template', () => {
    const findings = findingsFor({
      adjustAssignments: (assignments, roleOf) =>
        assignments.filter((a) => roleOf(a) !== 'Kyvos DR PostgreSQL Replica Promoter'),
    });
    const failed = findings.filter((f) => f.outcome !== 'pass');
    expect(failed.map((f) => f.id)).toEqual(['permissions.replica.promote']);
    expect(failed[0]?.fix).toContain('"Kyvos DR PostgreSQL Replica Promoter"');
    expect(failed[0]?.fix).toContain(REPLICA);
    expect(failed[0]?.fix).toContain('infra/rbac-dr.json');
  });

  it('fails the polling when the Operation Status Reader is on the server instead of the resource group', () => {
    const findings = findingsFor({
      adjustAssignments: (assignments, roleOf) =>
        assignments.map((a) =>
          roleOf(a) === 'Kyvos DR Operation Status Reader' && a.scope.toLowerCase() === DR_RG.toLowerCase()
            ? { ...a, scope: REPLICA }
            : a,
        ),
    });
    const failed = findings.filter((f) => f.outcome !== 'pass');
    expect(failed.map((f) => f.id)).toEqual([
      'permissions.drResourceGroup.promotePoll',
      'permissions.drResourceGroup.promoteResult',
      'permissions.drResourceGroup.storageAccountCreatePoll',
    ]);
    for (const finding of failed) {
      expect(finding.outcome).toBe('fail');
      expect(finding.fix).toBe(
        `Assign the role "Kyvos DR Operation Status Reader" to the kyvos-dr identity at ${DR_RG}: infra/rbac-dr.json (deployed to rg-kyvos-dr) assigns it.`,
      );
    }
  });

  it('reports a scope whose permissions cannot be read once, as unknown, naming the role that reads them', () => {
    const findings = findingsFor({
      adjustAssignments: (assignments, roleOf) =>
        assignments.filter(
          (a) =>
            !(roleOf(a) === 'Kyvos DR Operation Status Reader' && !a.scope.toLowerCase().endsWith('-dr')),
        ),
    });
    const failed = findings.filter((f) => f.outcome !== 'pass');
    expect(failed).toEqual([
      {
        area: 'permissions',
        id: 'permissions.primaryResourceGroup.unreadable',
        outcome: 'unknown',
        detail: expect.stringContaining('2 permission(s) a failover needs there are unchecked'),
        fix: expect.stringContaining('"Kyvos DR Operation Status Reader"'),
      },
    ]);
    expect(failed[0]?.fix).toContain('Microsoft.Authorization/permissions/read');
  });

  it('follows the configuration: no fence rows without stopOldPrimary, no ACL rows with copy ACLs off', () => {
    const ids = findingsFor({}, { stopOldPrimary: false, copyAccessControl: 'off' }).map((f) => f.id);
    expect(ids.some((id) => id.startsWith('permissions.primaryResourceGroup.'))).toBe(false);
    expect(ids).not.toContain('permissions.primaryServer.stop');
    expect(ids).not.toContain('permissions.drResourceGroup.aclWrite');
    const switchover = findingsFor({}, { promoteMode: 'Switchover', sourceAuth: 'user-delegation' });
    expect(switchover.filter((f) => f.outcome !== 'pass')).toEqual([]);
    expect(switchover.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'permissions.primaryServer.virtualEndpoints',
        'permissions.primaryStorage.userDelegationKey',
      ]),
    );
  });

  it('asks for the account failover on the primary account only with the accountFailover strategy', () => {
    const copyIds = findingsFor().map((f) => f.id);
    expect(copyIds).not.toContain('permissions.primaryStorage.failover');
    const failover = findingsFor(
      {
        adjustAssignments: (assignments, roleOf) =>
          assignments.filter((a) => roleOf(a) !== STORAGE_FAILOVER_ROLE),
      },
      { storageStrategy: 'accountFailover' },
    );
    const row = failover.find((f) => f.id === 'permissions.primaryStorage.failover');
    expect(row?.outcome).toBe('fail');
    expect(row?.detail).toContain('Microsoft.Storage/storageAccounts/failover/action');
    expect(row?.fix).toContain(`"${STORAGE_FAILOVER_ROLE}"`);
    expect(row?.fix).toContain('/providers/Microsoft.Storage/storageAccounts/kyvosprimdata');
    expect(row?.fix).toContain('infra/rbac-primary.json');
    expect(row?.fix).toContain('allowAccountFailover true');
    const poll = permissionNeeds(config({ storageStrategy: 'accountFailover' })).find(
      (n) => n.id === 'primaryResourceGroup.failoverPoll',
    );
    expect(poll).toMatchObject({
      action: 'Microsoft.Storage/operations/read',
      role: 'Kyvos DR Operation Status Reader',
    });
    // The verify step's probe blob in the failed-over account.
    expect(failover.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'permissions.primaryStorage.probeWrite',
        'permissions.primaryStorage.probeDelete',
      ]),
    );
  });

  it('checks the record step writes at each secret, as vaultWriteScope activeSecrets grants them', () => {
    const active = { parameters: { 'rbac-primary.json': { vaultWriteScope: 'activeSecrets' } } } as const;
    expect(findingsFor(active).filter((f) => f.outcome !== 'pass')).toEqual([]);
    const oneMissing = findingsFor({
      ...active,
      adjustAssignments: (assignments) =>
        assignments.filter((a) => !a.scope.endsWith('/secrets/kyvos-dr-active-pg-server')),
    });
    expect(oneMissing.filter((f) => f.outcome !== 'pass').map((f) => [f.id, f.outcome])).toEqual([
      ['permissions.keyVault.setSecret.kyvos-dr-active-pg-server', 'fail'],
    ]);
  });
});

describe('a permission a failover can do without', () => {
  it('warns instead of failing: reading deleted secrets, which only makes preflight warn', () => {
    const needs = permissionNeeds(config()).filter((n) => n.id.startsWith('keyVault.'));
    const writer = block({
      actions: ['*/read'],
      dataActions: [
        'Microsoft.KeyVault/vaults/secrets/getSecret/action',
        'Microsoft.KeyVault/vaults/secrets/setSecret/action',
      ],
    });
    const read = new Map(needs.map((n) => [n.scope.id, { readable: true, permissions: [writer] } as const]));
    const findings = permissionFindings(needs, read).filter((f) => f.outcome !== 'pass');
    expect(findings.map((f) => [f.id, f.outcome])).toEqual([['permissions.keyVault.readDeleted', 'warn']]);
    expect(findings[0]?.fix).toContain('"Key Vault Secrets User"');
  });
});

describe('reading the permissions at a scope', () => {
  it('asks the permissions API of the scope and keeps each block apart', async () => {
    const asked: string[] = [];
    const read = await readScopePermissions(
      {
        list: async (path, apiVersion) => {
          asked.push(`${path}?api-version=${apiVersion}`);
          return [{ actions: ['*/read'] }, { dataActions: ['x'], notDataActions: [] }];
        },
      },
      REPLICA,
    );
    expect(asked).toEqual([
      `${REPLICA}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`,
    ]);
    expect(read).toEqual({
      readable: true,
      permissions: [block({ actions: ['*/read'] }), block({ dataActions: ['x'] })],
    });
  });

  it('turns an error into an unreadable scope', async () => {
    const error = restError(403, 'AuthorizationFailed');
    const read = await readScopePermissions({ list: () => Promise.reject(error) }, REPLICA);
    expect(read).toEqual({ readable: false, error });
  });
});
