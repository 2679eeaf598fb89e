import { permissionGrants, type RolePermission } from '../../../src/lib/doctor/rolePermissions.js';

/**
 * Azure RBAC access checks, as "How Azure RBAC determines if a user has access to a resource"
 * (learn.microsoft.com/azure/role-based-access-control/overview#how-azure-rbac-determines-if-a-user-has-access-to-a-resource)
 * describes them: a principal is allowed an action at a scope when one of its role assignments, at
 * that scope or at a parent scope (role assignments are inherited by child scopes: management group >
 * subscription > resource group > resource > child resource), has a role whose permission blocks
 * allow it. How a permission block allows an action (wildcards, NotActions, data actions) is
 * `src/lib/doctor/rolePermissions.ts`, which the doctor uses too.
 *
 * Not modelled: deny assignments, conditions (ABAC), management groups, PIM eligibility.
 */

export interface RoleDefinition {
  /** The role definition's GUID (the last segment of its resource ID). */
  id: string;
  roleName: string;
  permissions: readonly RolePermission[];
}

export interface RoleAssignment {
  principalId: string;
  /** `/subscriptions/…[/resourceGroups/…[/providers/…]]`. */
  scope: string;
  /** A role definition resource ID or bare GUID. */
  roleDefinitionId: string;
  /** Where the assignment comes from (the template file), for messages. */
  source?: string;
}

export interface RbacPolicy {
  assignments: readonly RoleAssignment[];
  roleDefinitions: readonly RoleDefinition[];
}

export interface AccessRequest {
  principalId: string;
  action: string;
  /** The scope ARM checks: the resource (or operation) path of the request. */
  scope: string;
  dataAction?: boolean;
  /**
   * For the status of an asynchronous operation: the resource group of the resource the operation
   * was started on. ARM, "Track asynchronous Azure operations", "Permission for tracking async
   * status": "To track the status of an asynchronous operation, you need sufficient permission at
   * the resource group level. If you only have permission at the resource level, you can start the
   * operation but you can't track its status. Permission at the resource group level is required
   * because the URL for tracking status isn't scoped to the resource."
   * (learn.microsoft.com/azure/azure-resource-manager/management/async-operations). So an
   * assignment on that resource group (or above, through `scope`) allows the poll; one on the
   * resource itself does not.
   */
  operationResourceGroup?: string;
}

export type AccessDecision =
  | { allowed: true; assignment: RoleAssignment; role: RoleDefinition }
  | { allowed: false };

/** Is `scope` the assignment scope or one of its children (segment-wise, case-insensitive)? */
export function scopeCovers(assignmentScope: string, scope: string): boolean {
  const parent = normalizeScope(assignmentScope);
  const child = normalizeScope(scope);
  return child === parent || child.startsWith(`${parent}/`) || parent === '';
}

function normalizeScope(scope: string): string {
  return scope.replace(/\/+$/, '').toLowerCase();
}

function roleIdOf(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').pop() ?? '').toLowerCase();
}

/** The access decision for one request; the first assignment that allows it is returned. */
export function checkAccess(policy: RbacPolicy, request: AccessRequest): AccessDecision {
  const roles = new Map(policy.roleDefinitions.map((role) => [role.id.toLowerCase(), role]));
  const principal = request.principalId.toLowerCase();
  for (const assignment of policy.assignments) {
    if (assignment.principalId.toLowerCase() !== principal) continue;
    const inScope =
      scopeCovers(assignment.scope, request.scope) ||
      (request.operationResourceGroup !== undefined &&
        scopeCovers(assignment.scope, request.operationResourceGroup));
    if (!inScope) continue;
    const role = roles.get(roleIdOf(assignment.roleDefinitionId));
    if (!role) continue;
    if (role.permissions.some((p) => permissionGrants(p, request.action, request.dataAction === true))) {
      return { allowed: true, assignment, role };
    }
  }
  return { allowed: false };
}

/**
 * The permission blocks of every role assigned to `principalId` at `scope` or a parent scope, one
 * entry per block, in assignment order: what ARM's permissions API answers the principal
 * (`../permissions.ts`).
 */
export function permissionsAt(policy: RbacPolicy, principalId: string, scope: string): RolePermission[] {
  const roles = new Map(policy.roleDefinitions.map((role) => [role.id.toLowerCase(), role]));
  const principal = principalId.toLowerCase();
  return policy.assignments
    .filter((a) => a.principalId.toLowerCase() === principal && scopeCovers(a.scope, scope))
    .flatMap((a) => roles.get(roleIdOf(a.roleDefinitionId))?.permissions ?? [])
    .map((p) => ({
      actions: [...p.actions],
      notActions: [...p.notActions],
      dataActions: [...p.dataActions],
      notDataActions: [...p.notDataActions],
    }));
}
