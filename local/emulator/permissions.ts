import { ArmError, resourceGroupNotFound } from './armErrors.js';
import { permissionsAt } from './authorization/accessCheck.js';
import type { ArmRequest, ArmRoute } from './router.js';
import type { EmulatorContext } from './types.js';

const GROUP_PATH = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}';
const PERMISSIONS = 'providers/Microsoft.Authorization/permissions';

/**
 * The api-versions of the Authorization API that define the permissions operations
 * (azure-rest-api-specs `specification/authorization/resource-manager/Microsoft.Authorization`,
 * `Permissions_ListForResourceGroup` in stable/2015-07-01, preview/2018-01-01-preview,
 * stable/2022-04-01 and preview/2022-05-01-preview).
 */
const API_VERSIONS = ['2015-07-01', '2018-01-01-preview', '2022-04-01', '2022-05-01-preview'];

/**
 * ARM's permissions API: "Gets all permissions the caller has for a resource group" / "for a
 * resource" (`Permissions_ListForResourceGroup`, `Permissions_ListForResource`, azure-rest-api-specs
 * `specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json`).
 *
 * - The answer is `PermissionGetResult`: `{ value: Permission[], nextLink? }`, one `Permission`
 *   (`actions`, `notActions`, `dataActions`, `notDataActions`) per permission block of each role
 *   assigned to the caller (the token's `oid`) at the scope or a parent scope, as the example
 *   `examples/GetPermissions.json` shows. Blocks are not merged: NotActions subtract only within
 *   their own block (role-definitions, "NotActions"), so a client must see them apart. One page
 *   here, without `nextLink`.
 * - Calling it is itself an operation ARM authorizes, `Microsoft.Authorization/permissions/read`
 *   ("Lists all the permissions the caller has at a given scope", the Microsoft.Authorization
 *   operations list, azure-docs `articles/role-based-access-control/permissions/management-and-governance.md`),
 *   at the scope asked about: Reader's `*​/read` and the `Microsoft.Authorization/*​/read` of most
 *   built-in roles carry it; a caller without it gets `403 AuthorizationFailed` (the route's `action`).
 * - An api-version that does not define the operation answers `400 InvalidResourceType` with the
 *   supported versions, as the Authorization provider answers for its types (the wording quoted in
 *   Azure/azure-resource-manager-schemas#1886 and Azure/azure-sdk-for-java#28334).
 * - A resource group the stack does not have answers `404 ResourceGroupNotFound`. A resource is not
 *   looked up: the Authorization provider answers from role assignments, and those of a resource
 *   group cover resources it will hold (the DR storage account before the failover creates it).
 */
export function permissionRoutes(ctx: EmulatorContext): ArmRoute[] {
  const handler = async (request: ArmRequest) => {
    if (!API_VERSIONS.includes(request.apiVersion)) {
      throw new ArmError(
        400,
        'InvalidResourceType',
        `The resource type 'permissions' could not be found in the namespace 'Microsoft.Authorization' for api version '${request.apiVersion}'. The supported api-versions are '${API_VERSIONS.join(',')}'.`,
      );
    }
    const resourceGroup = request.params.resourceGroupName ?? '';
    if (!ctx.knownResourceGroup(resourceGroup)) throw resourceGroupNotFound(resourceGroup);
    return {
      status: 200,
      body: { value: permissionsAt(ctx.options.authorization.policy, request.principalId, scopeOf(request)) },
    };
  };
  const resource = `${GROUP_PATH}/providers/{resourceProviderNamespace}`;
  return [
    `${GROUP_PATH}/${PERMISSIONS}`,
    `${resource}/{resourceType}/{resourceName}/${PERMISSIONS}`,
    `${resource}/{parentResourceType}/{parentResourceName}/{resourceType}/{resourceName}/${PERMISSIONS}`,
  ].map(
    (pattern): ArmRoute => ({
      method: 'GET',
      pattern,
      action: 'Microsoft.Authorization/permissions/read',
      handler,
    }),
  );
}

/** The scope of a permissions request: its path without `/providers/Microsoft.Authorization/permissions`. */
function scopeOf(request: ArmRequest): string {
  return decodeURI(request.url.pathname).replace(
    /\/providers\/Microsoft\.Authorization\/permissions\/?$/i,
    '',
  );
}
