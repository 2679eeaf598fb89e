import type { LocalStack } from './stack.js';

/**
 * Creates the DR storage account as its operator would deploy `infra/dr-storage-account.json` ahead
 * of a failover (StorageV2, hierarchical namespace, TLS 1.2, HTTPS only, no public blob access), with
 * the stack's operator identity: a fixture, never the code under test. A failover then finds the
 * account instead of creating it, and a rehearsal can copy its sample into it.
 */
export async function preProvisionDrStorageAccount(stack: LocalStack): Promise<void> {
  const { subscriptionId, drResourceGroup, drStorageAccount, regions } = stack.names;
  await stack
    .operatorClients()
    .storageManagement(subscriptionId)
    .storageAccounts.beginCreateAndWait(
      drResourceGroup,
      drStorageAccount,
      {
        location: regions.dr,
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
        isHnsEnabled: true,
        minimumTlsVersion: 'TLS1_2',
        enableHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
      },
      { updateIntervalInMs: 100 },
    );
}
