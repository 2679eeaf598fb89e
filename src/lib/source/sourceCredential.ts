import { ContainerSASPermissions, generateBlobSASQueryParameters, SASProtocol } from '@azure/storage-blob';
import type { ClientFactory } from '../clients/ClientFactory.js';
import {
  type AppSettings,
  appSettingsSource,
  type ConfigSource,
  keyVaultSource,
  readSecretWithFallback,
  unresolvedReferenceReason,
} from '../config/ConfigSource.js';
import { type DrConfig, Sensitive } from '../config/DrConfig.js';
import { appSettingName, CONFIG_SECRETS } from '../config/secretNames.js';
import { ConfigError } from '../errors.js';

/*
 * The credential the failover copy reads its source with: which one `kyvos-dr-source-auth` selects,
 * where the stored SAS comes from, how a user-delegation SAS is signed, and what can be said about a
 * SAS without showing it. A SAS only ever travels inside request URLs (`SourceAccess`).
 */

/** What can be said about a SAS without showing it: when it expires, or the policy that decides. */
export interface SasInfo {
  /** The `se` parameter. */
  expiresOn?: Date;
  /** The `si` parameter: a stored access policy on the container, which holds the expiry instead. */
  storedAccessPolicy?: string;
  /** The `sp` parameter, e.g. `rl`. */
  permissions?: string;
  /** The `sip` parameter: the IP address or range (`a-b`) requests must come from. */
  ipRange?: string;
  /** The `spr` parameter: `https` or `https,http`. */
  protocol?: string;
  /** The `ss` parameter of an account SAS: the services it covers (`b` is Blob). */
  services?: string;
  /** The `srt` parameter of an account SAS: the resource types (`s` service, `c` container, `o` object). */
  resourceTypes?: string;
  /** The `sr` parameter of a service SAS: `c` container, `b` blob, `d` directory. */
  resource?: string;
}

/** The parameters of a SAS that are not secret, with the field of `SasInfo` each fills. */
const SAS_FIELDS = {
  sp: 'permissions',
  si: 'storedAccessPolicy',
  sip: 'ipRange',
  spr: 'protocol',
  ss: 'services',
  srt: 'resourceTypes',
  sr: 'resource',
} as const satisfies Record<string, Exclude<keyof SasInfo, 'expiresOn'>>;

/**
 * Reads the parts of a SAS that are not secret. Accepts the query string with or without `?`, or a
 * whole URL. A problem never quotes the SAS.
 */
export function parseSas(sas: Sensitive): SasInfo | { problem: string } {
  const params = new URLSearchParams(sasQueryString(sas));
  if (!params.get('sig')) return { problem: 'is not a SAS token: it has no signature (sig)' };
  const info: SasInfo = {};
  for (const [param, field] of Object.entries(SAS_FIELDS)) {
    const value = params.get(param);
    if (value) info[field] = value;
  }
  const storedAccessPolicy = info.storedAccessPolicy;
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
 * How close a SAS is to its expiry: `expired` once `se` has passed, `expiring` within
 * `warningDays` of it, `valid` before; `policy` when a stored access policy holds the expiry.
 */
export type SasExpiryState = 'expired' | 'expiring' | 'valid' | 'policy';

export function sasExpiryState(
  info: SasInfo,
  now: Date,
  warningDays: number,
): { state: SasExpiryState; daysLeft?: number } {
  if (!info.expiresOn) return { state: 'policy' };
  const daysLeft = (info.expiresOn.getTime() - now.getTime()) / 86_400_000;
  const state = daysLeft < 0 ? 'expired' : daysLeft <= warningDays ? 'expiring' : 'valid';
  return { state, daysLeft };
}

/** The SAS as a query string without `?`, whether it was stored as `?sv=…`, `sv=…` or a whole URL. */
export function sasQueryString(sas: Sensitive): string {
  const text = sas.reveal().trim();
  return text.includes('://') ? text.slice(text.indexOf('?') + 1) : text.replace(/^\?/, '');
}

/**
 * The SAS as a query string without `?` (given as a query string, with or without `?`, or as a
 * whole URL). Refuses one without a signature, and one whose `se` (expiry) has passed, naming the
 * problem but never the value.
 */
export function normalizeSourceSas(sas: string | Sensitive, now: Date = new Date()): string {
  const trimmed = sasQueryString(sas instanceof Sensitive ? sas : new Sensitive(sas));
  const params = new URLSearchParams(trimmed);
  if (!params.get('sig')) {
    throw new ConfigError(
      'The source SAS has no signature (sig): store a SAS query string with read and list permissions for the primary account.',
    );
  }
  const expiry = params.get('se');
  if (expiry && !Number.isNaN(Date.parse(expiry)) && Date.parse(expiry) <= now.getTime()) {
    throw new ConfigError(
      `The source SAS expired at ${new Date(Date.parse(expiry)).toISOString()}: store a renewed read/list SAS in its secret (and in its break-glass app setting, if you keep one).`,
    );
  }
  return trimmed;
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

export interface UserDelegationSourceSasOptions {
  account: string;
  container: string;
  /** How long the SAS is valid. Default 24 hours; a user delegation key lives at most 7 days. */
  validityInMinutes?: number;
  /** Clock skew allowance for the start time. Default 5 minutes. */
  startSkewInMinutes?: number;
  now?: Date;
  abortSignal?: AbortSignal;
}

/**
 * A user-delegation SAS (container scope, read and list, HTTPS only) for the source, signed with a
 * user delegation key that the Function's identity obtains from the primary endpoint
 * (`Get User Delegation Key`). It needs the identity to hold a data role on the source account, and
 * the primary endpoint to answer: in a primary-region outage this path is unavailable.
 *
 * No Microsoft document says that the secondary endpoint accepts a user-delegation SAS, Storage
 * Explorer reports that it does not (https://github.com/microsoft/AzureStorageExplorer/issues/6076),
 * and Azurite answers 403 for one on `<account>-secondary`. It is used only when
 * `kyvos-dr-source-auth` is `user-delegation` (`SourceAccess.open`), and proven on the secondary
 * before anything irreversible.
 */
export async function createUserDelegationSourceSas(
  clients: ClientFactory,
  options: UserDelegationSourceSasOptions,
): Promise<string> {
  const now = options.now ?? new Date();
  const startsOn = new Date(now.getTime() - (options.startSkewInMinutes ?? 5) * 60_000);
  const expiresOn = new Date(now.getTime() + (options.validityInMinutes ?? 24 * 60) * 60_000);
  const key = await clients
    .blobService(options.account)
    .getUserDelegationKey(
      startsOn,
      expiresOn,
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
  return generateBlobSASQueryParameters(
    {
      containerName: options.container,
      // Execute (e) also reads the POSIX ACL of a path in a hierarchical namespace, which the copy of
      // access control needs ("Create a user delegation SAS", permissions:
      // https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas#specify-permissions).
      permissions: ContainerSASPermissions.parse('rle'),
      protocol: SASProtocol.Https,
      startsOn,
      expiresOn,
    },
    key,
    options.account,
  ).toString();
}

/** How the copy reads its source, as messages and reports name it. */
export function describeSourceAccess(config: Pick<DrConfig, 'sourceAuth' | 'sourceSasSecretName'>): string {
  if (config.sourceAuth === 'user-delegation') return 'user-delegation SAS';
  return config.sourceSasSecretName ? `SAS from secret "${config.sourceSasSecretName}"` : 'no stored SAS';
}

/** The secret name the docs and messages suggest for the source SAS. */
const SUGGESTED_SOURCE_SAS_SECRET = 'kyvos-dr-source-sas';

/**
 * No stored SAS while `kyvos-dr-source-auth` is `stored-sas`: the error names the fix, with the
 * commands that make a container SAS with read and list only and store it.
 */
export function missingSourceCredential(
  config: Pick<DrConfig, 'keyVault' | 'primary' | 'origin'>,
): ConfigError {
  const account = config.primary.storageAccount;
  const secret = SUGGESTED_SOURCE_SAS_SECRET;
  const store = config.keyVault
    ? `az keyvault secret set --vault-name ${config.keyVault.name} --name ${secret} --value "$SAS"; az keyvault secret set --vault-name ${config.keyVault.name} --name ${CONFIG_SECRETS.sourceSasSecretName} --value ${secret}`
    : `set the app settings ${appSettingName(secret)} to the SAS and ${appSettingName(CONFIG_SECRETS.sourceSasSecretName)} to ${secret}`;
  return new ConfigError(
    `No source credential is configured: the copy reads the RA-GRS secondary endpoint with a stored SAS (${CONFIG_SECRETS.sourceAuth} is stored-sas), and ${CONFIG_SECRETS.sourceSasSecretName} names no secret. Store an account or service SAS with read and list (sp=rl) on container "${config.primary.container}", e.g. SAS=$(az storage container generate-sas --account-name ${account} --name ${config.primary.container} --permissions rl --expiry <yyyy-mm-ddThh:mmZ> --https-only --auth-mode key --account-key <key of ${account}> --output tsv), then ${store}. A user-delegation SAS is used only with ${CONFIG_SECRETS.sourceAuth}=user-delegation, once you have proven that the secondary accepts one.`,
    CONFIG_SECRETS.sourceSasSecretName,
  );
}
