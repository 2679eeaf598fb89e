/**
 * The validated DR configuration, read from Key Vault (or app settings) through `loadConfig`.
 * Secret values (connection strings, SAS) are kept in `Sensitive` wrappers so that a config object
 * can be logged or serialised without leaking them.
 */

/** A secret value that prints as `[redacted]` and serialises as `"[redacted]"`. */
export class Sensitive {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself. Never log or return it. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
}

/** `kyvos-dr-copy-acls`. */
export type CopyAccessControl = 'auto' | 'on' | 'off';

export type AlertFailoverPolicy = 'off' | 'planned' | 'forced';
export type PromoteMode = 'Standalone' | 'Switchover';
/**
 * How the failover brings the data to the DR region (`kyvos-dr-storage-strategy`):
 * - `copy` (the default): copy every blob server-side from the primary's `-secondary` endpoint into
 *   the DR storage account, as the Kyvos DR procedure does; the data gets a new account name.
 * - `accountFailover`: Azure's customer-managed failover of the primary account itself; the account
 *   keeps its name and endpoints and its secondary region becomes the primary.
 */
export type StorageStrategy = 'copy' | 'accountFailover';
/**
 * How the copy is authorised to read its source through the RA-GRS `-secondary` endpoint.
 *
 * - `stored-sas` (the default): a SAS stored in the secret named by `kyvos-dr-source-sas-secret-name`.
 *   An account SAS or a service SAS signed with the account key is what Microsoft documents for
 *   reading the secondary.
 * - `user-delegation`: a user-delegation SAS the app signs with a key from the primary endpoint. No
 *   Microsoft document says that the secondary accepts one, and Storage Explorer reports that it does
 *   not (microsoft/AzureStorageExplorer#6076); it also needs the primary endpoint, which a
 *   primary-region outage takes away. Only for an operator who has proven it on the account; every run
 *   proves it again with a real read on the secondary before anything irreversible.
 */
export type SourceAuth = 'stored-sas' | 'user-delegation';
export const SOURCE_AUTHS: readonly SourceAuth[] = ['stored-sas', 'user-delegation'];

/**
 * Where the configuration was read from. `app-settings-fallback`: a vault is configured but could not
 * be reached, so every value came from its `KYVOS_DR_*` app setting; the record step cannot write
 * the new names until the vault answers again.
 */
export type ConfigOrigin =
  | { kind: 'key-vault' }
  | { kind: 'app-settings' }
  | { kind: 'app-settings-fallback'; keyVaultUnreachable: string };
/** The redundancy of a DR storage account kyvos-dr creates: the Standard SKUs that allow ADLS Gen2. */
export const DR_STORAGE_SKUS = [
  'Standard_LRS',
  'Standard_ZRS',
  'Standard_GRS',
  'Standard_RAGRS',
  'Standard_GZRS',
  'Standard_RAGZRS',
] as const;
export type DrStorageSku = (typeof DR_STORAGE_SKUS)[number];

/** Connection details for SQL probes of a PostgreSQL server. */
export interface PostgresConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  sslmode: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'prefer';
  password: Sensitive;
}

export interface DrConfig {
  subscriptionId: string;
  primary: {
    resourceGroup: string;
    region: string;
    storageAccount: string;
    container: string;
    postgresServer: string;
    /** Optional SQL access to the primary, for byte lag against its current WAL position. */
    postgresConnection?: PostgresConnection;
  };
  dr: {
    resourceGroup: string;
    region: string;
    storageAccount: string;
    container: string;
    /** The SKU the DR storage account is created with, when the failover has to create it. */
    storageSku: DrStorageSku;
    /** The read replica in the DR region, promoted on failover. */
    replicaServer: string;
    replicaConnection?: PostgresConnection;
  };
  /**
   * Path prefix in the container that holds the Kyvos engine work directory (the Kyvos
   * `EngineWorkDirectory` parameter). It does not limit the copy: `copyPrefix` does.
   */
  engineWorkDirectory: string;
  /**
   * What the failover copies and verifies: '' (the default) for the whole container, as the Kyvos
   * procedure's `azcopy copy <container> <container> --recursive=true`; otherwise only this prefix,
   * by whole path segments (`a/b` is the blob `a/b` and everything under `a/b/`, never `a/bc`).
   */
  copyPrefix: string;
  /**
   * Whether the copy carries owner, group and ACL of every path through the Data Lake endpoint, and
   * verification checks them (`kyvos-dr-copy-acls`). `auto` (the default when absent): when both
   * accounts have a hierarchical namespace.
   */
  copyAccessControl?: CopyAccessControl;
  /** Name of the Key Vault secret that holds a SAS for reading the source through the secondary endpoint. */
  sourceSasSecretName?: string;
  /** How the copy reads its source: a stored SAS (default), or a user-delegation SAS once proven. */
  sourceAuth: SourceAuth;
  thresholds: {
    maxStorageRpoSeconds: number;
    maxReplicaLagSeconds: number;
    maxReplicaLagBytes: number;
    sasExpiryWarningDays: number;
  };
  alertFailoverPolicy: AlertFailoverPolicy;
  /**
   * ARM resource ids besides the pair's own resources that a fired alert may name in
   * `alertTargetIDs` to start a failover (a Resource Health or availability alert the operator
   * trusts). Compared case-insensitively; empty by default.
   */
  alertTargetAllowList: string[];
  promoteMode: PromoteMode;
  /** How the failover brings the data to the DR region; a run's request may override it. */
  storageStrategy: StorageStrategy;
  stopOldPrimary: boolean;
  /**
   * After an unplanned account failover, which leaves the account locally (or zone) redundant in the
   * new region, set its SKU back to the geo-redundant one it had, so that Azure replicates it to the
   * former primary region again (billed). Off by default: the checklist tells the operator to.
   */
  restoreGeoRedundancy: boolean;
  /**
   * After a failover, stop the old primary again when a health check finds it running and writable
   * (split brain). Off by default: see `OldPrimaryWatch`.
   */
  splitBrainAutoFence: boolean;
  /** The Key Vault kyvos-dr reads and writes (URL and name), when configured from a vault. */
  keyVault?: { url: string; name: string };
  /**
   * Where this configuration came from. Absent means Key Vault when `keyVault` is set, app settings
   * otherwise (configurations built by hand, in tests).
   */
  origin?: ConfigOrigin;
}
