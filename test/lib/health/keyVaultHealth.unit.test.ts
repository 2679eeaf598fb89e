import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { appSettingName, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { ReportBuilder } from '../../../src/lib/health/HealthReport.js';
import { checkKeyVault, keyVaultFailsOverAcrossRegions } from '../../../src/lib/health/keyVaultHealth.js';
import { combineReadiness } from '../../../src/lib/health/readiness.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const VAULT = { url: 'https://kv-kyvos.vault.azure.net', name: 'kv-kyvos' };
const config = testConfig({ keyVault: VAULT, sourceSasSecretName: 'kyvos-dr-source-sas' });

/** Every app setting a break-glass configuration of `config` needs. */
const COMPLETE_FALLBACK: Record<string, string> = {
  [appSettingName(CONFIG_SECRETS.subscriptionId)]: config.subscriptionId,
  [appSettingName(CONFIG_SECRETS.primaryResourceGroup)]: 'rg-kyvos',
  [appSettingName(CONFIG_SECRETS.primaryRegion)]: 'centralus',
  [appSettingName(CONFIG_SECRETS.drResourceGroup)]: 'rg-kyvos-dr',
  [appSettingName(CONFIG_SECRETS.drRegion)]: 'eastus2',
  [appSettingName(CONFIG_SECRETS.primaryStorageAccount)]: 'kyvosprimdata',
  [appSettingName(CONFIG_SECRETS.primaryContainer)]: 'kyvoscontainer',
  [appSettingName(CONFIG_SECRETS.engineWorkDirectory)]: 'kyvos/engine_work',
  [appSettingName(CONFIG_SECRETS.drStorageAccount)]: 'kyvosdrdata',
  [appSettingName(CONFIG_SECRETS.drContainer)]: 'kyvoscontainer',
  [appSettingName(CONFIG_SECRETS.primaryPostgresServer)]: 'pg-kyvos',
  [appSettingName(CONFIG_SECRETS.replicaPostgresServer)]: 'pg-kyvos-dr',
  [appSettingName(CONFIG_SECRETS.sourceSasSecretName)]: 'kyvos-dr-source-sas',
  [appSettingName(CONFIG_SECRETS.alertFailoverPolicy)]: 'planned',
  KYVOS_DR_SOURCE_SAS: 'sv=2025-01-05&sp=rl&se=2027-01-01T00:00:00Z&sig=c2ln',
};

/** ARM answering Vaults_Get with `location`; `ids` records what was asked. */
function armWith(location: string | Error, ids: string[] = []): ClientFactory {
  return {
    armResources: () => ({
      get: async (id: string, apiVersion: string) => {
        ids.push(`${id}?api-version=${apiVersion}`);
        if (location instanceof Error) throw location;
        return { id, name: 'kv-kyvos', type: 'Microsoft.KeyVault/vaults', location };
      },
    }),
  } as unknown as ClientFactory;
}

describe('the regions where Key Vault does not fail over', () => {
  it('are those without a pair, and Brazil South, Brazil Southeast and West US 3', () => {
    for (const region of [
      'westus3',
      'West US 3',
      'brazilsouth',
      'brazilsoutheast',
      'italynorth',
      'mexicocentral',
    ]) {
      expect(keyVaultFailsOverAcrossRegions(region)).toBe(false);
    }
    for (const region of ['centralus', 'eastus2', 'West Europe']) {
      expect(keyVaultFailsOverAcrossRegions(region)).toBe(true);
    }
  });
});

describe("health: the configuration's vault", () => {
  it("reads the vault's region from ARM in the primary resource group", async () => {
    const ids: string[] = [];
    const report = new ReportBuilder();
    await checkKeyVault(config, report, { clients: armWith('centralus', ids), settings: {} });
    expect(ids).toEqual([
      `/subscriptions/${config.subscriptionId}/resourceGroups/rg-kyvos/providers/Microsoft.KeyVault/vaults/kv-kyvos?api-version=2023-07-01`,
    ]);
    expect(report.facts).toMatchObject({ keyVaultRegion: 'centralus', configSource: 'Key Vault kv-kyvos' });
    expect(report.status).toBe('Healthy');
  });

  it('warns, naming the app settings to set, when the vault is where Key Vault does not fail over and the fallback is not populated', async () => {
    const report = new ReportBuilder();
    const partial = { ...COMPLETE_FALLBACK, KYVOS_DR_SOURCE_SAS: '', KYVOS_DR_DR_REGION: '' };
    await checkKeyVault(config, report, { clients: armWith('westus3'), settings: partial });
    expect(report.status).toBe('Degraded');
    expect(report.facts).toMatchObject({ keyVaultFailover: 'none', appSettingsFallbackComplete: false });
    expect(report.reasons[0]).toContain('is in westus3, where Key Vault does not fail over');
    expect(report.reasons[0]).toContain('Keep the app-settings fallback populated');
    expect(report.reasons[0]).toContain('KYVOS_DR_DR_REGION');
    expect(report.reasons[0]).toContain('KYVOS_DR_SOURCE_SAS');
  });

  it('stays Healthy there once the fallback is complete, and says so', async () => {
    const report = new ReportBuilder();
    await checkKeyVault(config, report, { clients: armWith('brazilsouth'), settings: COMPLETE_FALLBACK });
    expect(report.status).toBe('Healthy');
    expect(report.facts).toMatchObject({ keyVaultFailover: 'none', appSettingsFallbackComplete: true });
  });

  it('is Degraded, naming the values, when a complete fallback differs from the vault', async () => {
    const stale = { ...COMPLETE_FALLBACK, [appSettingName(CONFIG_SECRETS.drStorageAccount)]: 'kyvosdrold' };
    const report = new ReportBuilder();
    await checkKeyVault(config, report, { clients: armWith('centralus'), settings: stale });
    expect(report.status).toBe('Degraded');
    expect(report.facts.appSettingsFallbackDrift).toBe('dr.storageAccount');
    expect(report.reasons[0]).toContain('differs from Key Vault kv-kyvos in dr.storageAccount');
    const same = new ReportBuilder();
    await checkKeyVault(config, same, { clients: armWith('centralus'), settings: COMPLETE_FALLBACK });
    expect(same.status).toBe('Healthy');
    expect(same.facts.appSettingsFallbackDrift).toBeNull();
  });

  it('records a region it cannot read as a fact, not a status', async () => {
    const report = new ReportBuilder();
    const forbidden = Object.assign(new Error('AuthorizationFailed'), { statusCode: 403 });
    await checkKeyVault(config, report, { clients: armWith(forbidden), settings: {} });
    expect(report.status).toBe('Healthy');
    expect(report.facts.keyVaultRegion).toBeNull();
    expect(String(report.facts.keyVaultRegionError)).toContain('403');
  });

  it('is Degraded, saying why, when the configuration came from the app settings because the vault was unreachable', async () => {
    const report = new ReportBuilder();
    const fallback = {
      ...config,
      origin: {
        kind: 'app-settings-fallback' as const,
        keyVaultUnreachable:
          'Key Vault kv-kyvos (https://kv-kyvos.vault.azure.net) could not be reached (ECONNRESET)',
      },
    };
    await checkKeyVault(fallback, report, { clients: armWith('centralus'), settings: {} });
    expect(report.status).toBe('Degraded');
    expect(String(report.facts.configSource)).toMatch(
      /^app settings \(KYVOS_DR_\*\), because Key Vault kv-kyvos/,
    );
    expect(report.reasons[0]).toContain('record step cannot write the new names');
  });
});

describe('readiness: the source credential and the configuration, first', () => {
  it('says which source credential the copy would use, whether it was proven, and where the configuration came from', () => {
    const report = new ReportBuilder();
    report.facts.sourceAuth = 'stored-sas';
    report.facts.sourceAccess = 'SAS from secret "kyvos-dr-source-sas"';
    report.facts.sourceAuthProven = true;
    report.facts.configSource = 'Key Vault kv-kyvos';
    const now = new Date('2026-12-01T10:00:00Z');
    const storage = {
      report: report.build('storage', 10, now),
      consecutiveNonHealthy: 0,
      nonHealthySince: null,
    };
    const readiness = combineReadiness(storage, undefined, { now });
    expect(readiness.sourceAccess).toEqual({
      auth: 'stored-sas',
      access: 'SAS from secret "kyvos-dr-source-sas"',
      proven: true,
    });
    expect(readiness.configuration).toBe('Key Vault kv-kyvos');
    expect(combineReadiness(undefined, undefined, { now }).sourceAccess).toEqual({
      auth: null,
      access: null,
      proven: null,
    });
  });
});
