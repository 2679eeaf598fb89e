/**
 * How Azure RBAC decides whether a set of role permission blocks allows an operation, as
 * "Understand Azure role definitions" (learn.microsoft.com/azure/role-based-access-control/role-definitions)
 * describes it. The same rules serve the doctor (which reads the app's permission blocks from ARM's
 * permissions API) and the local stack's emulator (which enforces them):
 *
 * - `*` matches any characters, case-insensitively ("Actions": "The wildcard (*) character extends a
 *   permission to everything that matches the string"; operation strings compare case-insensitively),
 *   so `Microsoft.Storage/storageAccounts/*` and `*​/read` cover many operations.
 * - `notActions` (`notDataActions`) only subtract from the `actions` (`dataActions`) of the same
 *   permission block. They are not deny rules: "if a user is assigned a role that excludes an
 *   operation in NotActions, and is assigned a second role that grants access to the same operation,
 *   the user is allowed to perform that operation" ("NotActions").
 * - Actions and data actions are separate: `actions` never grant a data action, even `*` ("Data
 *   actions": Owner's `*` does not allow reading blob data).
 */

/** One permission block of a role definition, as ARM returns it (`Permission` of the Authorization API). */
export interface RolePermission {
  actions: readonly string[];
  notActions: readonly string[];
  dataActions: readonly string[];
  notDataActions: readonly string[];
}

/** Does an action pattern of a role (with `*` wildcards) match an operation? Case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i').test(action);
}

/** Does one permission block allow the operation (its own `notActions`/`notDataActions` subtracted)? */
export function permissionGrants(permission: RolePermission, action: string, dataAction: boolean): boolean {
  const allowed = dataAction ? permission.dataActions : permission.actions;
  const excluded = dataAction ? permission.notDataActions : permission.notActions;
  return allowed.some((p) => actionMatches(p, action)) && !excluded.some((p) => actionMatches(p, action));
}

/** Does any of the permission blocks allow the operation? */
export function permissionsAllow(
  permissions: readonly RolePermission[],
  action: string,
  dataAction: boolean,
): boolean {
  return permissions.some((p) => permissionGrants(p, action, dataAction));
}
