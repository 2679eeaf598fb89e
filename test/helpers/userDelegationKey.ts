import type { UserDelegationKey } from '@azure/storage-blob';

/**
 * What Get User Delegation Key answers, for a fixed identity and key: enough to sign a
 * user-delegation SAS offline (`generateBlobSASQueryParameters`), never accepted by a service.
 */
export function fakeUserDelegationKey(startsOn: Date, expiresOn: Date): UserDelegationKey {
  return {
    signedObjectId: '00000000-0000-0000-0000-000000000001',
    signedTenantId: '00000000-0000-0000-0000-000000000002',
    signedStartsOn: startsOn,
    signedExpiresOn: expiresOn,
    signedService: 'b',
    signedVersion: '2025-01-05',
    value: Buffer.from('key').toString('base64'),
  };
}
