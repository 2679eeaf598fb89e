import type { SecretClient } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import {
  appSettingsSource,
  describeConfigOrigin,
  keyVaultSource,
  selectReachableSource,
} from '../../../src/lib/config/ConfigSource.js';
import { ConfigProblems, loadConfig } from '../../../src/lib/config/loadConfig.js';
import { appSettingName, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { readSourceSas } from '../../../src/lib/source/sourceCredential.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const VAULT_URL = 'https://kv-kyvos.vault.azure.net';
const SAS = 'sv=2025-01-05&sp=rl&se=2027-01-01T00:00:00Z&sig=c2VjcmV0';

/** The configuration secrets of a complete pair, by secret name. */
const SECRETS: Record<string, string> = {
  [CONFIG_SECRETS.subscriptionId]: '6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a',
  [CONFIG_SECRETS.primaryResourceGroup]: 'rg-kyvos',
  [CONFIG_SECRETS.primaryRegion]: 'centralus',
  [CONFIG_SECRETS.drResourceGroup]: 'rg-kyvos-dr',
  [CONFIG_SECRETS.drRegion]: 'eastus2',
  [CONFIG_SECRETS.primaryStorageAccount]: 'kyvosprimdata',
  [CONFIG_SECRETS.primaryContainer]: 'kyvos',
  [CONFIG_SECRETS.engineWorkDirectory]: 'kyvos/engine_work',
  [CONFIG_SECRETS.drStorageAccount]: 'kyvosdrdata',
  [CONFIG_SECRETS.drContainer]: 'kyvos',
  [CONFIG_SECRETS.primaryPostgresServer]: 'pg-kyvos',
  [CONFIG_SECRETS.replicaPostgresServer]: 'pg-kyvos-dr',
  [CONFIG_SECRETS.sourceSasSecretName]: 'kyvos-dr-source-sas',
};

/** The same configuration as app settings (`KYVOS_DR_*`), with the break-glass copy of the SAS. */
const FALLBACK_SETTINGS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(SECRETS).map(([name, value]) => [appSettingName(name), value])),
  [CONFIG_SECRETS.drStorageAccount.toUpperCase().replaceAll('-', '_')]: 'kyvosdrfallback',
  KYVOS_DR_SOURCE_SAS: SAS,
};

type Answer = (name: string) => Promise<{ value?: string }>;

/** A SecretClient whose every read answers `answer`; `reads` counts the calls. */
function vault(answer: Answer, reads: string[] = []) {
  const client = {
    getSecret: async (name: string) => {
      reads.push(name);
      return answer(name);
    },
  } as unknown as SecretClient;
  return keyVaultSource(client, VAULT_URL, 'kv-kyvos', appSettingsSource(FALLBACK_SETTINGS));
}

const fails = (statusCode: number | undefined, code: string) => async () => {
  throw Object.assign(new Error(`${code}: injected`), { ...(statusCode ? { statusCode } : {}), code });
};
const networkDown = fails(undefined, 'ECONNRESET');
const serviceUnavailable = fails(503, 'ServiceUnavailable');
const forbidden = fails(403, 'Forbidden');
const fromVault: Answer = async (name) => {
  if (name in SECRETS) return { value: SECRETS[name] as string };
  throw Object.assign(new Error('SecretNotFound'), { statusCode: 404, code: 'SecretNotFound' });
};

describe('where the configuration comes from when Key Vault is configured', () => {
  it('reads every value from the app settings when the vault does not answer at all, and says why', async () => {
    const reads: string[] = [];
    const config = await loadConfig(vault(networkDown, reads));
    expect(config.dr.storageAccount).toBe('kyvosdrfallback');
    expect(config.origin?.kind).toBe('app-settings-fallback');
    expect(describeConfigOrigin(config)).toMatch(
      /^app settings \(KYVOS_DR_\*\), because Key Vault kv-kyvos .* could not be reached .*ECONNRESET/,
    );
    // The vault is still where the record step writes.
    expect(config.keyVault).toEqual({ url: VAULT_URL, name: 'kv-kyvos' });
    // One probe, not one failing read per secret.
    expect(reads).toEqual([CONFIG_SECRETS.subscriptionId]);
  });

  it('treats a vault that answers 5xx after retries as unreachable', async () => {
    const selected = await selectReachableSource(vault(serviceUnavailable), CONFIG_SECRETS.subscriptionId);
    expect(selected.source.kind).toBe('app-settings');
    expect(selected.origin.kind).toBe('app-settings-fallback');
  });

  it('keeps the vault when it throttles (429 after retries): a vault that answers is reachable', async () => {
    const selected = await selectReachableSource(
      vault(fails(429, 'Throttled')),
      CONFIG_SECRETS.subscriptionId,
    );
    expect(selected.source.kind).toBe('key-vault');
    expect(selected.origin).toEqual({ kind: 'key-vault' });
  });

  it('keeps the vault, and its values, when it answers', async () => {
    const config = await loadConfig(vault(fromVault));
    expect(config.dr.storageAccount).toBe('kyvosdrdata');
    expect(config.origin).toEqual({ kind: 'key-vault' });
    expect(describeConfigOrigin(config)).toBe('Key Vault kv-kyvos');
  });

  it('never uses an app setting for a secret missing from a vault that answers', async () => {
    const missingDrAccount: Answer = async (name) =>
      name === CONFIG_SECRETS.drStorageAccount ? fails(404, 'SecretNotFound')() : fromVault(name);
    const error = await loadConfig(vault(missingDrAccount)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigProblems);
    expect((error as ConfigProblems).problems.map((p) => [p.secretName, p.status])).toEqual([
      [CONFIG_SECRETS.drStorageAccount, 'missing'],
    ]);
    expect((error as Error).message).toContain('from Key Vault kv-kyvos');
  });

  it('never uses the app settings for a vault that refuses the app (403): that is for an operator to fix', async () => {
    const error = await loadConfig(vault(forbidden)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigProblems);
    expect((error as Error).message).toContain('Key Vault Secrets User');
    expect((error as Error).message).not.toContain('app settings, used because');
  });

  it('names the vault that could not be reached and every app setting the fallback lacks', async () => {
    const client = { getSecret: networkDown } as unknown as SecretClient;
    const incomplete = { ...FALLBACK_SETTINGS, KYVOS_DR_PRIMARY_STORAGE_ACCOUNT: undefined };
    const source = keyVaultSource(client, VAULT_URL, 'kv-kyvos', appSettingsSource(incomplete));
    const error = await loadConfig(source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigProblems);
    const message = (error as Error).message;
    expect(message).toContain('app settings, used because Key Vault kv-kyvos');
    expect(message).toContain('could not be reached');
    expect(message).toContain('KYVOS_DR_PRIMARY_STORAGE_ACCOUNT');
  });
});

describe('the source SAS while Key Vault cannot be reached', () => {
  const config = testConfig({
    sourceSasSecretName: 'kyvos-dr-source-sas',
    keyVault: { url: VAULT_URL, name: 'kv-kyvos' },
  });
  const clientsAnswering = (answer: Answer) =>
    ({ secrets: () => ({ getSecret: answer }) }) as unknown as ClientFactory;

  it('is read from its break-glass app setting when the vault does not answer', async () => {
    const sas = await readSourceSas(config, {
      settings: { KYVOS_DR_SOURCE_SAS: SAS },
      clients: clientsAnswering(networkDown),
    });
    expect(sas?.reveal()).toBe(SAS);
  });

  it('comes from the app settings, without asking the vault again, for a configuration read from them', async () => {
    const fromFallback = {
      ...config,
      origin: {
        kind: 'app-settings-fallback' as const,
        keyVaultUnreachable: 'Key Vault kv-kyvos could not be reached',
      },
    };
    const noVault = {
      secrets: () => {
        throw new Error('the vault was asked');
      },
    } as unknown as ClientFactory;
    const sas = await readSourceSas(fromFallback, {
      settings: { KYVOS_DR_SOURCE_SAS: SAS },
      clients: noVault,
    });
    expect(sas?.reveal()).toBe(SAS);
  });

  it('says so, naming the app setting, when that copy is not there', async () => {
    const error = await readSourceSas(config, { settings: {}, clients: clientsAnswering(networkDown) }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain('could not be reached');
    expect((error as Error).message).toContain('break-glass app setting KYVOS_DR_SOURCE_SAS');
  });

  it('stays an error when the secret is missing from a vault that answers, whatever the app settings hold', async () => {
    const error = await readSourceSas(config, {
      settings: { KYVOS_DR_SOURCE_SAS: SAS },
      clients: clientsAnswering(fails(404, 'SecretNotFound')),
    }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('is not in Key Vault kv-kyvos');
  });
});
