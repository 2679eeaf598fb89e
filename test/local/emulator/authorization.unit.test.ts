import { describe, expect, it } from 'vitest';
import {
  type AccessRequest,
  checkAccess,
  type RbacPolicy,
  type RoleDefinition,
  scopeCovers,
} from '../../../local/emulator/authorization/accessCheck.js';
import { BUILT_IN_ROLE_DEFINITIONS } from '../../../local/emulator/authorization/builtInRoleDefinitions.js';
import { authorizationFailed, ForbiddenByRbac } from '../../../local/emulator/authorization/denials.js';
import { keyVaultDataAction } from '../../../local/emulator/authorization/keyVaultActions.js';
import { TemplateScope } from '../../../local/emulator/authorization/templateExpressions.js';
import { routeScope } from '../../../local/emulator/router.js';
import { actionMatches } from '../../../src/lib/doctor/rolePermissions.js';

const SUB = '/subscriptions/00000000-1111-2222-3333-444444444444';
const RG = `${SUB}/resourceGroups/rg-kyvos-dr`;
const SERVER = `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-kyvos-dr`;
const POLL = `${SUB}/providers/Microsoft.DBforPostgreSQL/locations/eastus2/azureAsyncOperation/8f1d`;
const ME = 'aaaaaaaa-0000-0000-0000-000000000001';

const promoter: RoleDefinition = {
  id: 'c0ffee00-0000-0000-0000-000000000001',
  roleName: 'Promoter',
  permissions: [
    {
      actions: [
        'Microsoft.DBforPostgreSQL/flexibleServers/write',
        'Microsoft.DBforPostgreSQL/flexibleServers/read',
      ],
      notActions: [],
      dataActions: [],
      notDataActions: [],
    },
  ],
};
const statusReader: RoleDefinition = {
  id: 'c0ffee00-0000-0000-0000-000000000002',
  roleName: 'Status reader',
  permissions: [
    {
      actions: ['Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read'],
      notActions: [],
      dataActions: [],
      notDataActions: [],
    },
  ],
};
const vmOperator: RoleDefinition = {
  id: 'c0ffee00-0000-0000-0000-000000000003',
  roleName: 'VM operator',
  permissions: [
    {
      actions: ['Microsoft.Compute/virtualMachines/*'],
      notActions: ['Microsoft.Compute/virtualMachines/delete'],
      dataActions: [],
      notDataActions: [],
    },
  ],
};
const roleId = (name: string) => BUILT_IN_ROLE_DEFINITIONS.find((r) => r.roleName === name)?.id ?? '';

function policy(...assignments: Array<[scope: string, role: RoleDefinition | string]>): RbacPolicy {
  return {
    roleDefinitions: [...BUILT_IN_ROLE_DEFINITIONS, promoter, statusReader, vmOperator],
    assignments: assignments.map(([scope, role]) => ({
      principalId: ME,
      scope,
      roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${
        typeof role === 'string' ? roleId(role) : role.id
      }`,
    })),
  };
}

const allowed = (p: RbacPolicy, request: Omit<AccessRequest, 'principalId'>) =>
  checkAccess(p, { principalId: ME, ...request }).allowed;

describe('action wildcards, as ARM matches them', () => {
  it('matches */read against every read and nothing else', () => {
    expect(actionMatches('*/read', 'Microsoft.DBforPostgreSQL/flexibleServers/read')).toBe(true);
    expect(actionMatches('*/read', 'Microsoft.DBforPostgreSQL/flexibleServers/write')).toBe(false);
    expect(actionMatches('*/read', 'Microsoft.Storage/storageAccounts/listkeys/action')).toBe(false);
  });

  it('matches a resource-type wildcard against its actions only, case-insensitively', () => {
    expect(
      actionMatches(
        'Microsoft.Storage/storageAccounts/*',
        'Microsoft.Storage/storageAccounts/listKeys/action',
      ),
    ).toBe(true);
    expect(
      actionMatches('Microsoft.Storage/storageAccounts/*', 'microsoft.storage/STORAGEACCOUNTS/write'),
    ).toBe(true);
    expect(actionMatches('Microsoft.Storage/storageAccounts/*', 'Microsoft.Storage/operations/read')).toBe(
      false,
    );
    expect(
      actionMatches('Microsoft.Storage/storageAccounts/*', 'Microsoft.StorageSync/storageAccounts/read'),
    ).toBe(false);
  });

  it('treats regular-expression characters in an action literally', () => {
    expect(actionMatches('Microsoft.Storage/x', 'MicrosoftXStorage/x')).toBe(false);
  });
});

describe('role assignment scopes', () => {
  it('are inherited by child scopes: subscription > resource group > resource > child', () => {
    expect(scopeCovers(SUB, SERVER)).toBe(true);
    expect(scopeCovers(RG, SERVER)).toBe(true);
    expect(scopeCovers(SERVER, `${SERVER}/databases/kyvos`)).toBe(true);
    expect(scopeCovers(SERVER, RG)).toBe(false);
  });

  it('match whole segments: rg-kyvos does not cover rg-kyvos-dr', () => {
    expect(scopeCovers(`${SUB}/resourceGroups/rg-kyvos`, SERVER)).toBe(false);
    expect(scopeCovers(`${SERVER.toUpperCase()}/`, SERVER)).toBe(true);
  });

  it('grant nothing on a sibling resource', () => {
    const p = policy([SERVER, promoter]);
    expect(allowed(p, { action: 'Microsoft.DBforPostgreSQL/flexibleServers/write', scope: SERVER })).toBe(
      true,
    );
    expect(
      allowed(p, {
        action: 'Microsoft.DBforPostgreSQL/flexibleServers/write',
        scope: `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-other`,
      }),
    ).toBe(false);
  });
});

describe('NotActions and data actions', () => {
  it('subtracts NotActions from the same role', () => {
    const p = policy([RG, vmOperator]);
    expect(allowed(p, { action: 'Microsoft.Compute/virtualMachines/start/action', scope: RG })).toBe(true);
    expect(allowed(p, { action: 'Microsoft.Compute/virtualMachines/delete', scope: RG })).toBe(false);
  });

  it('does not deny what another role grants (NotActions are not deny assignments)', () => {
    const p = policy([RG, vmOperator], [SUB, 'Owner']);
    expect(allowed(p, { action: 'Microsoft.Compute/virtualMachines/delete', scope: RG })).toBe(true);
  });

  it('never grants a data action through actions: Owner cannot read a secret', () => {
    const p = policy([SUB, 'Owner']);
    expect(
      allowed(p, {
        action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
        scope: `${RG}/providers/Microsoft.KeyVault/vaults/kv`,
        dataAction: true,
      }),
    ).toBe(false);
    expect(
      allowed(p, {
        action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
        scope: `${RG}/providers/Microsoft.KeyVault/vaults/kv`,
      }),
    ).toBe(true);
  });

  it('grants Key Vault Secrets Officer on one secret for that secret only', () => {
    const vault = `${RG}/providers/Microsoft.KeyVault/vaults/kv`;
    const p = policy(
      [`${vault}/secrets/kyvos-dr-active-pg-server`, 'Key Vault Secrets Officer'],
      [vault, 'Key Vault Secrets User'],
    );
    const set = 'Microsoft.KeyVault/vaults/secrets/setSecret/action';
    expect(
      allowed(p, { action: set, scope: `${vault}/secrets/kyvos-dr-active-pg-server`, dataAction: true }),
    ).toBe(true);
    expect(allowed(p, { action: set, scope: `${vault}/secrets/kyvos-db-password`, dataAction: true })).toBe(
      false,
    );
    expect(
      allowed(p, {
        action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
        scope: `${vault}/secrets/kyvos-db-password`,
        dataAction: true,
      }),
    ).toBe(true);
  });
});

describe('the status of an asynchronous operation (ARM: permission at the resource group level)', () => {
  const read = 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read';

  it('is not readable with a role assigned on the resource that started it', () => {
    const p = policy([SERVER, promoter], [SERVER, statusReader]);
    expect(allowed(p, { action: 'Microsoft.DBforPostgreSQL/flexibleServers/write', scope: SERVER })).toBe(
      true,
    );
    expect(allowed(p, { action: read, scope: POLL, operationResourceGroup: RG })).toBe(false);
  });

  it('is readable with the action assigned on the resource group of that resource', () => {
    const p = policy([SERVER, promoter], [RG, statusReader]);
    expect(allowed(p, { action: read, scope: POLL, operationResourceGroup: RG })).toBe(true);
  });

  it('is readable with the action on the subscription, which contains the status URL', () => {
    expect(allowed(policy([SUB, statusReader]), { action: read, scope: POLL })).toBe(true);
  });

  it('is not readable through another resource group, or for an operation of unknown origin', () => {
    const p = policy([`${SUB}/resourceGroups/rg-kyvos`, statusReader]);
    expect(allowed(p, { action: read, scope: POLL, operationResourceGroup: RG })).toBe(false);
    expect(allowed(policy([RG, statusReader]), { action: read, scope: POLL })).toBe(false);
  });

  it('needs the status action itself: write on the resource group is not enough', () => {
    expect(allowed(policy([RG, promoter]), { action: read, scope: POLL, operationResourceGroup: RG })).toBe(
      false,
    );
  });
});

describe('what the emulator checks each request as', () => {
  it('checks a POST action and a status URL at the path up to the last parameter', () => {
    const account = `${RG}/providers/Microsoft.Storage/storageAccounts/kyvosdr`;
    expect(
      routeScope(
        '/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Storage/storageAccounts/{a}/listKeys',
        `${account}/listKeys`.split('/').filter(Boolean),
      ),
    ).toBe(account);
    expect(
      routeScope(
        '/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/locations/{l}/azureAsyncOperation/{operationId}',
        POLL.split('/').filter(Boolean),
      ),
    ).toBe(POLL);
  });

  it('maps Key Vault secret operations to their data actions, on the secret', () => {
    expect(keyVaultDataAction('PUT', ['secrets', 'a'])).toEqual({
      action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action',
      secretName: 'a',
    });
    expect(keyVaultDataAction('GET', ['secrets', 'a', 'v1'])?.action).toBe(
      'Microsoft.KeyVault/vaults/secrets/getSecret/action',
    );
    expect(keyVaultDataAction('GET', ['secrets'])).toEqual({
      action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
    });
    expect(keyVaultDataAction('DELETE', ['deletedsecrets', 'a'])?.action).toBe(
      'Microsoft.KeyVault/vaults/secrets/purge/action',
    );
    expect(keyVaultDataAction('POST', ['deletedsecrets', 'a', 'recover'])?.action).toBe(
      'Microsoft.KeyVault/vaults/secrets/recover/action',
    );
  });

  it('answers an ARM denial in ARM wording, naming client, action and scope', () => {
    const error = authorizationFailed(
      { oid: ME, appid: 'app-1' },
      'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read',
      POLL,
    );
    expect(error.status).toBe(403);
    expect(error.toBody()).toEqual({
      error: {
        code: 'AuthorizationFailed',
        message: `The client 'app-1' with object id '${ME}' does not have authorization to perform action 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read' over scope '${POLL}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      },
    });
  });

  it('answers a Key Vault denial as Forbidden with innererror ForbiddenByRbac', () => {
    const error = new ForbiddenByRbac(
      { oid: ME },
      'Microsoft.KeyVault/vaults/secrets/setSecret/action',
      `${RG}/providers/Microsoft.KeyVault/vaults/KV/secrets/X`,
      'KV',
      'centralus',
    );
    const body = error.toBody();
    expect(error.status).toBe(403);
    expect(body.error.code).toBe('Forbidden');
    expect(body.error.innererror).toEqual({ code: 'ForbiddenByRbac' });
    expect(body.error.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'");
    expect(body.error.message).toContain(
      `Resource: '${RG.toLowerCase()}/providers/microsoft.keyvault/vaults/kv/secrets/x'`,
    );
  });
});

describe('ARM template expressions', () => {
  const scope = new TemplateScope(
    {
      parameters: { names: { type: 'array', defaultValue: ['a', 'b'] }, flag: { type: 'bool' } },
      variables: { roles: { R: "[guid(subscription().id, 'seed')]" } },
    },
    {
      subscriptionId: 's1',
      tenantId: 't',
      resourceGroup: 'rg',
      location: 'eastus2',
      parameters: { flag: true },
    },
  );

  it('evaluates functions, indexes, copyIndex and escaped literals', () => {
    expect(scope.evaluate("[format('v/{0}/s/{1}', 'kv', parameters('names')[1])]")).toBe('v/kv/s/b');
    expect(scope.withCopyIndex(1).evaluate("[parameters('names')[copyIndex()]]")).toBe('b');
    expect(scope.evaluate("[and(parameters('flag'), equals('x', 'x'))]")).toBe(true);
    expect(scope.evaluate('[[literal]')).toBe('[literal]');
    expect(scope.evaluate("[resourceId('Microsoft.KeyVault/vaults/secrets', 'kv', 'n')]")).toBe(
      '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/n',
    );
  });

  it('gives the same guid() for the same seed and another for another seed', () => {
    const id = scope.evaluate("[variables('roles')['R']]");
    expect(id).toBe(scope.evaluate("[guid(subscription().id, 'seed')]"));
    expect(id).not.toBe(scope.evaluate("[guid(subscription().id, 'other')]"));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses a function it does not know, naming it', () => {
    expect(() => scope.evaluate("[listKeys('x', '2020-01-01')]")).toThrow(/listKeys\(\) is not supported/);
  });
});
