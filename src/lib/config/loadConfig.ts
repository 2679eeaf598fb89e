import pLimit from 'p-limit';
import { ConfigError } from '../errors.js';
import { describeSasExpiry, parseSas } from '../source/sourceCredential.js';
import {
  type ConfigSource,
  readSecret,
  type SecretRead,
  selectReachableSource,
  unresolvedReferenceReason,
} from './ConfigSource.js';
import type { ConfigOrigin, DrConfig } from './DrConfig.js';
import type { Rule } from './rules.js';
import * as rules from './rules.js';
import { appSettingName, CONFIG_SECRETS, type ConfigKey } from './secretNames.js';

/** One secret's row in the configuration table. */
interface FieldSpec<T> {
  rule: Rule<T>;
  required: boolean;
  /** Used when an optional secret is not set. */
  default: T;
  /** How the default reads in a finding. */
  defaultText?: string;
}

const required = <T>(rule: Rule<T>): FieldSpec<T> => ({ rule, required: true, default: undefined as T });
const optional = <T>(rule: Rule<T>): FieldSpec<T | undefined> => ({
  rule,
  required: false,
  default: undefined,
});
const withDefault = <T>(rule: Rule<T>, value: T, defaultText = String(value)): FieldSpec<T> => ({
  rule,
  required: false,
  default: value,
  defaultText,
});

const MIB = 1024 * 1024;

/**
 * The configuration table: each Key Vault secret (`CONFIG_SECRETS`), the rule its value is checked
 * against, and its default when optional.
 *
 * | secret (app setting twin `KYVOS_DR_…`)  | field                                   | rule / default |
 * |-----------------------------------------|-----------------------------------------|----------------|
 * | kyvos-dr-subscription-id                | subscriptionId                          | GUID |
 * | kyvos-dr-primary-resource-group         | primary.resourceGroup                   | resource group name |
 * | kyvos-dr-primary-region                 | primary.region                          | region, e.g. centralus |
 * | kyvos-dr-dr-resource-group              | dr.resourceGroup                        | resource group name |
 * | kyvos-dr-dr-region                      | dr.region                               | region, differs from the primary |
 * | kyvos-dr-primary-storage-account        | primary.storageAccount                  | storage account name |
 * | kyvos-dr-primary-container              | primary.container                       | container name |
 * | kyvos-dr-engine-work-dir                | engineWorkDirectory                     | path prefix (the Kyvos EngineWorkDirectory parameter) |
 * | kyvos-dr-copy-prefix                    | copyPrefix                              | path prefix; unset or `/` = whole container (default) |
 * | kyvos-dr-copy-acls                      | copyAccessControl                       | auto (default) / on / off |
 * | kyvos-dr-dr-storage-account             | dr.storageAccount                       | storage account name, differs from the primary |
 * | kyvos-dr-dr-container                   | dr.container                            | container name |
 * | kyvos-dr-dr-storage-sku                 | dr.storageSku                           | Standard_LRS (default), _ZRS, _GRS, _RAGRS, _GZRS, _RAGZRS |
 * | kyvos-dr-primary-pg-server              | primary.postgresServer                  | flexible server name |
 * | kyvos-dr-replica-pg-server              | dr.replicaServer                        | flexible server name, differs from the primary |
 * | kyvos-dr-replica-connection-string      | dr.replicaConnection                    | optional postgres:// URL |
 * | kyvos-dr-primary-connection-string      | primary.postgresConnection              | optional postgres:// URL |
 * | kyvos-dr-source-sas-secret-name         | sourceSasSecretName                     | optional secret name |
 * | kyvos-dr-source-auth                    | sourceAuth                              | stored-sas (default) / user-delegation |
 * | kyvos-dr-max-storage-rpo-seconds        | thresholds.maxStorageRpoSeconds         | > 0, default 900 |
 * | kyvos-dr-max-replica-lag-seconds        | thresholds.maxReplicaLagSeconds         | > 0, default 300 |
 * | kyvos-dr-max-replica-lag-bytes          | thresholds.maxReplicaLagBytes           | whole > 0, default 64 MiB |
 * | kyvos-dr-sas-expiry-warning-days        | thresholds.sasExpiryWarningDays         | > 0, default 14 |
 * | kyvos-dr-alert-failover-policy          | alertFailoverPolicy                     | off / planned / forced, default off |
 * | kyvos-dr-alert-target-allow-list        | alertTargetAllowList                    | ARM resource ids, comma/newline-separated, default none |
 * | kyvos-dr-promote-mode                   | promoteMode                             | Standalone / Switchover, default Standalone |
 * | kyvos-dr-storage-strategy               | storageStrategy                         | copy (default) / accountFailover |
 * | kyvos-dr-stop-old-primary               | stopOldPrimary                          | true / false, default true |
 * | kyvos-dr-restore-geo-redundancy         | restoreGeoRedundancy                    | true / false, default false |
 * | kyvos-dr-split-brain-auto-fence         | splitBrainAutoFence                     | true / false, default false |
 */
const FIELDS = {
  subscriptionId: required(rules.subscriptionId),
  primaryResourceGroup: required(rules.resourceGroupName),
  primaryRegion: required(rules.regionName),
  drResourceGroup: required(rules.resourceGroupName),
  drRegion: required(rules.regionName),
  primaryStorageAccount: required(rules.storageAccountName),
  primaryContainer: required(rules.containerName),
  engineWorkDirectory: required(rules.pathPrefix),
  copyPrefix: withDefault(rules.pathPrefix, '', '/ (the whole container)'),
  copyAccessControl: withDefault(rules.copyAccessControl, 'auto'),
  drStorageAccount: required(rules.storageAccountName),
  drContainer: required(rules.containerName),
  drStorageSku: withDefault(rules.drStorageSku, 'Standard_LRS'),
  primaryPostgresServer: required(rules.flexibleServerName),
  replicaPostgresServer: required(rules.flexibleServerName),
  replicaConnectionString: optional(rules.postgresConnectionString),
  primaryConnectionString: optional(rules.postgresConnectionString),
  sourceSasSecretName: optional(rules.keyVaultSecretName),
  sourceAuth: withDefault(rules.sourceAuth, 'stored-sas'),
  maxStorageRpoSeconds: withDefault(rules.seconds, 900),
  maxReplicaLagSeconds: withDefault(rules.seconds, 300),
  maxReplicaLagBytes: withDefault(rules.bytes, 64 * MIB, '67108864 (64 MiB)'),
  sasExpiryWarningDays: withDefault(rules.days, 14),
  alertFailoverPolicy: withDefault(rules.alertFailoverPolicy, 'off'),
  alertTargetAllowList: withDefault(
    rules.resourceIdList,
    [] as string[],
    "none: only the pair's own resources",
  ),
  promoteMode: withDefault(rules.promoteMode, 'Standalone'),
  storageStrategy: withDefault(rules.storageStrategy, 'copy'),
  stopOldPrimary: withDefault(rules.boolean, true),
  restoreGeoRedundancy: withDefault(rules.boolean, false),
  splitBrainAutoFence: withDefault(rules.boolean, false),
} satisfies { [K in ConfigKey]: FieldSpec<unknown> };

type Values = { [K in ConfigKey]: (typeof FIELDS)[K] extends FieldSpec<infer T> ? T : never };

/**
 * The verdict on one secret, as `config check` prints it. `reason` says what is wrong and what to do,
 * or for `ok` what was found (`set`, or the default used); it never contains the value.
 */
export interface ConfigFinding {
  /** The `DrConfig` key, or `sourceSas` for the secret named by `kyvos-dr-source-sas-secret-name`. */
  key: ConfigKey | 'sourceSas';
  secretName: string;
  appSetting: string;
  required: boolean;
  status: 'ok' | 'missing' | 'invalid' | 'unreadable';
  reason: string;
}

/**
 * The configuration cannot be used. Every problem found is listed (missing, invalid and unreadable
 * secrets together), each naming the secret and its app-setting twin, never a value.
 */
export class ConfigProblems extends ConfigError {
  constructor(
    readonly source: string,
    readonly problems: ConfigFinding[],
  ) {
    super(formatProblems(source, problems), problems[0]?.secretName);
  }
}

/**
 * Reads and validates the DR configuration from `source`: every secret of `CONFIG_SECRETS` through
 * `readSecret`, each checked against its rule. Throws `ConfigProblems` (a `ConfigError`) listing every
 * problem. Secrets are read with at most 8 requests in flight.
 *
 * A Key Vault source that cannot be reached is replaced, for the whole configuration, by its app
 * settings (`selectReachableSource`); `DrConfig.origin` then says so, and `keyVault` still names the
 * vault, where the record step writes.
 */
export async function loadConfig(
  source: ConfigSource,
  options: { abortSignal?: AbortSignal } = {},
): Promise<DrConfig> {
  const selected = await selectReachableSource(source, CONFIG_SECRETS.subscriptionId, options);
  const { findings, values } = await evaluate(selected.source, options);
  const problems = findings.filter((f) => f.status !== 'ok');
  if (problems.length > 0 || !values) {
    throw new ConfigProblems(describeSelected(selected.source, selected.origin), problems);
  }
  return toDrConfig(values, source, selected.origin);
}

/** `app settings, used because Key Vault kv-kyvos (…) could not be reached (…)`, or the source itself. */
function describeSelected(source: ConfigSource, origin: ConfigOrigin): string {
  return origin.kind === 'app-settings-fallback'
    ? `${source.description}, used because ${origin.keyVaultUnreachable}`
    : source.description;
}

/**
 * Checks every configuration secret and reports one finding per secret, for `kyvos-dr config check`.
 * Also checks that the source SAS secret named by `kyvos-dr-source-sas-secret-name` exists (and shows
 * its expiry date). Never throws for a bad secret; never returns a value.
 */
export async function checkConfig(
  source: ConfigSource,
  options: { abortSignal?: AbortSignal; now?: Date } = {},
): Promise<ConfigFinding[]> {
  // The configured source itself, never its fallback: an operator checking the configuration must
  // see that the vault cannot be reached.
  const { findings, partial } = await evaluate(source, options);
  const sasSecretName = partial.sourceSasSecretName;
  if (sasSecretName) findings.push(await checkSourceSas(source, sasSecretName, options.now ?? new Date()));
  return findings;
}

async function evaluate(
  source: ConfigSource,
  options: { abortSignal?: AbortSignal },
): Promise<{ findings: ConfigFinding[]; values: Values | undefined; partial: Partial<Values> }> {
  const limit = pLimit(8);
  const keys = Object.keys(FIELDS) as ConfigKey[];
  const reads = await Promise.all(
    keys.map((key) =>
      limit(async () => [key, await readSecret(source, CONFIG_SECRETS[key], options)] as const),
    ),
  );
  const partial: Record<string, unknown> = {};
  const findings: ConfigFinding[] = [];
  for (const [key, read] of reads) {
    const spec: FieldSpec<unknown> = FIELDS[key];
    const finding = judge(source, key, spec, read);
    if (finding.status === 'ok') partial[key] = finding.value;
    findings.push(finding.finding);
  }
  const values = partial as Partial<Values>;
  crossCheck(values, findings);
  // Every key is in `values` once every finding is ok: optional secrets that are not set hold their default.
  const usable = findings.every((f) => f.status === 'ok');
  return { findings, values: usable ? (values as Values) : undefined, partial: values };
}

function judge(
  source: ConfigSource,
  key: ConfigKey,
  spec: FieldSpec<unknown>,
  read: SecretRead,
): { status: 'ok'; value: unknown; finding: ConfigFinding } | { status: 'bad'; finding: ConfigFinding } {
  const secretName = CONFIG_SECRETS[key];
  const base = { key, secretName, appSetting: appSettingName(secretName), required: spec.required };
  switch (read.kind) {
    case 'missing':
      if (!spec.required) {
        const reason =
          spec.defaultText !== undefined
            ? `not set; the default ${spec.defaultText} is used`
            : 'not set (optional)';
        return { status: 'ok', value: spec.default, finding: { ...base, status: 'ok', reason } };
      }
      return {
        status: 'bad',
        finding: { ...base, status: 'missing', reason: missingReason(source, secretName) },
      };
    case 'unresolved-reference':
      return { status: 'bad', finding: { ...base, status: 'invalid', reason: unresolvedReferenceReason() } };
    case 'unreadable':
    case 'unreachable':
      return { status: 'bad', finding: { ...base, status: 'unreadable', reason: read.reason } };
    case 'value': {
      const result = spec.rule(read.value.reveal());
      if (!result.ok)
        return { status: 'bad', finding: { ...base, status: 'invalid', reason: result.problem } };
      return { status: 'ok', value: result.value, finding: { ...base, status: 'ok', reason: 'set' } };
    }
  }
}

/** Rules that involve two secrets: the DR side must not name the primary's resources. */
function crossCheck(values: Partial<Values>, findings: ConfigFinding[]): void {
  const pairs: Array<[ConfigKey, ConfigKey, string]> = [
    ['drRegion', 'primaryRegion', 'the DR region must differ from the primary region'],
    [
      'drStorageAccount',
      'primaryStorageAccount',
      'the DR storage account must differ from the primary account',
    ],
    [
      'replicaPostgresServer',
      'primaryPostgresServer',
      'the replica server must differ from the primary server',
    ],
  ];
  for (const [key, other, problem] of pairs) {
    if (values[key] === undefined || values[key] !== values[other]) continue;
    const finding = findings.find((f) => f.key === key);
    if (!finding) continue;
    finding.status = 'invalid';
    finding.reason = `${problem} (${CONFIG_SECRETS[other]})`;
    delete values[key];
  }
}

async function checkSourceSas(source: ConfigSource, secretName: string, now: Date): Promise<ConfigFinding> {
  const base = {
    key: 'sourceSas' as const,
    secretName,
    appSetting: appSettingName(secretName),
    required: true,
  };
  const read = await readSecret(source, secretName);
  switch (read.kind) {
    case 'missing':
      return { ...base, status: 'missing', reason: missingReason(source, secretName) };
    case 'unresolved-reference':
      return { ...base, status: 'invalid', reason: unresolvedReferenceReason() };
    case 'unreadable':
    case 'unreachable':
      return { ...base, status: 'unreadable', reason: read.reason };
    case 'value': {
      const sas = parseSas(read.value);
      if ('problem' in sas) return { ...base, status: 'invalid', reason: sas.problem };
      return { ...base, status: 'ok', reason: `set; ${describeSasExpiry(sas, now)}` };
    }
  }
}

function missingReason(source: ConfigSource, secretName: string): string {
  if (source.keyVault) {
    return `is not in ${source.description}: add it with "az keyvault secret set --vault-name ${source.keyVault.name} --name ${secretName} --value <value>"`;
  }
  return `is not set: add the app setting ${appSettingName(secretName)}, or set KYVOS_DR_KEY_VAULT_URL to read it from Key Vault`;
}

function formatProblems(source: string, problems: ConfigFinding[]): string {
  const first = problems[0];
  if (
    first &&
    problems.length > 1 &&
    problems.every((p) => p.status === 'unreadable' && p.reason === first.reason)
  ) {
    return `The DR configuration could not be read from ${source}: none of its ${problems.length} secrets could be read: ${first.reason}.`;
  }
  const lines = problems.map(
    (p) =>
      `- ${p.secretName} (app setting ${p.appSetting}) ${p.status === 'missing' ? '' : `is ${p.status}: `}${p.reason}`,
  );
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return `The DR configuration from ${source} has ${count}:\n${lines.join('\n')}`;
}

function toDrConfig(v: Values, source: ConfigSource, origin: ConfigOrigin): DrConfig {
  return {
    subscriptionId: v.subscriptionId,
    primary: {
      resourceGroup: v.primaryResourceGroup,
      region: v.primaryRegion,
      storageAccount: v.primaryStorageAccount,
      container: v.primaryContainer,
      postgresServer: v.primaryPostgresServer,
      ...(v.primaryConnectionString ? { postgresConnection: v.primaryConnectionString } : {}),
    },
    dr: {
      resourceGroup: v.drResourceGroup,
      region: v.drRegion,
      storageAccount: v.drStorageAccount,
      container: v.drContainer,
      storageSku: v.drStorageSku,
      replicaServer: v.replicaPostgresServer,
      ...(v.replicaConnectionString ? { replicaConnection: v.replicaConnectionString } : {}),
    },
    engineWorkDirectory: v.engineWorkDirectory,
    copyPrefix: v.copyPrefix,
    copyAccessControl: v.copyAccessControl,
    ...(v.sourceSasSecretName ? { sourceSasSecretName: v.sourceSasSecretName } : {}),
    sourceAuth: v.sourceAuth,
    thresholds: {
      maxStorageRpoSeconds: v.maxStorageRpoSeconds,
      maxReplicaLagSeconds: v.maxReplicaLagSeconds,
      maxReplicaLagBytes: v.maxReplicaLagBytes,
      sasExpiryWarningDays: v.sasExpiryWarningDays,
    },
    alertFailoverPolicy: v.alertFailoverPolicy,
    alertTargetAllowList: v.alertTargetAllowList,
    promoteMode: v.promoteMode,
    storageStrategy: v.storageStrategy,
    stopOldPrimary: v.stopOldPrimary,
    restoreGeoRedundancy: v.restoreGeoRedundancy,
    splitBrainAutoFence: v.splitBrainAutoFence,
    ...(source.keyVault ? { keyVault: { ...source.keyVault } } : {}),
    origin,
  };
}
