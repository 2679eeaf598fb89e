import type { DrConfig } from '../config/DrConfig.js';
import { ACTIVE_SECRETS, APP_SETTINGS, CONFIG_SECRETS } from '../config/secretNames.js';
import { readSoftDeletedStates, type SoftDeletedState } from '../config/softDeletedSecrets.js';
import {
  fallbackState,
  keyVaultFailsOverAcrossRegions,
  readKeyVaultLocation,
} from '../health/keyVaultHealth.js';
import { describeError } from '../redact.js';
import type { DoctorCheck, DoctorFinding } from './doctorCheck.js';

type Vault = NonNullable<DrConfig['keyVault']>;

/** The ARM id of the configuration's vault (it sits in the primary resource group). */
function vaultId(config: Pick<DrConfig, 'subscriptionId' | 'primary'>, vault: Vault): string {
  return `/subscriptions/${config.subscriptionId}/resourceGroups/${config.primary.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vault.name}`;
}

/**
 * What lets the app read deleted secrets: with Azure RBAC, "Key Vault Secrets User" on the vault (its
 * data actions getSecret/action and readMetadata/action; infra/rbac-primary.json assigns it, or Key
 * Vault Secrets Officer, on the vault in every `vaultWriteScope`); with access policies, secret get
 * (Get Deleted Secret "requires the secrets/get permission", which infra's policy grants).
 */
function readDeletedGrant(config: Pick<DrConfig, 'subscriptionId' | 'primary'>, vault: Vault): string {
  return `Give the app's identity "Key Vault Secrets User" on the vault: az role assignment create --assignee <app identity principal id> --role "Key Vault Secrets User" --scope ${vaultId(config, vault)} (for a vault with access policies: az keyvault set-policy --name ${vault.name} --object-id <app identity principal id> --secret-permissions get set).`;
}

/** The names the record step writes: a soft-deleted one fails the run after the promote. */
const RECORDED_NAMES: readonly string[] = Object.values(ACTIVE_SECRETS);

/** The configuration names the app reads (the source SAS's secret among them, when one is named). */
function configurationNames(config: Pick<DrConfig, 'sourceSasSecretName'>): string[] {
  const names = new Set<string>(Object.values(CONFIG_SECRETS));
  if (config.sourceSasSecretName) names.add(config.sourceSasSecretName);
  return [...names];
}

/**
 * Findings from the soft-deleted states of the recorded names (one each) and of the configuration
 * names (one for each soft-deleted one, and one for the rest):
 * - a recorded name soft-deleted fails: the record step's SetSecret would answer 409 after the
 *   promote;
 * - the source SAS's secret soft-deleted fails when the copy reads with a stored SAS: it has none;
 * - another configuration name soft-deleted warns: its value is gone, the default applies, and the
 *   name cannot be set again until it is recovered or purged;
 * - a name that cannot be checked is `unknown`, naming the grant that lets the app check it.
 */
export function softDeletedFindings(
  states: readonly SoftDeletedState[],
  config: Pick<DrConfig, 'subscriptionId' | 'primary' | 'sourceAuth' | 'sourceSasSecretName'>,
  vault: Vault,
): DoctorFinding[] {
  const recover = (name: string) =>
    `Recover it: az keyvault secret recover --vault-name ${vault.name} --name ${name}; or, when its old value must not come back, purge it (not possible while purge protection holds it): az keyvault secret purge --vault-name ${vault.name} --name ${name}.`;
  const findings: DoctorFinding[] = [];
  const unchecked: SoftDeletedState[] = [];
  let configurationDeleted = false;
  for (const state of states) {
    const id = `keyVault.notSoftDeleted.${state.name}`;
    const recorded = RECORDED_NAMES.includes(state.name);
    if (state.state === 'deleted') {
      const sas = state.name === config.sourceSasSecretName && config.sourceAuth === 'stored-sas';
      if (!recorded) configurationDeleted = true;
      const why = recorded
        ? 'the record step could not write it after the promote (SetSecret answers 409 ObjectIsDeletedButRecoverable), and the run would fail with the new names half-written'
        : sas
          ? 'the copy reads its source with the SAS in it, and there is none'
          : 'its value is gone, so the default applies, and the name cannot be set again until it is recovered or purged';
      findings.push({
        area: 'keyVault',
        id,
        outcome: recorded || sas ? 'fail' : 'warn',
        detail: `The secret "${state.name}" in Key Vault ${vault.name} is deleted but recoverable (soft-delete): ${why}.`,
        fix: recover(state.name),
      });
    } else if (!recorded) {
      if (state.state !== 'notDeleted') unchecked.push(state);
    } else if (state.state === 'notDeleted') {
      findings.push({
        area: 'keyVault',
        id,
        outcome: 'pass',
        detail: `The secret "${state.name}" in Key Vault ${vault.name}, which the record step writes, is not soft-deleted.`,
      });
    } else {
      findings.push(uncheckedFinding(id, [state], config, vault));
    }
  }
  if (unchecked.length > 0) {
    findings.push(uncheckedFinding('keyVault.notSoftDeleted.configuration', unchecked, config, vault));
  } else if (!configurationDeleted) {
    findings.push({
      area: 'keyVault',
      id: 'keyVault.notSoftDeleted.configuration',
      outcome: 'pass',
      detail: `No configuration name the app reads is soft-deleted in Key Vault ${vault.name}.`,
    });
  }
  return findings;
}

function uncheckedFinding(
  id: string,
  states: readonly SoftDeletedState[],
  config: Pick<DrConfig, 'subscriptionId' | 'primary'>,
  vault: Vault,
): DoctorFinding {
  const names = states.map((s) => s.name).join(', ');
  const forbidden = states.some((s) => s.state === 'forbidden');
  const first = states.find((s) => 'error' in s);
  const error = first && 'error' in first ? ` (${describeError(first.error)})` : '';
  return {
    area: 'keyVault',
    id,
    outcome: 'unknown',
    detail: forbidden
      ? `The app's identity may not read deleted secrets in Key Vault ${vault.name}${error}, so whether ${names} are soft-deleted cannot be checked.`
      : `Whether ${names} are soft-deleted in Key Vault ${vault.name} could not be checked${error}.`,
    fix: forbidden
      ? readDeletedGrant(config, vault)
      : `Check the vault's network access and availability; meanwhile: az keyvault secret list-deleted --vault-name ${vault.name}.`,
  };
}

/**
 * The vault's region against Key Vault's cross-region failover (`keyVaultFailsOverAcrossRegions`).
 * Where it fails over, the vault is read-only for minutes and then answers from the paired region.
 * Where it does not, the vault is down with its region: a failover must then be configured from the
 * app-settings fallback (`fail` while that lacks settings; `pass` once complete, as the storage health
 * check decides, saying that the record step's names are then set by hand).
 */
export function regionPairFinding(
  location: { region?: string; error?: string },
  missingFallback: readonly string[],
  vault: Vault,
): DoctorFinding {
  const id = 'keyVault.regionPair';
  if (!location.region) {
    return {
      area: 'keyVault',
      id,
      outcome: 'unknown',
      detail: location.error
        ? `The region of Key Vault ${vault.name} could not be read through ARM (${location.error}).`
        : `ARM reports no region for Key Vault ${vault.name}.`,
      fix: `Check the vault's region yourself: az keyvault show --name ${vault.name} --query location.`,
    };
  }
  const region = location.region;
  if (keyVaultFailsOverAcrossRegions(region)) {
    return {
      area: 'keyVault',
      id,
      outcome: 'pass',
      detail: `Key Vault ${vault.name} is in ${region}, which has a pair: Key Vault fails it over there (read-only meanwhile, for minutes).`,
    };
  }
  const down = `Key Vault ${vault.name} is in ${region}, where Key Vault does not fail over to another region: in an outage of the region the vault is down`;
  if (missingFallback.length > 0) {
    return {
      area: 'keyVault',
      id,
      outcome: 'fail',
      detail: `${down}, and the app-settings fallback lacks ${missingFallback.join(', ')}, so no failover could be configured.`,
      fix: `Set the app settings ${missingFallback.join(', ')} to the values of their secrets (docs/configuration.md, "When Key Vault cannot be reached"), or move the secrets to a vault in a region with a pair.`,
    };
  }
  // As the storage health check decides (keyVaultHealth.ts): a complete fallback is what this
  // region calls for, so it passes, and says what the day of an outage of the vault's region needs.
  return {
    area: 'keyVault',
    id,
    outcome: 'pass',
    detail: `${down}; the app-settings fallback is complete, so a failover runs from it, and the names of its record step (${RECORDED_NAMES.join(', ')}) are to be set by hand once the vault answers again.`,
  };
}

/** The record step's names are not soft-deleted, and the vault fails over to a paired region. */
export const keyVaultReadinessCheck: DoctorCheck = {
  area: 'keyVault',
  name: 'soft-deleted secret names and the vault region',
  timer: 'storage',
  async run(context) {
    const { config } = context;
    const vault = config.keyVault;
    if (!vault) {
      return [
        {
          area: 'keyVault',
          id: 'keyVault.configured',
          outcome: 'warn',
          detail: `No Key Vault is configured (${APP_SETTINGS.keyVaultUrl}): the record step writes the new names nowhere, and they must be set by hand after a failover.`,
          fix: `Set ${APP_SETTINGS.keyVaultUrl} to the Kyvos vault's URL (infra/function-app.json sets it from keyVaultName).`,
        },
      ];
    }
    const options = context.abortSignal ? { abortSignal: context.abortSignal } : {};
    const [states, location, fallback] = await Promise.all([
      readSoftDeletedStates(
        context.clients.secrets(vault.url),
        [...RECORDED_NAMES, ...configurationNames(config)],
        options,
      ),
      readKeyVaultLocation(config, context.clients, options).then(
        (region) => (region ? { region } : {}),
        (error: unknown) => ({ error: describeError(error) }),
      ),
      fallbackState(config, context.settings),
    ]);
    return [
      ...softDeletedFindings(states, config, vault),
      regionPairFinding(location, fallback.missing, vault),
    ];
  },
};
