import type { SecretClient } from '@azure/keyvault-secrets';
import type { ClientFactory } from '../clients/ClientFactory.js';
import { ConfigError, codeOf, statusOf } from '../errors.js';
import { describeError } from '../redact.js';
import { Sensitive } from './DrConfig.js';
import { APP_SETTINGS, appSettingName } from './secretNames.js';

/** App settings as the Functions host gives them (`process.env`), or a test's own. */
export type AppSettings = Readonly<Record<string, string | undefined>>;

/** What reading one secret gave. The value stays wrapped: it may be a password or a SAS. */
export type SecretRead =
  | { kind: 'value'; value: Sensitive }
  | { kind: 'missing' }
  /** An app setting still holding `@Microsoft.KeyVault(...)`: App Service could not resolve it. */
  | { kind: 'unresolved-reference' }
  | { kind: 'unreadable'; reason: string };

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

/** Secrets from Key Vault, through the factory's `SecretClient` (the Function's managed identity). */
export function keyVaultSource(client: SecretClient, vaultUrl: string, vaultName?: string): ConfigSource {
  const name = vaultName || keyVaultNameOf(vaultUrl);
  return {
    kind: 'key-vault',
    description: `Key Vault ${name} (${vaultUrl})`,
    keyVault: { url: vaultUrl, name },
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
        return { kind: 'unreadable', reason: `Key Vault did not answer: ${describeError(error)}` };
      }
    },
  };
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
  return keyVaultSource(clients().secrets(vaultUrl), vaultUrl, settings[APP_SETTINGS.keyVaultName]?.trim());
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
