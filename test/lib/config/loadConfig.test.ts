import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import {
  appSettingsSource,
  configSourceFromSettings,
  keyVaultSource,
} from '../../../src/lib/config/ConfigSource.js';
import { createConfigLoader } from '../../../src/lib/config/configLoader.js';
import { ConfigProblems, checkConfig, loadConfig } from '../../../src/lib/config/loadConfig.js';
import { APP_SETTINGS, appSettingName, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { createDeps } from '../../../src/lib/deps.js';
import { ConfigError } from '../../../src/lib/errors.js';
import { readSourceSas } from '../../../src/lib/source/sourceCredential.js';

/** Values that must never show up in an error, a finding or a log line. */
const LEAKY_PASSWORD = 'Sup3r-Secret-Pa55';
const LEAKY_REGION = 'Central-US';

describe('DR configuration from the local stack Key Vault', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    // One secret missing, four invalid: what an operator sees after a half-finished setup.
    stack = await startLocalStack({
      omitSecrets: [CONFIG_SECRETS.primaryStorageAccount, CONFIG_SECRETS.maxStorageRpoSeconds],
      secrets: {
        [CONFIG_SECRETS.drRegion]: LEAKY_REGION,
        [CONFIG_SECRETS.maxReplicaLagSeconds]: '-5',
        [CONFIG_SECRETS.replicaPostgresServer]: 'pg-kyvos',
        [CONFIG_SECRETS.replicaConnectionString]: `postgres://kyvos:${LEAKY_PASSWORD}@pg-kyvos-dr.postgres.database.azure.com:5432/kyvos?sslmode=sometimes`,
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const vault = () =>
    keyVaultSource(stack.clients.secrets(stack.descriptor.keyVaultUrl), stack.descriptor.keyVaultUrl);

  it('a missing and several invalid secrets give one ConfigError naming each secret and its app setting, and no value', async () => {
    const error = await loadConfig(vault()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigProblems);
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigProblems).problems;
    expect(problems.map((p) => [p.secretName, p.status])).toEqual([
      [CONFIG_SECRETS.drRegion, 'invalid'],
      [CONFIG_SECRETS.primaryStorageAccount, 'missing'],
      [CONFIG_SECRETS.replicaPostgresServer, 'invalid'],
      [CONFIG_SECRETS.replicaConnectionString, 'invalid'],
      [CONFIG_SECRETS.maxReplicaLagSeconds, 'invalid'],
    ]);
    const message = (error as Error).message;
    expect(message).toMatch(/^The DR configuration from Key Vault .* has 5 problems:\n/);
    expect(message).toContain(
      `- ${CONFIG_SECRETS.primaryStorageAccount} (app setting KYVOS_DR_PRIMARY_STORAGE_ACCOUNT) is not in Key Vault`,
    );
    expect(message).toContain(`az keyvault secret set --vault-name`);
    expect(message).toContain(
      `- ${CONFIG_SECRETS.drRegion} (app setting KYVOS_DR_DR_REGION) is invalid: a region is its programmatic name`,
    );
    expect(message).toContain(
      'the replica server must differ from the primary server (kyvos-dr-primary-pg-server)',
    );
    expect(message).toContain('has sslmode "sometimes"');
    expect(message).toContain('must be a positive number of seconds');
    // An optional secret that is missing takes its default and is not a problem.
    expect(message).not.toContain(CONFIG_SECRETS.maxStorageRpoSeconds);
    for (const value of [LEAKY_PASSWORD, LEAKY_REGION, '-5']) expect(message).not.toContain(value);
    expect((error as ConfigError).setting).toBe(CONFIG_SECRETS.drRegion);
  });

  it('config check lists every secret as ok, missing or invalid, with the source SAS expiry and no value', async () => {
    const findings = await checkConfig(vault());
    expect(findings).toHaveLength(Object.keys(CONFIG_SECRETS).length + 1);
    const byName = new Map(findings.map((f) => [f.secretName, f]));
    expect(byName.get(CONFIG_SECRETS.subscriptionId)).toMatchObject({
      status: 'ok',
      reason: 'set',
      required: true,
    });
    expect(byName.get(CONFIG_SECRETS.maxStorageRpoSeconds)).toMatchObject({
      status: 'ok',
      reason: 'not set; the default 900 is used',
      required: false,
      appSetting: 'KYVOS_DR_MAX_STORAGE_RPO_SECONDS',
    });
    expect(byName.get(CONFIG_SECRETS.primaryStorageAccount)?.status).toBe('missing');
    expect(byName.get(CONFIG_SECRETS.replicaConnectionString)?.status).toBe('invalid');
    const sas = byName.get(stack.names.sourceSasSecret);
    expect(sas).toMatchObject({ key: 'sourceSas', status: 'ok', appSetting: 'KYVOS_DR_SOURCE_SAS' });
    expect(sas?.reason).toMatch(/^set; expires on \d{4}-\d\d-\d\dT.* \(in 90\.0 days\)$/);
    const text = JSON.stringify(findings);
    for (const value of [LEAKY_PASSWORD, LEAKY_REGION, 'sig=']) expect(text).not.toContain(value);
  });

  it('once the secrets are fixed in Key Vault, the next load returns the typed configuration (a failed load is not cached)', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const load = createConfigLoader(vault, { ttlInSeconds: 300, clock: () => now });
    await expect(load()).rejects.toBeInstanceOf(ConfigProblems);

    await stack.setSecret(CONFIG_SECRETS.primaryStorageAccount, stack.names.primaryStorageAccount);
    await stack.setSecret(CONFIG_SECRETS.drRegion, ' eastus2\n');
    await stack.setSecret(CONFIG_SECRETS.maxReplicaLagSeconds, '120');
    await stack.setSecret(CONFIG_SECRETS.replicaPostgresServer, stack.names.replicaPostgresServer);
    await stack.setSecret(CONFIG_SECRETS.replicaConnectionString, stack.postgres.replica.connectionString);

    const config = await load();
    expect(config).toMatchObject({
      subscriptionId: stack.names.subscriptionId,
      primary: {
        resourceGroup: 'rg-kyvos',
        region: 'centralus',
        storageAccount: 'kyvosprimdata',
        container: 'kyvoscontainer',
        postgresServer: 'pg-kyvos',
      },
      dr: {
        resourceGroup: 'rg-kyvos-dr',
        region: 'eastus2',
        storageAccount: 'kyvosdrdata',
        replicaServer: 'pg-kyvos-dr',
      },
      engineWorkDirectory: 'kyvos/engine_work',
      sourceSasSecretName: stack.names.sourceSasSecret,
      thresholds: {
        maxStorageRpoSeconds: 900,
        maxReplicaLagSeconds: 120,
        maxReplicaLagBytes: 64 * 1024 * 1024,
        sasExpiryWarningDays: 14,
      },
      alertFailoverPolicy: 'planned',
      promoteMode: 'Standalone',
      storageStrategy: 'copy',
      stopOldPrimary: true,
      splitBrainAutoFence: false,
      keyVault: { url: stack.descriptor.keyVaultUrl },
    });
    expect(config.dr.replicaConnection).toMatchObject({
      host: stack.postgres.replica.host,
      port: stack.postgres.replica.port,
      user: stack.postgres.replica.user,
      sslmode: 'disable',
    });
    expect(config.dr.replicaConnection?.password.reveal()).toBe(stack.postgres.replica.password);
    expect(JSON.stringify(config)).not.toContain(stack.postgres.replica.password);

    // Within the TTL a change in Key Vault is not seen; after it, it is.
    await stack.setSecret(CONFIG_SECRETS.maxStorageRpoSeconds, '600');
    now = new Date(now.getTime() + 299_000);
    expect((await load()).thresholds.maxStorageRpoSeconds).toBe(900);
    now = new Date(now.getTime() + 2_000);
    expect((await load()).thresholds.maxStorageRpoSeconds).toBe(600);
  });

  it('the composition root reads the vault named by KYVOS_DR_KEY_VAULT_URL, and the source SAS through it', async () => {
    const deps = createDeps(stack.settings, { clients: stack.clients });
    const config = await deps.config();
    expect(config.keyVault?.url).toBe(stack.settings.KYVOS_DR_KEY_VAULT_URL);
    expect(deps.appStorageAccount).toBe(stack.names.appStorageAccount);
    const sas = await readSourceSas(config, deps);
    expect(sas?.reveal()).toMatch(/(^|&)sig=/);
    expect(String(sas)).toBe('[redacted]');

    const missing = { ...config, sourceSasSecretName: 'kyvos-dr-no-such-sas' };
    const error = await readSourceSas(missing, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `The source SAS secret "kyvos-dr-no-such-sas" (named by kyvos-dr-source-sas-secret-name) is not in Key Vault ${config.keyVault?.name} (${config.keyVault?.url}): store the SAS there, or clear the name`,
    );
  });

  it('a vault that does not answer gives one error for all secrets, not one per secret', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const url = `https://127.0.0.1:${closedPort}`;
    const error = await loadConfig(keyVaultSource(stack.clients.secrets(url), url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigProblems);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^The DR configuration could not be read from Key Vault .*: none of its ${Object.keys(CONFIG_SECRETS).length} secrets could be read: Key Vault did not answer: .*ECONNREFUSED`,
      ),
    );
    expect((error as Error).message.split('\n')).toHaveLength(1);
  });
});

describe('DR configuration from app settings (func start with local.settings.json)', () => {
  /** Every secret's app-setting twin, with valid example values. */
  const validSettings = (): Record<string, string> => ({
    [appSettingName(CONFIG_SECRETS.subscriptionId)]: '6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a',
    [appSettingName(CONFIG_SECRETS.primaryResourceGroup)]: 'rg-kyvos',
    [appSettingName(CONFIG_SECRETS.primaryRegion)]: 'centralus',
    [appSettingName(CONFIG_SECRETS.drResourceGroup)]: 'rg-kyvos-dr',
    [appSettingName(CONFIG_SECRETS.drRegion)]: 'eastus2',
    [appSettingName(CONFIG_SECRETS.primaryStorageAccount)]: 'kyvosprimdata',
    [appSettingName(CONFIG_SECRETS.primaryContainer)]: 'kyvoscontainer',
    [appSettingName(CONFIG_SECRETS.engineWorkDirectory)]: '/',
    [appSettingName(CONFIG_SECRETS.drStorageAccount)]: 'kyvosdrdata',
    [appSettingName(CONFIG_SECRETS.drContainer)]: 'kyvoscontainer',
    [appSettingName(CONFIG_SECRETS.primaryPostgresServer)]: 'pg-kyvos',
    [appSettingName(CONFIG_SECRETS.replicaPostgresServer)]: 'pg-kyvos-dr',
  });

  it('reads every secret from its KYVOS_DR_* twin when no vault URL is set, with defaults for optional ones', async () => {
    const deps = createDeps(validSettings());
    const config = await deps.config();
    expect(config.keyVault).toBeUndefined();
    expect(config.engineWorkDirectory).toBe('');
    expect(config.dr.replicaConnection).toBeUndefined();
    expect(config.sourceSasSecretName).toBeUndefined();
    expect(config.thresholds).toEqual({
      maxStorageRpoSeconds: 900,
      maxReplicaLagSeconds: 300,
      maxReplicaLagBytes: 67_108_864,
      sasExpiryWarningDays: 14,
    });
    expect([
      config.alertFailoverPolicy,
      config.promoteMode,
      config.stopOldPrimary,
      config.splitBrainAutoFence,
    ]).toEqual(['off', 'Standalone', true, false]);
  });

  it('local.settings.example.json shows every setting, and is itself a valid configuration', async () => {
    const example = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../../local.settings.example.json'), 'utf8'),
    ) as { Values: Record<string, string> };
    const names = Object.keys(example.Values);
    for (const setting of [
      'FUNCTIONS_WORKER_RUNTIME',
      'AzureWebJobsStorage',
      ...Object.values(APP_SETTINGS),
      ...Object.values(CONFIG_SECRETS).map(appSettingName),
      appSettingName(example.Values.KYVOS_DR_SOURCE_SAS_SECRET_NAME ?? ''),
    ]) {
      expect(names, setting).toContain(setting);
    }
    expect(example.Values).toMatchObject({
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    });
    const findings = await checkConfig(appSettingsSource(example.Values), {
      now: new Date('2026-06-01T00:00:00Z'),
    });
    expect(findings.filter((f) => f.status !== 'ok')).toEqual([]);
  });

  it('an app setting still holding an unresolved Key Vault reference is an error that says so, and why', async () => {
    const settings = {
      ...validSettings(),
      KYVOS_DR_REPLICA_CONNECTION_STRING:
        '@Microsoft.KeyVault(SecretUri=https://kv-kyvos.vault.azure.net/secrets/kyvos-dr-replica-connection-string/)',
    };
    const error = await loadConfig(appSettingsSource(settings)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(
      'kyvos-dr-replica-connection-string (app setting KYVOS_DR_REPLICA_CONNECTION_STRING) is invalid: still holds an unresolved Key Vault reference',
    );
    expect(message).toContain('"Key Vault Secrets User" role');
    expect(message).toContain('reference syntax');
    expect(message).not.toContain('kv-kyvos.vault.azure.net/secrets');
  });

  it('an unresolved or malformed KYVOS_DR_KEY_VAULT_URL is a ConfigError naming the setting', () => {
    const never = () => {
      throw new Error('no client should be built');
    };
    expect(() =>
      configSourceFromSettings(
        { KYVOS_DR_KEY_VAULT_URL: '@Microsoft.KeyVault(VaultName=kv;SecretName=url)' },
        never,
      ),
    ).toThrow(/^App setting KYVOS_DR_KEY_VAULT_URL still holds an unresolved Key Vault reference/);
    expect(() => configSourceFromSettings({ KYVOS_DR_KEY_VAULT_URL: 'kv-kyvos' }, never)).toThrow(
      'App setting KYVOS_DR_KEY_VAULT_URL is not a URL; expected https://<vault-name>.vault.azure.net',
    );
    expect(configSourceFromSettings({}, never).kind).toBe('app-settings');
  });

  it('an invalid cache setting or a missing app storage account is a ConfigError naming the setting', async () => {
    const deps = createDeps({ ...validSettings(), KYVOS_DR_CONFIG_CACHE_SECONDS: 'five' });
    await expect(deps.config()).rejects.toThrow(
      'App setting KYVOS_DR_CONFIG_CACHE_SECONDS must be a whole number of seconds (0 disables the cache)',
    );
    expect(() => deps.appStorageAccount).toThrow(/^App setting KYVOS_DR_APP_STORAGE_ACCOUNT is not set/);
  });
});
