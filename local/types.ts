import { openNetworkRules, type StorageNetworkRuleSet } from './networkRules.js';

/**
 * Shared model of the local stack: what runs where, and the faults that can be injected. The
 * control-plane emulator, the storage front and the PostgreSQL pair all read this one topology.
 */

/** The two regions of the DR pair. RA-GRS replicates the primary's storage to the DR region. */
export type RegionRole = 'primary' | 'dr';

export interface StackRegions {
  /** Azure name of the primary region, e.g. `centralus`. */
  primary: string;
  /** Azure name of the DR region (the storage pair's secondary location), e.g. `eastus2`. */
  dr: string;
}

/** A storage account the stack knows. Azurite fixes its accounts at start, so all are listed here. */
export interface LocalStorageAccount {
  name: string;
  /** Shared key (base64), as Azurite was started with it. */
  key: string;
  resourceGroup: string;
  region: RegionRole;
  sku:
    | 'Standard_RAGRS'
    | 'Standard_GRS'
    | 'Standard_LRS'
    | 'Standard_ZRS'
    | 'Standard_GZRS'
    | 'Standard_RAGZRS';
  isHnsEnabled: boolean;
  /** False for an account Azurite serves but ARM has not "created" yet (the DR account before failover). */
  existsInArm: boolean;
  /** The secondary's `lastSyncTime`, for an RA-GRS account whose secondary the stack replicates. */
  lastSyncTime?: () => Date;
  /**
   * Set by ARM while an account failover runs: the storage front then refuses writes, as "the
   * primary region's storage service endpoints become read-only while remaining updates finish
   * replicating" (learn.microsoft.com/azure/storage/common/storage-failover-customer-managed-planned).
   */
  failoverInProgress?: boolean;
}

/** The other region of the pair: where a geo-redundant account's secondary lives. */
export function otherRegion(region: RegionRole): RegionRole {
  return region === 'primary' ? 'dr' : 'primary';
}

/** GRS, RA-GRS, GZRS and RA-GZRS keep a secondary in the paired region (learn.microsoft.com/azure/storage/common/storage-redundancy). */
export function isGeoRedundantSku(sku: LocalStorageAccount['sku']): boolean {
  return sku !== 'Standard_LRS' && sku !== 'Standard_ZRS';
}

/** RA-GRS and RA-GZRS also serve reads at the `-secondary` endpoint. */
export function isReadAccessSku(sku: LocalStorageAccount['sku']): boolean {
  return sku === 'Standard_RAGRS' || sku === 'Standard_RAGZRS';
}

/** Live state of a local PostgreSQL server, read from the instance itself. */
export interface PgInstanceStatus {
  running: boolean;
  /** `pg_is_in_recovery()`; undefined when not running. */
  inRecovery?: boolean;
  /** `pg_stat_wal_receiver.status` on a standby (`streaming`, `catchup`, …); null when no receiver. */
  walReceiverStatus?: string | null;
  /** `pg_is_wal_replay_paused()` on a standby. */
  replayPaused?: boolean;
  receivedLsn?: string | null;
  replayedLsn?: string | null;
}

/** One local PostgreSQL server process (a primary or a streaming standby). */
export interface PgInstance {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Superuser credentials, for the emulator and tests. */
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Connection string `postgres://user:pass@host:port/db?sslmode=disable`. */
  readonly connectionString: string;
  start(): Promise<void>;
  /** `fast` is a clean shutdown; `immediate` is a crash, as in a region outage. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  isRunning(): boolean;
  status(): Promise<PgInstanceStatus>;
  /** Runs SQL as the superuser and returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** `pg_promote(wait => true)`. */
  promote(): Promise<void>;
  /** `pg_wal_replay_pause()` / `pg_wal_replay_resume()` on a standby. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Turns a stopped former primary into a standby of `primary` (used by Switchover). */
  followAsStandby(primary: PgInstance): Promise<void>;
}

/** A flexible server as ARM sees it, backed by a local instance. */
export interface LocalFlexibleServer {
  name: string;
  resourceGroup: string;
  region: RegionRole;
  /** `primary` for a standalone/primary server, `replica` for a read replica of `sourceServer`. */
  role: 'primary' | 'replica';
  sourceServer?: string;
  instance: PgInstance;
  /** Set by ARM stop; a stopped server reports `state: Stopped`. */
  stoppedByArm: boolean;
  /** Compute and storage as ARM reports them; the emulator's default (`DEFAULT_SERVER_SIZE`) when absent. */
  size?: LocalServerSize;
}

/**
 * The compute tier and storage of a flexible server, as `GET flexibleServers/{name}` reports them
 * (`sku`, `properties.storage`). What a promotion compares: "Tier, storage size: for the promote to
 * primary server operation, it must be the same as the primary; for the promote to independent
 * server operation, it can be the same or higher than the primary"
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas#configuration-management).
 */
export interface LocalServerSize {
  /** `sku.name`, e.g. `Standard_D4ds_v5`; the digits after the series letter are the vCores. */
  skuName: string;
  /** `sku.tier`. */
  tier: 'Burstable' | 'GeneralPurpose' | 'MemoryOptimized';
  /** `properties.storage.storageSizeGB`. */
  storageSizeGB: number;
}

/** Faults the tests, the drill and `npm run local` can inject. */
export interface FaultState {
  /** Regions in outage: their storage endpoints, PostgreSQL and ARM resources do not answer. */
  regionsDown: Set<RegionRole>;
  /** The RA-GRS secondary endpoint (`<account>-secondary`) does not answer. */
  secondaryUnavailable: boolean;
  /**
   * Storage geo-replication paused at this time: `geoReplicationStats.lastSyncTime` and the
   * secondary's service stats stay at it while paused.
   */
  storageReplicationPausedAt: Date | null;
  /**
   * How far an RA-GRS account's secondary lags its primary while replication runs: writes younger
   * than this are not on the secondary yet, and `lastSyncTime` is this far behind (to the second).
   * 0: a write is on the secondary as soon as it is acknowledged (`local/geoReplication.ts`).
   */
  storageReplicationDelayMs: number;
  /**
   * Every request to a blob endpoint waits this long in the storage front before it is forwarded:
   * the network round trip and service time of a remote storage service, which the local stack
   * otherwise lacks. Azurite's own call back to a copy's source waits too, as Azure's server-side
   * read of the source does. 0: none.
   */
  storageLatencyMs: number;
  /** ARM answers the next `count` requests with `status` and `Retry-After`. */
  armThrottle: { count: number; status: 429 | 503; retryAfterSeconds: number } | null;
  /** The next long-running operations fail (count), with this error code. */
  lroFailures: { count: number; code: string; message: string } | null;
  /**
   * Key Vault cannot be reached: the vault closes every connection without answering, as a vault
   * behind a network outage (or a firewall change) looks to a client, which retries and then fails
   * (learn.microsoft.com/azure/reliability/reliability-key-vault: transient faults and network
   * outages, handled by the SDK's retries).
   */
  keyVaultUnavailable: boolean;
  /**
   * Network rules (`networkAcls`) of storage accounts, by account name; an account not listed is open
   * to all networks, as Azure creates it. ARM reports them and the storage front enforces them
   * (`local/networkRules.ts`).
   */
  storageNetworkRules: Record<string, StorageNetworkRuleSet>;
}

/** The network rules of `account` now: the configured ones, or Azure's default (open). */
export function networkRulesOf(faults: FaultState, account: string): StorageNetworkRuleSet {
  return faults.storageNetworkRules[account.toLowerCase()] ?? openNetworkRules();
}

export function emptyFaults(): FaultState {
  return {
    regionsDown: new Set(),
    secondaryUnavailable: false,
    storageReplicationPausedAt: null,
    storageReplicationDelayMs: 0,
    storageLatencyMs: 0,
    armThrottle: null,
    lroFailures: null,
    keyVaultUnavailable: false,
    storageNetworkRules: {},
  };
}
