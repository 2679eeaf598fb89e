/**
 * The Key Vault secrets that configure kyvos-dr, and the ones it writes after a failover.
 *
 * Each secret `kyvos-dr-x-y` has an app-setting twin `KYVOS_DR_X_Y`, used when no vault URL is set
 * (local runs with `func start` and `local.settings.json`). Secret names may be logged; values never.
 */
export const CONFIG_SECRETS = {
  subscriptionId: 'kyvos-dr-subscription-id',
  primaryResourceGroup: 'kyvos-dr-primary-resource-group',
  primaryRegion: 'kyvos-dr-primary-region',
  drResourceGroup: 'kyvos-dr-dr-resource-group',
  drRegion: 'kyvos-dr-dr-region',
  primaryStorageAccount: 'kyvos-dr-primary-storage-account',
  primaryContainer: 'kyvos-dr-primary-container',
  engineWorkDirectory: 'kyvos-dr-engine-work-dir',
  /**
   * Optional: copy and verify only this path prefix, by whole path segments. Unset (or `/`): the
   * whole container, as the Kyvos procedure's `azcopy copy <container> <container> --recursive`.
   */
  copyPrefix: 'kyvos-dr-copy-prefix',
  /**
   * `auto` (default) | `on` | `off`: carry owner, group and ACLs of every path through the Data Lake
   * endpoint, and verify them. `auto`: when both accounts have a hierarchical namespace.
   */
  copyAccessControl: 'kyvos-dr-copy-acls',
  drStorageAccount: 'kyvos-dr-dr-storage-account',
  drContainer: 'kyvos-dr-dr-container',
  /** The SKU of a DR storage account the failover creates (default `Standard_LRS`). */
  drStorageSku: 'kyvos-dr-dr-storage-sku',
  primaryPostgresServer: 'kyvos-dr-primary-pg-server',
  replicaPostgresServer: 'kyvos-dr-replica-pg-server',
  /** `postgres://user:password@host:port/db?sslmode=require` for SQL probes of the replica. */
  replicaConnectionString: 'kyvos-dr-replica-connection-string',
  /** Optional: the same for the primary; gives byte lag against the primary's current WAL position. */
  primaryConnectionString: 'kyvos-dr-primary-connection-string',
  /** The NAME of the secret that holds the source SAS for the secondary endpoint (optional). */
  sourceSasSecretName: 'kyvos-dr-source-sas-secret-name',
  /**
   * `stored-sas` (default): the copy reads the secondary with the SAS in the secret named above, which
   * must then be set. `user-delegation`: with a user-delegation SAS, only once an operator has proven
   * that the secondary accepts one.
   */
  sourceAuth: 'kyvos-dr-source-auth',
  maxStorageRpoSeconds: 'kyvos-dr-max-storage-rpo-seconds',
  maxReplicaLagSeconds: 'kyvos-dr-max-replica-lag-seconds',
  maxReplicaLagBytes: 'kyvos-dr-max-replica-lag-bytes',
  sasExpiryWarningDays: 'kyvos-dr-sas-expiry-warning-days',
  /** `off` | `planned` | `forced`: what a fired alert may start. */
  alertFailoverPolicy: 'kyvos-dr-alert-failover-policy',
  /**
   * Full ARM resource ids, comma- or newline-separated, that a fired alert may also name to start a
   * failover (besides the primary storage account and the primary PostgreSQL server).
   */
  alertTargetAllowList: 'kyvos-dr-alert-target-allow-list',
  /** `Standalone` (default) | `Switchover`. */
  promoteMode: 'kyvos-dr-promote-mode',
  /** `copy` (default) | `accountFailover`: how the failover brings the data to the DR region. */
  storageStrategy: 'kyvos-dr-storage-strategy',
  /** `true` | `false` (default true): stop the old primary after a Standalone promote when reachable. */
  stopOldPrimary: 'kyvos-dr-stop-old-primary',
  /**
   * `true` | `false` (default false): after an unplanned account failover (storage strategy
   * accountFailover), make the account geo-redundant again through its SKU.
   */
  restoreGeoRedundancy: 'kyvos-dr-restore-geo-redundancy',
  /**
   * `true` | `false` (default false): after a failover, when the health check finds the old primary
   * running and writable (split brain), stop it through ARM again without waiting for an operator.
   */
  splitBrainAutoFence: 'kyvos-dr-split-brain-auto-fence',
} as const;

/** Secrets written by the failover's record step: the names Kyvos must use from now on. */
export const ACTIVE_SECRETS = {
  storageAccount: 'kyvos-dr-active-storage-account',
  container: 'kyvos-dr-active-container',
  postgresServer: 'kyvos-dr-active-pg-server',
  fencedPostgresServer: 'kyvos-dr-fenced-pg-server',
  lastFailoverRunId: 'kyvos-dr-last-failover-run-id',
  lastFailoverAt: 'kyvos-dr-last-failover-at',
} as const;

export type ConfigKey = keyof typeof CONFIG_SECRETS;

/** `kyvos-dr-primary-storage-account` → `KYVOS_DR_PRIMARY_STORAGE_ACCOUNT`. */
export function appSettingName(secretName: string): string {
  return secretName.toUpperCase().replaceAll('-', '_');
}

/** App settings (never secrets) that locate the rest. */
export const APP_SETTINGS = {
  keyVaultUrl: 'KYVOS_DR_KEY_VAULT_URL',
  /** Optional: the vault's name when it cannot be read off its URL (the local stack serves it on 127.0.0.1). */
  keyVaultName: 'KYVOS_DR_KEY_VAULT_NAME',
  localStack: 'KYVOS_DR_LOCAL_STACK',
  appStorageAccount: 'KYVOS_DR_APP_STORAGE_ACCOUNT',
  /**
   * Resource id of the subnet the Function app joins (regional virtual network integration): the
   * network its own reads of the storage accounts come from, which the doctor checks the accounts'
   * network rules against. The template sets it from `virtualNetworkSubnetId`.
   */
  appSubnetId: 'KYVOS_DR_APP_SUBNET_ID',
  healthStorageSchedule: 'KYVOS_DR_HEALTH_STORAGE_SCHEDULE',
  healthReplicaSchedule: 'KYVOS_DR_HEALTH_REPLICA_SCHEDULE',
  configCacheSeconds: 'KYVOS_DR_CONFIG_CACHE_SECONDS',
  /**
   * `true` only when App Service authentication is enabled on the app: then the platform sets the
   * `x-ms-client-principal-*` headers and strips any a caller sends, so they name who called.
   */
  trustEasyAuthPrincipal: 'KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL',
  /** NCRONTAB schedule of the failover sweeper (default every five minutes). */
  sweeperSchedule: 'KYVOS_DR_SWEEPER_SCHEDULE',
  /** Minutes without progress after which the sweeper re-advances a Running run (default 5). */
  sweeperReadvanceAfterMinutes: 'KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES',
  /** Minutes without progress after which the sweeper ends a Running run Failed (default 60). */
  sweeperFailAfterMinutes: 'KYVOS_DR_SWEEPER_FAIL_AFTER_MINUTES',
} as const;
