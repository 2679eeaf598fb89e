import { LOCAL_APP_OBJECT_ID } from '../src/lib/clients/LocalStackCredential.js';
import type { RbacPolicy, RoleAssignment } from './emulator/authorization/accessCheck.js';
import {
  evaluateInfraRbac,
  type InfraDeployment,
  type InfraRbacTemplate,
} from './emulator/authorization/infraAssignments.js';
import type { TemplateValue } from './emulator/authorization/templateExpressions.js';
import type { LocalStackNames } from './stack.js';

/**
 * Object ID of the local stack's operator: test fixtures and tools that seed or inspect the stack
 * through ARM or Key Vault beyond what the app may do. It holds Owner on the subscription and, since
 * Owner grants no data actions, Key Vault Secrets Officer there; nothing else. The app's code path
 * never uses it (the app's credential is `LocalStackCredential`
 * with `LOCAL_APP_OBJECT_ID`).
 */
export const LOCAL_OPERATOR_OBJECT_ID = '00000000-0000-0000-0000-00000000a0a0';

const OWNER_ROLE_ID = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const KEY_VAULT_SECRETS_OFFICER_ROLE_ID = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7';

/** How a stack deviates from the `infra/` templates as they are (tests of a variant). */
export interface StackRbacOptions {
  /** Template parameters over the stack's (e.g. `{ 'rbac-primary.json': { vaultWriteScope: 'activeSecrets' } }`). */
  parameters?: Partial<Record<InfraRbacTemplate, Record<string, TemplateValue>>>;
  /** Templates to evaluate instead of `infra/`'s (e.g. an older version). */
  templates?: InfraDeployment['templates'];
  /** Changes the app's role assignments (drop one, move one to another scope). */
  adjustAssignments?(
    assignments: readonly RoleAssignment[],
    roleNameOf: (assignment: RoleAssignment) => string,
  ): RoleAssignment[];
}

/**
 * The role assignments the local stack enforces: those `infra/` gives the app's identity, with
 * the stack's names as parameters (each template's example parameter file, overridden with
 * `names`), plus the operator's Owner and Key Vault Secrets Officer on the subscription.
 */
export function stackRbacPolicy(
  names: LocalStackNames,
  appResourceGroup: string,
  options: StackRbacOptions = {},
): RbacPolicy {
  const { parameters = {} } = options;
  const evaluated = evaluateInfraRbac({
    subscriptionId: names.subscriptionId,
    tenantId: names.tenantId,
    principalId: LOCAL_APP_OBJECT_ID,
    deployments: {
      'role-pg-failover-operator.json': { location: names.regions.dr },
      'function-app.json': { resourceGroup: appResourceGroup, location: names.regions.dr },
      'rbac-primary.json': { resourceGroup: names.primaryResourceGroup, location: names.regions.primary },
      'rbac-dr.json': { resourceGroup: names.drResourceGroup, location: names.regions.dr },
    },
    parameters: {
      'role-pg-failover-operator.json': {
        primaryResourceGroupName: names.primaryResourceGroup,
        drResourceGroupName: names.drResourceGroup,
        ...parameters['role-pg-failover-operator.json'],
      },
      'function-app.json': {
        keyVaultName: names.keyVaultName,
        hostStorageAccountName: names.appStorageAccount,
        location: names.regions.dr,
        ...parameters['function-app.json'],
      },
      'rbac-primary.json': {
        principalId: LOCAL_APP_OBJECT_ID,
        primaryStorageAccountName: names.primaryStorageAccount,
        primaryPostgresServerName: names.primaryPostgresServer,
        keyVaultName: names.keyVaultName,
        ...parameters['rbac-primary.json'],
      },
      'rbac-dr.json': {
        principalId: LOCAL_APP_OBJECT_ID,
        replicaPostgresServerName: names.replicaPostgresServer,
        ...parameters['rbac-dr.json'],
      },
    },
    ...(options.templates ? { templates: options.templates } : {}),
  });
  const roleNameOf = (assignment: RoleAssignment) => {
    const id = assignment.roleDefinitionId.split('/').pop()?.toLowerCase();
    return evaluated.roleDefinitions.find((r) => r.id.toLowerCase() === id)?.roleName ?? '';
  };
  const app = options.adjustAssignments?.(evaluated.assignments, roleNameOf) ?? evaluated.assignments;
  return {
    roleDefinitions: evaluated.roleDefinitions,
    assignments: [
      ...app,
      {
        principalId: LOCAL_OPERATOR_OBJECT_ID,
        scope: `/subscriptions/${names.subscriptionId}`,
        roleDefinitionId: OWNER_ROLE_ID,
        source: 'local stack operator',
      },
      {
        principalId: LOCAL_OPERATOR_OBJECT_ID,
        scope: `/subscriptions/${names.subscriptionId}`,
        roleDefinitionId: KEY_VAULT_SECRETS_OFFICER_ROLE_ID,
        source: 'local stack operator',
      },
    ],
  };
}
