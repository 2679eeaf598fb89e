import type { ClientFactory } from '../clients/ClientFactory.js';
import { type AppSettings, appSettingsSource, describeConfigOrigin } from '../config/ConfigSource.js';
import type { DrConfig } from '../config/DrConfig.js';
import { ConfigProblems, loadConfig } from '../config/loadConfig.js';
import { appSettingName } from '../config/secretNames.js';
import { describeError } from '../redact.js';
import type { ReportBuilder } from './HealthReport.js';

/**
 * Regions where Key Vault keeps a vault's data in the region only and never fails it over to another
 * region: every region without a pair, and Brazil South, Brazil Southeast and West US 3 ("Azure Key
 * Vault availability and redundancy", https://learn.microsoft.com/azure/key-vault/general/disaster-recovery-guidance,
 * "Cross-region failover is not supported in the following regions"). Regions without a pair are
 * those whose "Paired region" is N/A in "Azure regions list"
 * (https://learn.microsoft.com/azure/reliability/regions-list, MicrosoftDocs/reliability-docs
 * articles/reliability/regions-list.md, 09/23/2025). A vault there is down for as long as its region.
 */
const KEY_VAULT_NO_FAILOVER_REGIONS: readonly string[] = [
  'austriaeast',
  'belgiumcentral',
  'brazilsouth',
  'brazilsoutheast',
  'chilecentral',
  'denmarkeast',
  'indonesiacentral',
  'israelcentral',
  'italynorth',
  'malaysiawest',
  'mexicocentral',
  'newzealandnorth',
  'polandcentral',
  'qatarcentral',
  'spaincentral',
  'westus3',
];

/** The Key Vault management API version of Vaults_Get (azure-rest-api-specs, Microsoft.KeyVault stable 2023-07-01). */
export const KEY_VAULT_ARM_API_VERSION = '2023-07-01';

/** `Display Name` or `displayname` → `displayname`, as ARM's `location` may come either way. */
function regionKey(location: string): string {
  return location.toLowerCase().replace(/\s+/g, '');
}

export function keyVaultFailsOverAcrossRegions(location: string): boolean {
  return !KEY_VAULT_NO_FAILOVER_REGIONS.includes(regionKey(location));
}

/** The ARM id of the Kyvos vault, which sits in the primary resource group (`infra/function-app.json`, `keyVaultName`). */
export function keyVaultResourceId(
  config: Pick<DrConfig, 'subscriptionId' | 'primary'>,
  vaultName: string,
): string {
  return `/subscriptions/${config.subscriptionId}/resourceGroups/${config.primary.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vaultName}`;
}

/**
 * The vault's region from ARM (Vaults_Get). The Kyvos vault sits in the primary resource group
 * (`infra/function-app.json`, `keyVaultName`). Needs `Microsoft.KeyVault/vaults/read` on the vault.
 */
export async function readKeyVaultLocation(
  config: Pick<DrConfig, 'subscriptionId' | 'primary' | 'keyVault'>,
  clients: Pick<ClientFactory, 'armResources'>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<string | undefined> {
  if (!config.keyVault) return undefined;
  const id = keyVaultResourceId(config, config.keyVault.name);
  const vault = (await clients.armResources().get(id, KEY_VAULT_ARM_API_VERSION, options)) as
    | { location?: string }
    | undefined;
  return vault?.location;
}

/** The break-glass configuration the app settings hold now, or the app settings it still lacks. */
export interface FallbackState {
  /** The configuration the app settings alone give, when they give one. */
  config?: DrConfig;
  /** App settings still missing: of required secrets, and the copy of the stored source SAS. */
  missing: string[];
}

/**
 * What the app settings alone would configure: the names of the settings a break-glass configuration
 * still lacks (those of required secrets, and the copy of the source SAS when the copy reads with a
 * stored one), and the configuration when they lack none of the required ones.
 */
export async function fallbackState(config: DrConfig, settings: AppSettings): Promise<FallbackState> {
  const state: FallbackState = { missing: [] };
  try {
    state.config = await loadConfig(appSettingsSource(settings));
  } catch (error) {
    if (!(error instanceof ConfigProblems)) throw error;
    state.missing.push(...error.problems.map((p) => p.appSetting));
  }
  if (config.sourceAuth === 'stored-sas' && config.sourceSasSecretName) {
    const sasSetting = appSettingName(config.sourceSasSecretName);
    if (!settings[sasSetting]?.trim()) state.missing.push(sasSetting);
  }
  return state;
}

/**
 * Where a complete app-settings fallback disagrees with the vault's configuration: the `DrConfig`
 * paths (`dr.storageAccount`) whose values differ. Connection strings and where each came from are
 * not compared. A failover configured from a stale fallback would act on other resources.
 */
function fallbackDrift(vault: DrConfig, fallback: DrConfig): string[] {
  const comparable = (c: DrConfig): Record<string, unknown> => {
    const { keyVault: _vault, origin: _origin, primary, dr, ...rest } = c;
    const { postgresConnection: _p, ...primaryNames } = primary;
    const { replicaConnection: _r, ...drNames } = dr;
    return { ...rest, primary: primaryNames, dr: drNames };
  };
  const differing: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const key of keys) {
        walk(
          (a as Record<string, unknown>)[key],
          (b as Record<string, unknown>)[key],
          path ? `${path}.${key}` : key,
        );
      }
    } else if (JSON.stringify(a) !== JSON.stringify(b)) differing.push(path);
  };
  walk(comparable(vault), comparable(fallback), '');
  return differing;
}

export interface KeyVaultCheckDeps {
  clients: ClientFactory;
  settings: AppSettings;
  abortSignal?: AbortSignal;
}

/**
 * What the storage report says about the configuration's vault:
 *
 * - `facts.configSource`: where this configuration came from. Read from the app settings because the
 *   vault could not be reached: Degraded, since a failover could run but its record step could not
 *   write the new names until the vault answers again.
 * - `facts.appSettingsFallbackDrift`: a complete fallback that disagrees with the vault (Degraded,
 *   naming the values), since a failover while the vault is down would act on the stale ones.
 * - `facts.keyVaultRegion` and `facts.keyVaultFailover`: the vault's region (ARM) and whether Key
 *   Vault fails it over to another region. Where it does not, the vault is down as long as its region,
 *   and only the app-settings fallback configures a failover: Degraded while that fallback lacks
 *   settings (named), with what to do. A region that cannot be read is a fact, not a status.
 */
export async function checkKeyVault(
  config: DrConfig,
  report: ReportBuilder,
  deps: KeyVaultCheckDeps,
): Promise<void> {
  report.facts.configSource = describeConfigOrigin(config);
  if (config.origin?.kind === 'app-settings-fallback') {
    report.note(
      'Degraded',
      `The configuration came from the app settings (KYVOS_DR_*) because ${config.origin.keyVaultUnreachable}. A failover can run from them, but its record step cannot write the new names to the vault until it answers again; check the vault's network access and the Azure status of its region.`,
    );
  }
  if (!config.keyVault) return;
  const fallback = await fallbackState(config, deps.settings);
  if (config.origin?.kind !== 'app-settings-fallback' && fallback.config) {
    const drift = fallbackDrift(config, fallback.config);
    report.facts.appSettingsFallbackDrift = drift.length > 0 ? drift.join(', ') : null;
    if (drift.length > 0) {
      report.note(
        'Degraded',
        `The app-settings fallback (KYVOS_DR_*) differs from Key Vault ${config.keyVault.name} in ${drift.join(', ')}: while the vault cannot be reached, a failover would be configured from those stale values. Copy the secrets into the app settings again (docs/configuration.md, "When Key Vault cannot be reached").`,
      );
    }
  }
  let location: string | undefined;
  try {
    location = await readKeyVaultLocation(
      config,
      deps.clients,
      deps.abortSignal ? { abortSignal: deps.abortSignal } : {},
    );
  } catch (error) {
    report.facts.keyVaultRegion = null;
    report.facts.keyVaultRegionError = describeError(error);
    return;
  }
  report.facts.keyVaultRegion = location ?? null;
  if (!location) return;
  if (keyVaultFailsOverAcrossRegions(location)) {
    report.facts.keyVaultFailover = 'to its paired region (read-only meanwhile, minutes)';
    return;
  }
  report.facts.keyVaultFailover = 'none';
  const { missing } = fallback;
  report.facts.appSettingsFallbackComplete = missing.length === 0;
  if (missing.length > 0) {
    report.note(
      'Degraded',
      `Key Vault ${config.keyVault.name} is in ${location}, where Key Vault does not fail over to another region: if the region goes down, so does the vault and the configuration in it. Keep the app-settings fallback populated, so that a failover can be configured without the vault: set ${missing.join(', ')} to the values of their secrets (see docs/configuration.md, "When Key Vault cannot be reached").`,
    );
  }
}
