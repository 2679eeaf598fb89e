import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import {
  type ClientFactory,
  createClientFactory,
  type LocalStackDescriptor,
  type RetrySettings,
} from '../src/lib/clients/ClientFactory.js';
import { startAzurite } from './azurite.js';
import { createStackCertificate, type StackCertificate } from './certificate.js';
import { startStorageFront } from './storageFront.js';
import { emptyFaults, type FaultState, type LocalStorageAccount } from './types.js';

export interface StorageStackNames {
  subscriptionId: string;
  tenantId: string;
  primaryResourceGroup: string;
  drResourceGroup: string;
  primaryStorageAccount: string;
  drStorageAccount: string;
  appStorageAccount: string;
}

export interface StorageStackOptions {
  /** Where the certificate goes; removed by the caller. */
  dir: string;
  names: StorageStackNames;
  retry?: Partial<RetrySettings>;
}

/** The storage half of the local stack: Azurite behind the storage front, and clients for it. */
export interface StorageStack {
  certificate: StackCertificate;
  accounts: LocalStorageAccount[];
  faults: FaultState;
  /** Without the control plane's endpoints; `startLocalStack()` fills them in. */
  descriptor: LocalStackDescriptor;
  clients: ClientFactory;
  /** Shared key (base64) of an account the stack serves. */
  accountKey(account: string): string;
  /** An account SAS (read, list) on the primary account, as the stack stores it in Key Vault. */
  sourceSas(validityInMs?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts Azurite with the three accounts of a Kyvos DR deployment (the RA-GRS primary, the DR
 * account that ARM "creates" during a failover, and kyvos-dr's own) behind the storage front.
 */
export async function startStorageStack(options: StorageStackOptions): Promise<StorageStack> {
  const { names } = options;
  const certificate = await createStackCertificate(options.dir);
  const keyOf = (name: string) => Buffer.from(`${name}-local-stack-key-0123456789abcdef`).toString('base64');
  const account = (
    name: string,
    region: LocalStorageAccount['region'],
    sku: LocalStorageAccount['sku'],
    isHnsEnabled: boolean,
    existsInArm: boolean,
  ): LocalStorageAccount => ({
    name,
    key: keyOf(name),
    resourceGroup: region === 'primary' ? names.primaryResourceGroup : names.drResourceGroup,
    region,
    sku,
    isHnsEnabled,
    existsInArm,
  });
  const accounts = [
    account(names.primaryStorageAccount, 'primary', 'Standard_RAGRS', true, true),
    account(names.drStorageAccount, 'dr', 'Standard_LRS', true, false),
    account(names.appStorageAccount, 'dr', 'Standard_LRS', false, true),
  ];
  const azurite = await startAzurite({
    accounts,
    certPath: certificate.certPath,
    keyPath: certificate.keyPath,
  });
  const faults = emptyFaults();
  let front: Awaited<ReturnType<typeof startStorageFront>>;
  try {
    front = await startStorageFront({
      cert: certificate.cert,
      key: certificate.key,
      azuriteBlobPort: azurite.blobPort,
      accounts,
      faults,
    });
  } catch (error) {
    await azurite.stop();
    throw error;
  }
  const descriptor: LocalStackDescriptor = {
    kind: 'local',
    tenantId: names.tenantId,
    subscriptionId: names.subscriptionId,
    caCertPath: certificate.certPath,
    armEndpoint: '',
    keyVaultUrl: '',
    blobEndpointTemplate: `https://127.0.0.1:${front.port}/{account}`,
    queueEndpointTemplate: `https://127.0.0.1:${azurite.queuePort}/{account}`,
  };
  const accountKey = (name: string) => {
    const found = accounts.find((a) => a.name === name);
    if (!found) throw new Error(`The local stack has no storage account "${name}"`);
    return found.key;
  };
  return {
    certificate,
    accounts,
    faults,
    descriptor,
    clients: createClientFactory({
      kind: 'local',
      descriptor,
      retry: options.retry ?? {
        maxRetries: 3,
        retryDelayInMs: 100,
        maxRetryDelayInMs: 1_000,
        tryTimeoutInMs: 30_000,
      },
    }),
    accountKey,
    sourceSas: (validityInMs = 90 * 24 * 3600_000) =>
      generateAccountSASQueryParameters(
        {
          permissions: AccountSASPermissions.parse('rl'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString(),
          startsOn: new Date(Date.now() - 5 * 60_000),
          expiresOn: new Date(Date.now() + validityInMs),
        },
        new StorageSharedKeyCredential(names.primaryStorageAccount, accountKey(names.primaryStorageAccount)),
      ).toString(),
    stop: async () => {
      await front.stop().catch(() => {});
      await azurite.stop();
    },
  };
}
