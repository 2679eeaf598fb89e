import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type ClientFactory,
  createClientFactory,
  type LocalStackDescriptor,
} from '../src/lib/clients/ClientFactory.js';
import { LocalStackCredential } from '../src/lib/clients/LocalStackCredential.js';
import { APP_SETTINGS, appSettingName, CONFIG_SECRETS } from '../src/lib/config/secretNames.js';
import { connectionStringAs } from './azurePostgresRoles.js';
import { startControlPlaneEmulator } from './emulator/index.js';
import { DEFAULT_SERVER_SIZE } from './emulator/promotePrerequisites.js';
import { APP_NETWORK } from './networkRules.js';
import { type PostgresPair, startPostgresPair } from './postgres.js';
import { removeWithThisProcess } from './reaper.js';
import { LOCAL_OPERATOR_OBJECT_ID, type StackRbacOptions, stackRbacPolicy } from './stackAuthorization.js';
import { startStorageStack } from './storageStack.js';
import type {
  FaultState,
  LocalFlexibleServer,
  LocalServerSize,
  LocalStorageAccount,
  PgInstance,
  RegionRole,
  StackRegions,
} from './types.js';

/** The names of the Kyvos deployment the stack plays, as an operator would find them in Azure. */
export interface LocalStackNames {
  subscriptionId: string;
  tenantId: string;
  regions: StackRegions;
  primaryResourceGroup: string;
  drResourceGroup: string;
  primaryStorageAccount: string;
  container: string;
  engineWorkDirectory: string;
  drStorageAccount: string;
  appStorageAccount: string;
  primaryPostgresServer: string;
  replicaPostgresServer: string;
  keyVaultName: string;
  sourceSasSecret: string;
}

export const DEFAULT_NAMES: LocalStackNames = {
  subscriptionId: '6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  regions: { primary: 'centralus', dr: 'eastus2' },
  primaryResourceGroup: 'rg-kyvos',
  drResourceGroup: 'rg-kyvos-dr',
  primaryStorageAccount: 'kyvosprimdata',
  container: 'kyvoscontainer',
  engineWorkDirectory: 'kyvos/engine_work',
  drStorageAccount: 'kyvosdrdata',
  appStorageAccount: 'kyvosdrapp',
  primaryPostgresServer: 'pg-kyvos',
  replicaPostgresServer: 'pg-kyvos-dr',
  keyVaultName: 'kv-kyvos',
  sourceSasSecret: 'kyvos-dr-source-sas',
};

export interface LocalStackOptions {
  /** Extra or replacement Key Vault secrets, by name (e.g. thresholds for a test). */
  secrets?: Record<string, string>;
  /** Secrets to leave out of the seeded configuration (to test a missing secret). */
  omitSecrets?: string[];
  /**
   * Compute tier and storage of each PostgreSQL server, as ARM reports them. Both default to
   * `DEFAULT_SERVER_SIZE`: equal sizes, as every promote option needs.
   */
  serverSizes?: Partial<Record<'primary' | 'replica', LocalServerSize>>;
  /**
   * The vault's region as ARM reports it (Vaults_Get `location`), e.g. `westus3` to place it where
   * Key Vault does not fail over. Default: the primary region.
   */
  keyVaultLocation?: string;
  /**
   * How far the storage secondary lags its primary, from the start (0 by default: a write is on the
   * secondary at once). Changed later with `setStorageReplicationDelay`.
   */
  storageReplicationDelayMs?: number;
  /**
   * How long a storage account's create or failover stays in progress before it takes effect
   * (`ControlPlaneEmulatorOptions.storageOperationDurationInMs`); default 1000.
   */
  storageOperationDurationInMs?: number;
  /**
   * The host name in the endpoints ARM reports for the storage accounts (`primaryEndpoints`,
   * `secondaryEndpoints`); default `127.0.0.1`, the descriptor's. `localhost` reaches the same
   * storage front (the certificate names both) at endpoints the descriptor's template does not
   * build, as an Azure DNS zone account's differ from `<account>.blob.core.windows.net`: a test that
   * the code takes its endpoints from ARM.
   */
  storageEndpointHost?: '127.0.0.1' | 'localhost';
  /**
   * The emulator enforces the role assignments of `infra/` for the app's identity; this changes
   * them for a test of a variant (other template parameters, an assignment removed).
   */
  rbac?: StackRbacOptions;
}

/** A running local stack: Azurite behind the storage front, a PostgreSQL pair, and the emulator. */
export interface LocalStack {
  names: LocalStackNames;
  descriptor: LocalStackDescriptor;
  /** Path of the descriptor JSON (`KYVOS_DR_LOCAL_STACK`). */
  descriptorPath: string;
  /** App settings that point kyvos-dr at this stack. */
  settings: Record<string, string>;
  /**
   * The seeded Key Vault secrets as their `KYVOS_DR_*` app-setting twins (the source SAS included):
   * the fallback used while the vault cannot be reached. Add them to `settings` to populate it.
   */
  fallbackSettings: Record<string, string>;
  /** Clients as the app: its identity, with the roles `infra/` gives it. */
  clients: ClientFactory;
  /**
   * Clients as the stack's operator (Owner on the subscription), for fixtures that seed or inspect
   * the stack beyond what the app may do. Never for code under test.
   */
  operatorClients(): ClientFactory;
  accounts: LocalStorageAccount[];
  servers: LocalFlexibleServer[];
  /**
   * `primary` and `replica` run SQL as the superuser (the stack's tooling); `logins` are Azure's
   * server admin and the connection user whose connection strings Key Vault holds.
   */
  postgres: { primary: PgInstance; replica: PgInstance; logins: PostgresPair['logins'] };
  faults: FaultState;
  /** Sets a Key Vault secret directly (seeding and tests). */
  setSecret(name: string, value: string): Promise<void>;
  /** Fault injection. */
  regionDown(region: RegionRole): Promise<void>;
  regionUp(region: RegionRole): Promise<void>;
  setSecondaryUnavailable(unavailable: boolean): void;
  pauseStorageReplication(): void;
  resumeStorageReplication(): void;
  /** How far the storage secondary lags its primary from now on (`storageReplicationDelayMs`). */
  setStorageReplicationDelay(delayInMs: number): void;
  /** The storage secondary's `lastSyncTime`, as ARM and the secondary report it. */
  storageLastSyncTime(): Date;
  pauseDatabaseReplication(): Promise<void>;
  resumeDatabaseReplication(): Promise<void>;
  throttleArm(count: number, status: 429 | 503, retryAfterSeconds?: number): void;
  failNextLongRunningOperations(count: number, code?: string, message?: string): void;
  /** Key Vault closes every connection without answering (`true`) or answers again (`false`). */
  setKeyVaultUnavailable(unavailable: boolean): void;
  /** Stops everything and removes every temporary file. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts the local stack on free loopback ports. Everything it starts is stopped, and its temporary
 * directory removed, by `stop()`; two stacks can run side by side.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const names = DEFAULT_NAMES;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-stack-'));
  const keepDir = removeWithThisProcess(dir);
  const cleanups: Array<() => Promise<void>> = [
    async () => {
      await rm(dir, { recursive: true, force: true });
      keepDir();
    },
  ];
  const stop = async () => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      await cleanup?.().catch(() => {});
    }
  };
  try {
    const storage = await startStorageStack({
      dir,
      names,
      ...(options.storageReplicationDelayMs !== undefined
        ? { storageReplicationDelayMs: options.storageReplicationDelayMs }
        : {}),
    });
    cleanups.push(() => storage.stop());
    const { certificate, accounts, faults, descriptor } = storage;
    const pair = await startPostgresPair({
      primaryName: names.primaryPostgresServer,
      replicaName: names.replicaPostgresServer,
    });
    cleanups.push(() => pair.stop());
    const servers: LocalFlexibleServer[] = [
      {
        name: names.primaryPostgresServer,
        resourceGroup: names.primaryResourceGroup,
        region: 'primary',
        role: 'primary',
        instance: pair.primary,
        stoppedByArm: false,
        size: options.serverSizes?.primary ?? DEFAULT_SERVER_SIZE,
      },
      {
        name: names.replicaPostgresServer,
        resourceGroup: names.drResourceGroup,
        region: 'dr',
        role: 'replica',
        sourceServer: names.primaryPostgresServer,
        instance: pair.replica,
        stoppedByArm: false,
        size: options.serverSizes?.replica ?? DEFAULT_SERVER_SIZE,
      },
    ];

    // The emulator creates containers in Azurite through the same local clients kyvos-dr uses.
    const descriptorPath = path.join(dir, 'stack.json');
    const azuriteClients = storage.clients;
    const emulator = await startControlPlaneEmulator({
      tls: { cert: certificate.cert, key: certificate.key },
      subscriptionId: names.subscriptionId,
      tenantId: names.tenantId,
      regions: names.regions,
      storageAccounts: accounts,
      servers,
      faults,
      blobEndpoint: (account, secondary) =>
        `${descriptor.blobEndpointTemplate
          .replace('//127.0.0.1:', `//${options.storageEndpointHost ?? '127.0.0.1'}:`)
          .replace('{account}', `${account}${secondary ? '-secondary' : ''}`)}/`,
      containers: {
        create: async (account, container) => {
          const response = await azuriteClients
            .blobService(account)
            .getContainerClient(container)
            .createIfNotExists();
          return response.succeeded ? 'created' : 'exists';
        },
        exists: (account, container) =>
          azuriteClients.blobService(account).getContainerClient(container).exists(),
      },
      ...(options.storageOperationDurationInMs !== undefined
        ? { storageOperationDurationInMs: options.storageOperationDurationInMs }
        : {}),
      failOverStorageData: async (account, type) => {
        const geo = storage.geoReplication.find((g) => g.account === account);
        if (!geo) return;
        await (type === 'Planned' ? geo.catchUp() : geo.promoteSecondary());
      },
      bootstrapStorageReplication: async (account) => {
        await storage.geoReplication.find((g) => g.account === account)?.bootstrap();
      },
      keyVaultName: names.keyVaultName,
      // The Kyvos vault sits in the primary resource group (infra/function-app.json keyVaultName).
      keyVault: {
        resourceGroup: names.primaryResourceGroup,
        ...(options.keyVaultLocation ? { location: options.keyVaultLocation } : {}),
      },
      authorization: {
        policy: stackRbacPolicy(
          names,
          accounts.find((a) => a.name === names.appStorageAccount)?.resourceGroup ?? names.drResourceGroup,
          options.rbac,
        ),
        keyVaultResourceId: `/subscriptions/${names.subscriptionId}/resourceGroups/${names.primaryResourceGroup}/providers/Microsoft.KeyVault/vaults/${names.keyVaultName}`,
        keyVaultLocation: options.keyVaultLocation ?? names.regions.primary,
      },
      // A region outage set through the admin API (`npm run local` users, the drill) also takes the
      // region's database down, as stack.regionDown() does.
      onFaultsChanged: async () => {
        for (const server of servers) {
          const down = faults.regionsDown.has(server.region);
          if (down && server.instance.isRunning()) await server.instance.stop('immediate');
          if (!down && !server.instance.isRunning() && !server.stoppedByArm) {
            await server.instance.start();
          }
        }
      },
    });
    cleanups.push(() => emulator.stop());
    descriptor.armEndpoint = emulator.armEndpoint;
    descriptor.keyVaultUrl = emulator.keyVaultUrl;
    await writeFile(descriptorPath, `${JSON.stringify(descriptor, null, 2)}\n`);
    const { clients } = storage;

    // The primary's data container exists from the start, as in the Kyvos deployment.
    await clients
      .blobService(names.primaryStorageAccount)
      .getContainerClient(names.container)
      .createIfNotExists();
    await clients.blobService(names.appStorageAccount).getContainerClient('kyvos-dr').createIfNotExists();

    const sourceSas = storage.sourceSas();
    const secrets: Record<string, string> = {
      [CONFIG_SECRETS.subscriptionId]: names.subscriptionId,
      [CONFIG_SECRETS.primaryResourceGroup]: names.primaryResourceGroup,
      [CONFIG_SECRETS.primaryRegion]: names.regions.primary,
      [CONFIG_SECRETS.drResourceGroup]: names.drResourceGroup,
      [CONFIG_SECRETS.drRegion]: names.regions.dr,
      [CONFIG_SECRETS.primaryStorageAccount]: names.primaryStorageAccount,
      [CONFIG_SECRETS.primaryContainer]: names.container,
      [CONFIG_SECRETS.engineWorkDirectory]: names.engineWorkDirectory,
      [CONFIG_SECRETS.drStorageAccount]: names.drStorageAccount,
      [CONFIG_SECRETS.drContainer]: names.container,
      [CONFIG_SECRETS.primaryPostgresServer]: names.primaryPostgresServer,
      [CONFIG_SECRETS.replicaPostgresServer]: names.replicaPostgresServer,
      // kyvos-dr's own connection user, never the superuser (`azurePostgresRoles.ts`).
      [CONFIG_SECRETS.replicaConnectionString]: connectionStringAs(pair.replica, pair.logins.connectionUser),
      [CONFIG_SECRETS.primaryConnectionString]: connectionStringAs(pair.primary, pair.logins.connectionUser),
      [CONFIG_SECRETS.sourceSasSecretName]: names.sourceSasSecret,
      [names.sourceSasSecret]: sourceSas,
      [CONFIG_SECRETS.maxStorageRpoSeconds]: '900',
      [CONFIG_SECRETS.maxReplicaLagSeconds]: '300',
      [CONFIG_SECRETS.maxReplicaLagBytes]: String(64 * 1024 * 1024),
      [CONFIG_SECRETS.sasExpiryWarningDays]: '14',
      [CONFIG_SECRETS.alertFailoverPolicy]: 'planned',
      [CONFIG_SECRETS.promoteMode]: 'Standalone',
      [CONFIG_SECRETS.stopOldPrimary]: 'true',
      ...options.secrets,
    };
    for (const name of options.omitSecrets ?? []) delete secrets[name];
    for (const [name, value] of Object.entries(secrets)) await emulator.setSecret(name, value);

    const regionServers = (region: RegionRole) => servers.filter((s) => s.region === region);
    const stack: LocalStack = {
      names,
      descriptor,
      descriptorPath,
      settings: {
        [APP_SETTINGS.localStack]: descriptorPath,
        [APP_SETTINGS.keyVaultUrl]: emulator.keyVaultUrl,
        [APP_SETTINGS.keyVaultName]: names.keyVaultName,
        [APP_SETTINGS.appStorageAccount]: names.appStorageAccount,
        [APP_SETTINGS.appSubnetId]: APP_NETWORK.subnetId,
      },
      fallbackSettings: Object.fromEntries(
        Object.entries(secrets).map(([name, value]) => [appSettingName(name), value]),
      ),
      clients,
      operatorClients: () =>
        createClientFactory({
          kind: 'local',
          descriptor,
          credential: new LocalStackCredential(names.tenantId, LOCAL_OPERATOR_OBJECT_ID),
        }),
      accounts,
      servers,
      postgres: { primary: pair.primary, replica: pair.replica, logins: pair.logins },
      faults,
      setSecret: async (name, value) => {
        await emulator.setSecret(name, value);
      },
      regionDown: async (region) => {
        faults.regionsDown.add(region);
        // A region outage takes its database down without a clean shutdown.
        for (const server of regionServers(region)) {
          if (server.instance.isRunning()) await server.instance.stop('immediate');
        }
      },
      regionUp: async (region) => {
        faults.regionsDown.delete(region);
        for (const server of regionServers(region)) {
          if (!server.instance.isRunning() && !server.stoppedByArm) await server.instance.start();
        }
      },
      setSecondaryUnavailable: (unavailable) => {
        faults.secondaryUnavailable = unavailable;
      },
      pauseStorageReplication: () => {
        faults.storageReplicationPausedAt ??= new Date();
      },
      resumeStorageReplication: () => {
        faults.storageReplicationPausedAt = null;
      },
      setStorageReplicationDelay: (delayInMs) => {
        faults.storageReplicationDelayMs = delayInMs;
      },
      storageLastSyncTime: () => {
        const geo = storage.geoReplication.find((g) => g.account.name === names.primaryStorageAccount);
        if (!geo) throw new Error(`The local stack does not replicate "${names.primaryStorageAccount}"`);
        return geo.lastSyncTime();
      },
      pauseDatabaseReplication: () => pair.replica.pauseReplay(),
      resumeDatabaseReplication: () => pair.replica.resumeReplay(),
      throttleArm: (count, status, retryAfterSeconds = 1) => {
        faults.armThrottle = { count, status, retryAfterSeconds };
      },
      failNextLongRunningOperations: (count, code = 'InternalServerError', message = 'Injected failure') => {
        faults.lroFailures = { count, code, message };
      },
      setKeyVaultUnavailable: (unavailable) => {
        faults.keyVaultUnavailable = unavailable;
      },
      stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
