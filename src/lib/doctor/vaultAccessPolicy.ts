import type { TokenCredential } from '@azure/core-auth';
import type { ArmResources } from '../clients/ArmResources.js';
import { KEY_VAULT_ARM_API_VERSION } from '../health/keyVaultHealth.js';
import type { DoctorFinding } from './doctorCheck.js';
import type { PermissionNeed } from './permissionNeeds.js';

/**
 * A vault that does not use the Azure RBAC permission model authorizes its data plane with its access
 * policies only: role assignments, and so ARM's permissions API, say nothing about secrets there
 * ("Azure RBAC vs. access policies", learn.microsoft.com/azure/key-vault/general/rbac-access-policy;
 * `enableRbacAuthorization` of Vaults_Get, azure-rest-api-specs Microsoft.KeyVault stable/2023-07-01
 * keyvault.json). The doctor then reads the caller's access policy from the vault resource.
 */
export interface VaultAccessModel {
  rbac: boolean;
  /** `properties.accessPolicies` of the vault, as ARM answers them. */
  accessPolicies: ReadonlyArray<{ objectId?: string; permissions?: { secrets?: readonly string[] } }>;
}

/**
 * The access-policy secret permission each Key Vault data action of the table stands for (Key Vault
 * REST reference: Get Secret and Get Deleted Secret "require the secrets/get permission", Set Secret
 * "requires the secrets/set permission").
 */
const SECRET_PERMISSION: Record<string, string> = {
  'Microsoft.KeyVault/vaults/secrets/getSecret/action': 'get',
  'Microsoft.KeyVault/vaults/secrets/readMetadata/action': 'get',
  'Microsoft.KeyVault/vaults/secrets/setSecret/action': 'set',
};

/** The vault's permission model and access policies (Vaults_Get); RBAC when the vault cannot be read. */
export async function readVaultAccessModel(
  arm: Pick<ArmResources, 'get'>,
  vaultId: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<VaultAccessModel> {
  try {
    const vault = (await arm.get(vaultId, KEY_VAULT_ARM_API_VERSION, options)) as
      | {
          properties?: {
            enableRbacAuthorization?: boolean;
            accessPolicies?: VaultAccessModel['accessPolicies'];
          };
        }
      | undefined;
    return {
      rbac: vault?.properties?.enableRbacAuthorization !== false,
      accessPolicies: vault?.properties?.accessPolicies ?? [],
    };
  } catch {
    options.abortSignal?.throwIfAborted();
    // The vault row of the permissions check reports why it cannot be read.
    return { rbac: true, accessPolicies: [] };
  }
}

/** The object ID (`oid`) of the caller, from the claims of its ARM access token. */
export async function callerObjectId(credential: TokenCredential): Promise<string | undefined> {
  const token = await credential.getToken('https://management.azure.com/.default');
  const payload = token?.token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: unknown };
    return typeof claims.oid === 'string' ? claims.oid : undefined;
  } catch {
    return undefined;
  }
}

/** Is a need a Key Vault data action, which an access-policy vault decides itself? */
export function isVaultDataNeed(need: PermissionNeed): boolean {
  return need.dataAction && need.action in SECRET_PERMISSION;
}

/**
 * The findings of the Key Vault data-action needs on a vault that uses access policies: each needs
 * its secret permission (`all` covers every one) in the access policy of the caller's object ID.
 */
export function accessPolicyFindings(
  needs: readonly PermissionNeed[],
  vault: { name: string; model: VaultAccessModel },
  objectId: string | undefined,
): DoctorFinding[] {
  const policy = vault.model.accessPolicies.find(
    (p) => objectId !== undefined && p.objectId?.toLowerCase() === objectId.toLowerCase(),
  );
  const granted = (policy?.permissions?.secrets ?? []).map((p) => p.toLowerCase());
  return needs.map((need): DoctorFinding => {
    const permission = SECRET_PERMISSION[need.action] ?? need.action;
    const id = `permissions.${need.id}`;
    if (granted.includes(permission) || granted.includes('all')) {
      return {
        area: 'permissions',
        id,
        outcome: 'pass',
        detail: `The access policy of the identity on the Key Vault ${vault.name} allows secret ${permission} (${need.usedBy}).`,
      };
    }
    return {
      area: 'permissions',
      id,
      outcome: need.whenMissing ?? 'fail',
      detail: `The Key Vault ${vault.name} uses access policies, and ${policy ? "the identity's policy does not allow" : `no policy names the identity (object ID ${objectId ?? 'unknown'}), so nothing allows`} secret ${permission}, which ${need.usedBy} needs.`,
      fix: `Add the secret permission "${permission}" to the access policy of the kyvos-dr identity on the Key Vault ${vault.name}: ${need.template} with vaultPermissionModel "accessPolicy" adds get and set.`,
    };
  });
}
