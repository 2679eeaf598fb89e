/**
 * The Azure RBAC data action Key Vault checks for each secrets operation, on a vault that uses the
 * RBAC permission model. Names and meanings from the Microsoft.KeyVault operations list (azure-docs
 * `articles/role-based-access-control/permissions/security.md`): getSecret/action "Gets the value of
 * a secret", setSecret/action "Sets the value of a secret", readMetadata/action "List or view the
 * properties of a secret, but not its value", delete "Deletes a secret", recover/action, purge/action.
 * Get Deleted Secret(s) answer properties without a value, which the access-policy model grants
 * with `secrets/list` (Key Vault REST reference, "Get Deleted Secrets": "This operation requires the
 * secrets/list permission"), the permission readMetadata stands for in RBAC.
 *
 * Returns the action and, for an operation on one secret, its name: the scope is then the secret
 * (`…/vaults/{vault}/secrets/{name}`), so that a role assigned on one secret covers it.
 */
export function keyVaultDataAction(
  method: string,
  segments: readonly string[],
): { action: string; secretName?: string } | undefined {
  const [collection, name, last] = segments;
  const secret = (action: string) => ({
    action: `Microsoft.KeyVault/vaults/secrets/${action}`,
    ...(name !== undefined ? { secretName: name } : {}),
  });
  switch (collection?.toLowerCase()) {
    case 'secrets':
      if (name === undefined) return method === 'GET' ? secret('readMetadata/action') : undefined;
      if (method === 'GET') return secret(last === 'versions' ? 'readMetadata/action' : 'getSecret/action');
      if (method === 'PUT') return secret('setSecret/action');
      if (method === 'PATCH') return secret('update/action');
      if (method === 'DELETE') return secret('delete');
      return undefined;
    case 'deletedsecrets':
      if (method === 'GET') return secret('readMetadata/action');
      if (method === 'DELETE') return secret('purge/action');
      if (method === 'POST' && last === 'recover') return secret('recover/action');
      return undefined;
    default:
      return undefined;
  }
}
