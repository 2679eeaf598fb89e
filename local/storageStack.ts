import {
  type ClientFactory,
  createClientFactory,
  type LocalStackDescriptor,
  type RetrySettings,
} from '../src/lib/clients/ClientFactory.js';
import { localAccountSas } from './accountSas.js';
import { startAzurite } from './azurite.js';
import { createStackCertificate, type StackCertificate } from './certificate.js';
import { GeoReplication, hiddenAccountsOf } from './geoReplication.js';
import { startStorageFront } from './storageFront.js';
import { emptyFaults, type FaultState, isReadAccessSku, type LocalStorageAccount } from './types.js';

interface StorageStackNames {
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
  /** How far the RA-GRS secondary lags its primary (`FaultState.storageReplicationDelayMs`); 0 by default. */
  storageReplicationDelayMs?: number;
}

/** The storage half of the local stack: Azurite behind the storage front, and clients for it. */
export interface StorageStack {
  certificate: StackCertificate;
  accounts: LocalStorageAccount[];
  faults: FaultState;
  /** The lagging secondary of each RA-GRS account. */
  geoReplication: GeoReplication[];
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
  // Each read-access geo-redundant account's secondary is a hidden Azurite account of its own.
  const replicated = accounts.filter((a) => isReadAccessSku(a.sku));
  const azurite = await startAzurite({
    accounts: [...accounts, ...replicated.flatMap((a) => Object.values(hiddenAccountsOf(a)))],
    certPath: certificate.certPath,
    keyPath: certificate.keyPath,
  });
  const faults = emptyFaults();
  faults.storageReplicationDelayMs = options.storageReplicationDelayMs ?? 0;
  const geoReplication = replicated.map(
    (account) =>
      new GeoReplication({ account, azuriteBlobPort: azurite.blobPort, cert: certificate.cert, faults }),
  );
  const stopReplication = () => Promise.all(geoReplication.map((g) => g.stop()));
  let front: Awaited<ReturnType<typeof startStorageFront>>;
  try {
    for (const geo of geoReplication) {
      await geo.start();
      geo.account.lastSyncTime = () => geo.lastSyncTime();
    }
    front = await startStorageFront({
      cert: certificate.cert,
      key: certificate.key,
      azuriteBlobPort: azurite.blobPort,
      accounts,
      faults,
      geoReplication,
    });
    for (const geo of geoReplication) geo.copySourceOrigin = `https://127.0.0.1:${front.port}`;
  } catch (error) {
    await stopReplication();
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
    geoReplication,
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
      localAccountSas(
        { name: names.primaryStorageAccount, key: accountKey(names.primaryStorageAccount) },
        'rl',
        validityInMs,
      ),
    stop: async () => {
      await front.stop().catch(() => {});
      await stopReplication();
      await azurite.stop();
    },
  };
}
