import type { StorageAccount } from '@azure/arm-storage';
import { recordArmEndpoints } from '../../clients/storageEndpoints.js';
import { statusOf } from '../../errors.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/**
 * Ensures the DR storage account and its container exist, creating them when missing with the
 * properties of the Kyvos storage template (StorageV2, hierarchical namespace, TLS 1.2, HTTPS only,
 * no public blob access) and the configured SKU (`kyvos-dr-dr-storage-sku`; the template's choice is
 * `Standard_LRS`, or `Standard_ZRS` for a multi-zone account). Idempotent: an existing account is
 * checked, not changed; an account without hierarchical namespace fails the step, because Kyvos
 * needs ADLS Gen2. An existing account of another SKU is kept, and the step's detail says so.
 */
export async function ensureDrStorage(ctx: StepContext): Promise<StepOutcome> {
  const { config, clients, options } = ctx;
  const arm = clients.storageManagement(config.subscriptionId);
  const { resourceGroup, storageAccount, region, container } = config.dr;
  let account: StorageAccount | undefined;
  let created = false;
  try {
    account = await arm.storageAccounts.getProperties(resourceGroup, storageAccount);
  } catch (error) {
    if (statusOf(error) !== 404) {
      throw new Error(`Cannot read the DR storage account "${storageAccount}" (${resourceGroup})`, {
        cause: error,
      });
    }
  }
  if (!account) {
    account = await arm.storageAccounts.beginCreateAndWait(
      resourceGroup,
      storageAccount,
      {
        location: region,
        kind: 'StorageV2',
        sku: { name: config.dr.storageSku },
        tags: { UsedBy: 'Kyvos', CreatedBy: 'kyvos-dr', kyvosDrRun: ctx.run.runId },
        isHnsEnabled: true,
        minimumTlsVersion: 'TLS1_2',
        enableHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
        accessTier: 'Hot',
      },
      { updateIntervalInMs: options.pollIntervalInMs, abortSignal: ctx.abortSignal },
    );
    created = true;
  }
  if (account.isHnsEnabled !== true) {
    throw new Error(
      `The DR storage account "${storageAccount}" exists without hierarchical namespace; Kyvos needs ADLS Gen2. Choose another DR account name (secret kyvos-dr-dr-storage-account) or recreate it with hierarchical namespace on.`,
    );
  }
  if (account.location && normaliseRegion(account.location) !== normaliseRegion(region)) {
    throw new Error(
      `The DR storage account "${storageAccount}" is in ${account.location}, not in the DR region ${region}: a failover must not depend on the primary region.`,
    );
  }
  // The container, the copy and verification use the endpoints ARM reports for the account.
  recordArmEndpoints(clients, { ...account, name: account.name ?? storageAccount });
  const sku = account.sku?.name;
  if (!created && sku !== config.dr.storageSku) {
    ctx.logger.warn('failover.dr_storage_sku', {
      account: storageAccount,
      sku,
      configured: config.dr.storageSku,
      reason: 'the DR account existed before the failover; its SKU is kept',
    });
  }
  const containerResult = await clients
    .blobService(storageAccount)
    .getContainerClient(container)
    .createIfNotExists({ abortSignal: ctx.abortSignal });
  return {
    detail: {
      account: storageAccount,
      resourceGroup,
      region,
      created,
      sku,
      ...(sku !== config.dr.storageSku ? { configuredSku: config.dr.storageSku } : {}),
      container,
      containerCreated: containerResult.succeeded,
      hierarchicalNamespace: true,
    },
  };
}

function normaliseRegion(region: string): string {
  return region.toLowerCase().replace(/\s+/g, '');
}
