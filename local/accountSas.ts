import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';

/** An account SAS on the blob service of a local account (all resource types), valid from 5 minutes ago. */
export function localAccountSas(
  account: { name: string; key: string },
  permissions: string,
  validityInMs: number,
): string {
  return generateAccountSASQueryParameters(
    {
      permissions: AccountSASPermissions.parse(permissions),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
      startsOn: new Date(Date.now() - 5 * 60_000),
      expiresOn: new Date(Date.now() + validityInMs),
    },
    new StorageSharedKeyCredential(account.name, account.key),
  ).toString();
}
