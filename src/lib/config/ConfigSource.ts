import type { SecretClient } from '@azure/keyvault-secrets';
import type { ClientFactory } from '../clients/ClientFactory.js';
import { ConfigError, codeOf, statusOf } from '../errors.js';
import { describeError } from '../redact.js';
import { type ConfigOrigin, type DrConfig, Sensitive } from './DrConfig.js';
import { APP_SETTINGS, appSettingName } from './secretNames.js';

/** App settings as the Functions host gives them (`process.env`), or a test's own. */
export type AppSettings = Readonly<Record<string, string | undefined>>;

/** What reading one secret gave. The value stays wrapped: it may be a password or a SAS. */
export type SecretRead =
  | { kind: 'value'; value: Sensitive }
  | { kind: 'missing' }
  /** An app setting still holding `@Microsoft.KeyVault(...)`: App Service could not resolve it. */
  | { kind: 'unresolved-reference' }
  | { kind: 'unreadable'; reason: string }
  /**
   * The vault did not answer at all (a network error, a timeout, or a 5xx after the SDK's retries):
   * not a refusal and not a missing secret. Only this lets `selectReachableSource` use the fallback.
   */
  | { kind: 'unreachable'; reason: string };

/**
 * Where configuration secrets come from: Key Vault, or app settings (`KYVOS_DR_X_Y` for the secret
 * `kyvos-dr-x-y`) when no vault URL is set, as with `func start` and `local.settings.json`.
 */
export interface ConfigSource {
  readonly kind: 'key-vault' | 'app-settings';
  /** For messages: `Key Vault kv-kyvos (https://kv-kyvos.vault.azure.net)` or `app settings`. */
  readonly description: string;
  /** The vault, when the source is Key Vault. */
  readonly keyVault?: { url: string; name: string };
  /** Reads one secret by its Key Vault name. Use `readSecret`, which adds the checks every read needs. */
  readRaw(secretName: string, options?: { abortSignal?: AbortSignal }): Promise<SecretRead>;
  /**
   * Where the same values come from when this source cannot be reached: the `KYVOS_DR_*` app settings
   * of a Key Vault source. Used only for an unreachable vault, never for a missing or refused secret.
   */
  readonly fallback?: ConfigSource;
}

const KEY_VAULT_REFERENCE = '@Microsoft.KeyVault(';

/**
 * Reads one secret: the one function every configuration secret, and the source SAS, is read through.
 * Values are trimmed (a value set from a file often ends with a newline). A value that is still an
 * unresolved Key Vault reference is reported as such, whichever source it came from.
 */
export async function readSecret(
  source: ConfigSource,
  secretName: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<SecretRead> {
  const read = await source.readRaw(secretName, options);
  if (read.kind !== 'value') return read;
  const value = read.value.reveal().trim();
  if (value === '') return { kind: 'missing' };
  if (value.startsWith(KEY_VAULT_REFERENCE)) return { kind: 'unresolved-reference' };
  return { kind: 'value', value: new Sensitive(value) };
}

/**
 * Secrets from Key Vault, through the factory's `SecretClient` (the Function's managed identity); with
 * `fallback`, the app settings to use when the vault cannot be reached.
 */
export function keyVaultSource(
  client: SecretClient,
  vaultUrl: string,
  vaultName?: string,
  fallback?: ConfigSource,
): ConfigSource {
  const name = vaultName || keyVaultNameOf(vaultUrl);
  return {
    kind: 'key-vault',
    description: `Key Vault ${name} (${vaultUrl})`,
    keyVault: { url: vaultUrl, name },
    ...(fallback ? { fallback } : {}),
    async readRaw(secretName, options = {}) {
      try {
        const secret = await client.getSecret(secretName, { abortSignal: options.abortSignal });
        return secret.value === undefined
          ? { kind: 'missing' }
          : { kind: 'value', value: new Sensitive(secret.value) };
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return { kind: 'missing' };
        if (status === 401 || status === 403) {
          return {
            kind: 'unreadable',
            reason: `Key Vault refused to read it (${status} ${codeOf(error) ?? ''}): grant the Function's identity the "Key Vault Secrets User" role on the vault, and check that the secret is enabled`,
          };
        }
        const reason = `Key Vault did not answer: ${describeError(error)}`;
        if (isVaultUnreachable(error)) return { kind: 'unreachable', reason };
        return { kind: 'unreadable', reason };
      }
    },
  };
}

/**
 * A Key Vault call that got no answer at all (network error, DNS, timeout) or a 5xx after the SDK's
 * retries: the vault is unreachable. 429 and the other 4xx are answers: the vault is there, and the
 * problem (throttling, a role, a missing secret) is not one the app settings may paper over.
 */
export function isVaultUnreachable(error: unknown): boolean {
  const status = statusOf(error);
  return status === undefined || status >= 500;
}

/**
 * Where a configuration came from, for health and failover reports: `Key Vault kv-kyvos`, `app
 * settings`, or `app settings (KYVOS_DR_*), because Key Vault … could not be reached (…)`.
 */
export function describeConfigOrigin(config: Pick<DrConfig, 'origin' | 'keyVault'>): string {
  const origin =
    config.origin ?? (config.keyVault ? { kind: 'key-vault' as const } : { kind: 'app-settings' as const });
  if (origin.kind === 'app-settings-fallback') {
    return `app settings (KYVOS_DR_*), because ${origin.keyVaultUnreachable}`;
  }
  return origin.kind === 'key-vault' && config.keyVault
    ? `Key Vault ${config.keyVault.name}`
    : 'app settings';
}

/** Secrets from app settings: the secret `kyvos-dr-x-y` is the setting `KYVOS_DR_X_Y`. */
export function appSettingsSource(settings: AppSettings): ConfigSource {
  return {
    kind: 'app-settings',
    description: 'app settings',
    async readRaw(secretName) {
      const value = settings[appSettingName(secretName)];
      return value === undefined ? { kind: 'missing' } : { kind: 'value', value: new Sensitive(value) };
    },
  };
}

/**
 * The source the app settings select: Key Vault when `KYVOS_DR_KEY_VAULT_URL` is set, app settings
 * otherwise. Throws `ConfigError` when the vault URL itself is an unresolved reference or not a URL.
 */
export function configSourceFromSettings(settings: AppSettings, clients: () => ClientFactory): ConfigSource {
  const setting = APP_SETTINGS.keyVaultUrl;
  const vaultUrl = settings[setting]?.trim();
  if (!vaultUrl) return appSettingsSource(settings);
  if (vaultUrl.startsWith(KEY_VAULT_REFERENCE)) {
    throw new ConfigError(`App setting ${setting} ${unresolvedReferenceReason()}`, setting);
  }
  let url: URL;
  try {
    url = new URL(vaultUrl);
  } catch {
    throw new ConfigError(
      `App setting ${setting} is not a URL; expected https://<vault-name>.vault.azure.net`,
      setting,
    );
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError(
      `App setting ${setting} must be an https:// URL, e.g. https://<vault-name>.vault.azure.net`,
      setting,
    );
  }
  // The vault's name goes into the Kyvos deployment parameters; it is read off the URL unless given.
  // The app settings stand in for the vault only while it cannot be reached (selectReachableSource).
  return keyVaultSource(
    clients().secrets(vaultUrl),
    vaultUrl,
    settings[APP_SETTINGS.keyVaultName]?.trim(),
    appSettingsSource(settings),
  );
}

/** The source a configuration is read from, and why. */
export interface SelectedSource {
  source: ConfigSource;
  origin: ConfigOrigin;
}

/**
 * Decides where the configuration is read from this time. A source without a fallback is used as it
 * is. A Key Vault source is probed with one read (`kyvos-dr-subscription-id`): when the vault is
 * unreachable (`SecretRead` `unreachable`: no answer, or 5xx after retries), every value is read
 * from the app settings instead, and the origin says why. Whatever else the probe finds (a value, a
 * missing secret, a refusal) keeps the vault: a secret missing from a reachable vault stays an error,
 * and never silently becomes an app setting. The whole configuration comes from one source, never a
 * mix.
 */
export async function selectReachableSource(
  source: ConfigSource,
  probeSecretName: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<SelectedSource> {
  const direct: ConfigOrigin = source.kind === 'key-vault' ? { kind: 'key-vault' } : { kind: 'app-settings' };
  if (!source.fallback) return { source, origin: direct };
  const probe = await source.readRaw(probeSecretName, options);
  if (probe.kind !== 'unreachable') return { source, origin: direct };
  return {
    source: source.fallback,
    origin: {
      kind: 'app-settings-fallback',
      keyVaultUnreachable: `${source.description} could not be reached (${probe.reason})`,
    },
  };
}

/**
 * Reads one secret at its use (the source SAS), from the vault, or from its app setting while the
 * vault cannot be reached. Returns where it came from, for messages.
 */
export async function readSecretWithFallback(
  source: ConfigSource,
  secretName: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<{ read: SecretRead; from: ConfigSource; unreachable?: string }> {
  const read = await readSecret(source, secretName, options);
  if (read.kind !== 'unreachable' || !source.fallback) return { read, from: source };
  return {
    read: await readSecret(source.fallback, secretName, options),
    from: source.fallback,
    unreachable: `${source.description} could not be reached (${read.reason})`,
  };
}

/** Why an app setting can still hold `@Microsoft.KeyVault(...)`, and what to do. */
export function unresolvedReferenceReason(): string {
  return (
    'still holds an unresolved Key Vault reference "@Microsoft.KeyVault(...)": App Service could not resolve it. ' +
    'Usually the app\'s identity lacks the "Key Vault Secrets User" role on the vault, the vault firewall blocks the app, ' +
    'or the reference syntax is wrong (@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/) ' +
    'or @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>)); the portal shows the resolution status under Environment variables'
  );
}

/** `https://kv-kyvos.vault.azure.net/` → `kv-kyvos`; for other hosts (the local stack), the last path segment or the host. */
function keyVaultNameOf(vaultUrl: string): string {
  const url = new URL(vaultUrl);
  if (/\.vault\./.test(url.hostname)) return url.hostname.split('.')[0] ?? url.hostname;
  const segments = url.pathname.split('/').filter(Boolean);
  return segments.at(-1) ?? url.host;
}
