import { resourceNotFound } from './armErrors.js';
import type { ArmRoute } from './router.js';
import type { EmulatorContext } from './types.js';

const VAULT_TYPE = 'Microsoft.KeyVault/vaults';
const VAULT_PATH =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}';

/**
 * The stack's vault as the Key Vault resource provider shows it: Vaults_Get only, the one call the
 * storage health check makes to learn the vault's region. Shape from azure-rest-api-specs
 * `specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2023-07-01/keyvault.json`
 * (`Vaults_Get`) and its example `examples/getVault.json`; a vault that is not there answers ARM's
 * `404 ResourceNotFound`. The vault is in `keyVault.resourceGroup`, in `keyVault.location` (the
 * primary region unless a test places it elsewhere). Like every resource provider of the stack, it
 * answers `503` while its region is down.
 */
export function keyVaultResourceRoutes(ctx: EmulatorContext, vaultUri: () => string): ArmRoute[] {
  return [
    {
      method: 'GET',
      pattern: VAULT_PATH,
      action: 'Microsoft.KeyVault/vaults/read',
      handler: async (request) => {
        const vault = ctx.options.keyVault;
        const resourceGroup = request.params.resourceGroupName ?? '';
        const name = request.params.vaultName ?? '';
        if (
          !vault ||
          name.toLowerCase() !== ctx.options.keyVaultName.toLowerCase() ||
          resourceGroup.toLowerCase() !== vault.resourceGroup.toLowerCase()
        ) {
          throw resourceNotFound(VAULT_TYPE, name, resourceGroup);
        }
        const location = vault.location ?? ctx.locationOf('primary');
        const region = ctx.regionOfLocation(location);
        if (region) ctx.assertRegionUp(region, 'Microsoft.KeyVault');
        return {
          status: 200,
          body: {
            id: `/subscriptions/${ctx.options.subscriptionId}/resourceGroups/${vault.resourceGroup}/providers/${VAULT_TYPE}/${ctx.options.keyVaultName}`,
            name: ctx.options.keyVaultName,
            type: VAULT_TYPE,
            location,
            tags: {},
            properties: {
              sku: { family: 'A', name: 'standard' },
              tenantId: ctx.options.tenantId,
              accessPolicies: [],
              enableRbacAuthorization: true,
              enableSoftDelete: true,
              softDeleteRetentionInDays: 90,
              vaultUri: `${vaultUri()}/`,
              provisioningState: 'Succeeded',
              publicNetworkAccess: 'Enabled',
            },
          },
        };
      },
    },
  ];
}
