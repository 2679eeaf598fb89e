import type { ClientFactory } from '../clients/ClientFactory.js';
import type { AppSettings } from '../config/ConfigSource.js';
import type { DrConfig, Sensitive } from '../config/DrConfig.js';
import { appSettingName, CONFIG_SECRETS } from '../config/secretNames.js';
import { readSourceSas } from '../config/sourceSas.js';
import { ConfigError } from '../errors.js';
import { createUserDelegationSourceSas } from './sourceAccess.js';

/** The SAS the copy reads its source with, and how it was obtained (for messages; never the SAS). */
export interface SourceCredential {
  sas: string | Sensitive;
  /** `SAS from secret "kyvos-dr-source-sas"` or `user-delegation SAS`. */
  access: string;
}

export interface SourceCredentialDeps {
  config: DrConfig;
  clients: ClientFactory;
  settings: AppSettings;
  clock: () => Date;
  abortSignal?: AbortSignal;
}

/** How the copy reads its source, as messages and reports name it. */
export function describeSourceAccess(config: Pick<DrConfig, 'sourceAuth' | 'sourceSasSecretName'>): string {
  if (config.sourceAuth === 'user-delegation') return 'user-delegation SAS';
  return config.sourceSasSecretName ? `SAS from secret "${config.sourceSasSecretName}"` : 'no stored SAS';
}

/**
 * The credential the copy uses, as `kyvos-dr-source-auth` decides:
 *
 * - `stored-sas` (default): the SAS in the secret named by `kyvos-dr-source-sas-secret-name`, read at
 *   each use. Without that name there is no credential, and this throws `missingSourceCredential`:
 *   the copy never falls back to a user-delegation SAS on its own, since no Microsoft document says the
 *   secondary accepts one (and Storage Explorer reports that it does not,
 *   https://github.com/microsoft/AzureStorageExplorer/issues/6076).
 * - `user-delegation`: a SAS signed with a user delegation key from the primary endpoint
 *   (`createUserDelegationSourceSas`), for an operator who proved that the secondary accepts it.
 *   Preflight proves it again with this very credential before anything irreversible.
 */
export async function sourceCredentialFor(deps: SourceCredentialDeps): Promise<SourceCredential> {
  const { config } = deps;
  const access = describeSourceAccess(config);
  if (config.sourceAuth === 'user-delegation') {
    const sas = await createUserDelegationSourceSas(deps.clients, {
      account: config.primary.storageAccount,
      container: config.primary.container,
      now: deps.clock(),
      ...(deps.abortSignal ? { abortSignal: deps.abortSignal } : {}),
    });
    return { sas, access };
  }
  const stored = await readSourceSas(
    config,
    { settings: deps.settings, clients: deps.clients },
    deps.abortSignal ? { abortSignal: deps.abortSignal } : {},
  );
  if (!stored) throw missingSourceCredential(config);
  return { sas: stored, access };
}

/** The secret name the docs and messages suggest for the source SAS. */
export const SUGGESTED_SOURCE_SAS_SECRET = 'kyvos-dr-source-sas';

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
