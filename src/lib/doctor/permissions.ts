import type { ArmResources } from '../clients/ArmResources.js';
import { codeOf, statusOf } from '../errors.js';
import { keyVaultResourceId } from '../health/keyVaultHealth.js';
import { describeError } from '../redact.js';
import type { DoctorCheck, DoctorFinding } from './doctorCheck.js';
import { type PermissionNeed, type PermissionScope, permissionNeeds } from './permissionNeeds.js';
import { permissionsAllow, type RolePermission } from './rolePermissions.js';
import {
  accessPolicyFindings,
  callerObjectId,
  isVaultDataNeed,
  readVaultAccessModel,
} from './vaultAccessPolicy.js';

/**
 * The api-version of ARM's permissions API (`Permissions_ListForResourceGroup`,
 * `Permissions_ListForResource`; azure-rest-api-specs, Microsoft.Authorization stable/2022-04-01).
 */
export const PERMISSIONS_API_VERSION = '2022-04-01';

/** What the permissions API answered for one scope. */
export type ScopePermissions =
  | { readable: true; permissions: readonly RolePermission[] }
  | { readable: false; error: unknown };

/**
 * The permission blocks of every role the caller holds at a scope or above ("Gets all permissions the
 * caller has for a resource group" / "for a resource"), through the app's own ARM client and
 * credential: what the identity itself may do, not what an operator may.
 */
export async function readScopePermissions(
  arm: Pick<ArmResources, 'list'>,
  scopeId: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<ScopePermissions> {
  try {
    const items = await arm.list(
      `${scopeId}/providers/Microsoft.Authorization/permissions`,
      PERMISSIONS_API_VERSION,
      options,
    );
    return { readable: true, permissions: items.map(asPermission) };
  } catch (error) {
    options.abortSignal?.throwIfAborted();
    return { readable: false, error };
  }
}

function asPermission(item: unknown): RolePermission {
  const block = (item ?? {}) as Partial<Record<keyof RolePermission, unknown>>;
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return {
    actions: list(block.actions),
    notActions: list(block.notActions),
    dataActions: list(block.dataActions),
    notDataActions: list(block.notDataActions),
  };
}

/**
 * The findings for a table of needs and what was read at each scope (by scope id): one per need
 * whose scope could be read (`pass`, or `fail` naming the role to assign, where, and the template
 * that assigns it), and one `unknown` per scope that could not be read, naming why.
 */
export function permissionFindings(
  needs: readonly PermissionNeed[],
  read: ReadonlyMap<string, ScopePermissions>,
): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const unreadable = new Set<string>();
  for (const need of needs) {
    const scope = read.get(need.scope.id);
    if (!scope?.readable) {
      if (!unreadable.has(need.scope.id)) {
        unreadable.add(need.scope.id);
        findings.push(unreadableScope(need.scope, needs, scope?.error));
      }
      continue;
    }
    const kind = need.dataAction ? 'data action' : 'action';
    if (permissionsAllow(scope.permissions, need.action, need.dataAction)) {
      findings.push({
        area: 'permissions',
        id: `permissions.${need.id}`,
        outcome: 'pass',
        detail: `The identity may ${need.action} on ${need.scope.label} (${need.usedBy}).`,
      });
      continue;
    }
    findings.push({
      area: 'permissions',
      id: `permissions.${need.id}`,
      outcome: need.whenMissing ?? 'fail',
      detail: `The identity's roles at ${need.scope.label} do not allow the ${kind} ${need.action}, which ${need.usedBy} needs.`,
      fix: `Assign the role "${need.role}" to the kyvos-dr identity at ${need.scope.id}: ${need.template} assigns it.`,
    });
  }
  return findings;
}

function unreadableScope(
  scope: PermissionScope,
  needs: readonly PermissionNeed[],
  error: unknown,
): DoctorFinding {
  const count = needs.filter((n) => n.scope.id === scope.id).length;
  const what = `The identity's permissions at ${scope.label} could not be read, so ${count} permission(s) a failover needs there are unchecked`;
  const { role, template } = scope.readableThrough;
  const denied = statusOf(error) === 403 || codeOf(error) === 'AuthorizationFailed';
  const missing = statusOf(error) === 404;
  return {
    area: 'permissions',
    id: `permissions.${scope.key}.unreadable`,
    outcome: 'unknown',
    detail: `${what}: ${error === undefined ? 'not read' : describeError(error)}`,
    fix: denied
      ? `Assign the role "${role}" to the kyvos-dr identity at ${scope.id} (${template} assigns it): it carries Microsoft.Authorization/permissions/read, which reading them needs.`
      : missing
        ? `Check the configuration: ${scope.id} does not exist for ARM (subscription, resource group and names).`
        : 'Fix what the error names (network, ARM availability), then run kyvos-dr doctor again.',
  };
}

/** The scopes of a table, once each, in table order. */
function scopesOf(needs: readonly PermissionNeed[]): PermissionScope[] {
  const scopes = new Map<string, PermissionScope>();
  for (const need of needs) if (!scopes.has(need.scope.id)) scopes.set(need.scope.id, need.scope);
  return [...scopes.values()];
}

/**
 * The doctor's effective-permissions check: for every scope the runbook and the health checks use,
 * reads what the app's identity holds there through ARM's permissions API (one call per scope) and
 * checks each action and data action the table says the code needs, async-operation polling at the
 * resource groups and Key Vault data actions included (from the vault's access policy when the vault
 * does not use Azure RBAC: `vaultAccessPolicy.ts`). Only reads.
 */
export const effectivePermissionsCheck: DoctorCheck = {
  area: 'permissions',
  name: 'effective permissions',
  timer: 'storage',
  async run({ config, clients, abortSignal }) {
    const arm = clients.armResources();
    const options = abortSignal ? { abortSignal } : {};
    const all = permissionNeeds(config);
    const vault = config.keyVault
      ? {
          name: config.keyVault.name,
          model: await readVaultAccessModel(arm, keyVaultResourceId(config, config.keyVault.name), options),
        }
      : undefined;
    const byPolicy = vault && !vault.model.rbac ? all.filter(isVaultDataNeed) : [];
    const needs = all.filter((need) => !byPolicy.includes(need));
    const read = new Map(
      await Promise.all(
        scopesOf(needs).map(
          async (scope) => [scope.id, await readScopePermissions(arm, scope.id, options)] as const,
        ),
      ),
    );
    return [
      ...permissionFindings(needs, read),
      ...(vault && byPolicy.length > 0
        ? accessPolicyFindings(byPolicy, vault, await callerObjectId(clients.credential))
        : []),
    ];
  },
};
