import { ArmError } from '../armErrors.js';
import type { TokenClaims } from '../bearerToken.js';

/**
 * ARM's answer to a request the caller's role assignments do not allow: `403` with code
 * `AuthorizationFailed` and the message ARM writes, as seen in Azure's answers quoted in
 * Azure/azure-rest-api-specs#13700, Azure/azure-sdk-for-net#41151 and cloudquery/cloudquery#16133:
 * "The client '<client>' with object id '<oid>' does not have authorization to perform action
 * '<action>' over scope '<scope>' or the scope is invalid. If access was recently granted, please
 * refresh your credentials."
 */
export function authorizationFailed(claims: TokenClaims, action: string, scope: string): ArmError {
  const objectId = claims.oid ?? '';
  return new ArmError(
    403,
    'AuthorizationFailed',
    `The client '${claims.appid ?? objectId}' with object id '${objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

/**
 * Key Vault's answer to a data-plane request that Azure RBAC does not allow, on a vault that uses
 * the RBAC permission model: `403`, `{"error":{"code":"Forbidden","message":…,"innererror":
 * {"code":"ForbiddenByRbac"}}}`, the message listing caller, action, resource (lower-cased) and the
 * decision, as Key Vault answers (quoted in piyushsachdeva/Terraform_AKS#2 and
 * hashicorp/terraform-provider-azurerm#27817; error shape: KeyVaultError in azure-rest-api-specs
 * keyvault data-plane secrets.json).
 */
export class ForbiddenByRbac extends ArmError {
  constructor(claims: TokenClaims, action: string, resource: string, vault: string, location: string) {
    super(
      403,
      'Forbidden',
      [
        'Caller is not authorized to perform action on resource.',
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
        `Caller: appid=${claims.appid ?? claims.oid ?? ''};oid=${claims.oid ?? ''};iss=${claims.iss ?? ''}`,
        `Action: '${action}'`,
        `Resource: '${resource.toLowerCase()}'`,
        'Assignment: (not found)',
        'DenyAssignmentId: null',
        "DecisionReason: 'DeniedWithNoValidRBAC' ",
        `Vault: ${vault};location=${location}`,
        '',
      ].join('\r\n'),
    );
  }

  override toBody(): { error: { code: string; message: string; innererror: { code: string } } } {
    return { error: { code: this.code, message: this.message, innererror: { code: 'ForbiddenByRbac' } } };
  }
}
