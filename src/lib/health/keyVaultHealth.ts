import type { ClientFactory } from '../clients/ClientFactory.js';
import { type AppSettings, appSettingsSource, describeConfigOrigin } from '../config/ConfigSource.js';
import type { DrConfig } from '../config/DrConfig.js';
import { ConfigProblems, loadConfig } from '../config/loadConfig.js';
import { appSettingName } from '../config/secretNames.js';
import { errorSummary } from './errorSummary.js';
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
export const KEY_VAULT_NO_FAILOVER_REGIONS: readonly string[] = [
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
  const id = `/subscriptions/${config.subscriptionId}/resourceGroups/${config.primary.resourceGroup}/providers/Microsoft.KeyVault/vaults/${config.keyVault.name}`;
  const vault = (await clients.armResources().get(id, KEY_VAULT_ARM_API_VERSION, options)) as
    | { location?: string }
    | undefined;
  return vault?.location;
}

/**
 * The names of the app settings a break-glass configuration still lacks: those of required secrets,
 * and the copy of the source SAS when the copy reads with a stored one. Empty when the app settings
 * alone would configure a failover.
 */
export async function missingFallbackSettings(config: DrConfig, settings: AppSettings): Promise<string[]> {
  const missing: string[] = [];
  try {
    await loadConfig(appSettingsSource(settings));
  } catch (error) {
    if (!(error instanceof ConfigProblems)) throw error;
    missing.push(...error.problems.map((p) => p.appSetting));
  }
  if (config.sourceAuth === 'stored-sas' && config.sourceSasSecretName) {
    const sasSetting = appSettingName(config.sourceSasSecretName);
    if (!settings[sasSetting]?.trim()) missing.push(sasSetting);
  }
  return missing;
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
  let location: string | undefined;
  try {
    location = await readKeyVaultLocation(
      config,
      deps.clients,
      deps.abortSignal ? { abortSignal: deps.abortSignal } : {},
    );
  } catch (error) {
    report.facts.keyVaultRegion = null;
    report.facts.keyVaultRegionError = errorSummary(error);
    return;
  }
  report.facts.keyVaultRegion = location ?? null;
  if (!location) return;
  if (keyVaultFailsOverAcrossRegions(location)) {
    report.facts.keyVaultFailover = 'to its paired region (read-only meanwhile, minutes)';
    return;
  }
  report.facts.keyVaultFailover = 'none';
  const missing = await missingFallbackSettings(config, deps.settings);
  report.facts.appSettingsFallbackComplete = missing.length === 0;
  if (missing.length > 0) {
    report.note(
      'Degraded',
      `Key Vault ${config.keyVault.name} is in ${location}, where Key Vault does not fail over to another region: if the region goes down, so does the vault and the configuration in it. Keep the app-settings fallback populated, so that a failover can be configured without the vault: set ${missing.join(', ')} to the values of their secrets (see docs/configuration.md, "When Key Vault cannot be reached").`,
    );
  }
}
