import type { ClientFactory } from '../clients/ClientFactory.js';
import { ConfigError } from '../errors.js';
import {
  type AppSettings,
  appSettingsSource,
  type ConfigSource,
  keyVaultSource,
  readSecretWithFallback,
  unresolvedReferenceReason,
} from './ConfigSource.js';
import type { DrConfig, Sensitive } from './DrConfig.js';
import { appSettingName, CONFIG_SECRETS } from './secretNames.js';

/** What can be said about a SAS without showing it: when it expires, or the policy that decides. */
export interface SasInfo {
  /** The `se` parameter. */
  expiresOn?: Date;
  /** The `si` parameter: a stored access policy on the container, which holds the expiry instead. */
  storedAccessPolicy?: string;
  /** The `sp` parameter, e.g. `rl`. */
  permissions?: string;
}

/**
 * Reads the parts of a SAS that are not secret. Accepts the query string with or without `?`, or a
 * whole URL. A problem never quotes the SAS.
 */
export function parseSas(sas: Sensitive): SasInfo | { problem: string } {
  const params = new URLSearchParams(sasQueryString(sas));
  if (!params.get('sig')) return { problem: 'is not a SAS token: it has no signature (sig)' };
  const info: SasInfo = {};
  const permissions = params.get('sp');
  if (permissions) info.permissions = permissions;
  const storedAccessPolicy = params.get('si');
  if (storedAccessPolicy) info.storedAccessPolicy = storedAccessPolicy;
  const se = params.get('se');
  if (se) {
    const expiresOn = new Date(se);
    if (Number.isNaN(expiresOn.getTime())) {
      return { problem: 'has an expiry (se) that is not an ISO 8601 date, e.g. 2026-01-15T13:50:42Z' };
    }
    info.expiresOn = expiresOn;
  } else if (!storedAccessPolicy) {
    return { problem: 'has neither an expiry (se) nor a stored access policy (si)' };
  }
  return info;
}

/** `expires on 2026-01-15T13:50:42.000Z (in 12.3 days)`, `expired on …`, or the stored policy. */
export function describeSasExpiry(info: SasInfo, now: Date): string {
  if (!info.expiresOn) return `its expiry is set by the stored access policy "${info.storedAccessPolicy}"`;
  const days = (info.expiresOn.getTime() - now.getTime()) / 86_400_000;
  const when = info.expiresOn.toISOString();
  return days >= 0 ? `expires on ${when} (in ${days.toFixed(1)} days)` : `expired on ${when}`;
}

/**
 * Reads the source SAS (the read-only SAS for the RA-GRS secondary endpoint) from the secret named by
 * `kyvos-dr-source-sas-secret-name`, through the same source as the rest of the configuration: the
 * configured Key Vault, or without one the app setting twin of that name (`kyvos-dr-source-sas` →
 * `KYVOS_DR_SOURCE_SAS`). While the vault cannot be reached, that app setting stands in for it (a
 * break-glass copy of the SAS; a secret missing from a reachable vault stays an error), and so it
 * does for a configuration that was itself read from the app settings for that reason. Returns
 * undefined when no SAS is configured; throws `ConfigError` naming the secret when it is missing,
 * unreadable or an unresolved reference.
 */
export async function readSourceSas(
  config: DrConfig,
  deps: { settings: AppSettings; clients: ClientFactory },
  options: { abortSignal?: AbortSignal } = {},
): Promise<Sensitive | undefined> {
  const secretName = config.sourceSasSecretName;
  if (!secretName) return undefined;
  const appSettings = appSettingsSource(deps.settings);
  // A configuration read from the app settings because the vault was unreachable takes its SAS from
  // there too, without waiting on the vault again for each copy partition.
  const source: ConfigSource =
    config.keyVault && config.origin?.kind !== 'app-settings-fallback'
      ? keyVaultSource(
          deps.clients.secrets(config.keyVault.url),
          config.keyVault.url,
          config.keyVault.name,
          appSettings,
        )
      : appSettings;
  const { read, from, unreachable } = await readSecretWithFallback(source, secretName, options);
  const what = `The source SAS secret "${secretName}" (named by ${CONFIG_SECRETS.sourceSasSecretName})`;
  switch (read.kind) {
    case 'value':
      return read.value;
    case 'missing':
      throw new ConfigError(
        unreachable
          ? `${what} could not be read: ${unreachable}, and its break-glass app setting ${appSettingName(secretName)} is not set`
          : `${what} is not in ${from.description}: store the SAS there, or clear the name`,
        secretName,
      );
    case 'unresolved-reference':
      throw new ConfigError(`${what} ${unresolvedReferenceReason()}`, secretName);
    case 'unreadable':
    case 'unreachable':
      throw new ConfigError(`${what} could not be read: ${read.reason}`, secretName);
  }
}

/** The SAS as a query string without `?`, whether it was stored as `?sv=…`, `sv=…` or a whole URL. */
export function sasQueryString(sas: Sensitive): string {
  const text = sas.reveal().trim();
  return text.includes('://') ? text.slice(text.indexOf('?') + 1) : text.replace(/^\?/, '');
}
