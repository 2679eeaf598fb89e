import type {
  FaultState,
  LocalFlexibleServer,
  LocalStorageAccount,
  RegionRole,
  StackRegions,
} from '../types.js';
import type { RbacPolicy } from './authorization/accessCheck.js';
import type { LongRunningOperations } from './lro.js';
import type { SecretStore, SecretVersion, SetSecretOptions } from './secretStore.js';

/** Blob containers of the stack's storage accounts; the stack implements it on Azurite. */
interface BlobContainerStore {
  create(account: string, container: string): Promise<'created' | 'exists'>;
  exists(account: string, container: string): Promise<boolean>;
}

/** One request the emulator answered, for an optional request log. Carries no body and no token. */
export interface EmulatorRequestEvent {
  service: 'arm' | 'keyVault' | 'admin';
  method: string;
  /** Path and query of the request. */
  path: string;
  status: number;
  /** `error.code` of an error answer. */
  errorCode?: string;
  /** For a 500: what went wrong inside the emulator (redacted). */
  internalError?: string;
  durationInMs: number;
}

export interface ControlPlaneEmulatorOptions {
  /** PEM certificate and key, issued for 127.0.0.1 and localhost. */
  tls: { cert: string; key: string };
  subscriptionId: string;
  tenantId: string;
  regions: StackRegions;
  /**
   * The stack's storage accounts, shared with the storage front and mutated here: creating an
   * account through ARM sets `existsInArm`, a failover changes `region` and `sku`.
   */
  storageAccounts: LocalStorageAccount[];
  /**
   * The stack's flexible servers, mutated here: a promotion changes `role`/`sourceServer`, stop and
   * start set `stoppedByArm`.
   */
  servers: LocalFlexibleServer[];
  /** Shared with the rest of the stack; read on every request, changed by the admin API. */
  faults: FaultState;
  /** The blob endpoint of an account as the storage front serves it (`https://127.0.0.1:<port>/<account>`). */
  blobEndpoint(account: string, secondary: boolean): string;
  containers: BlobContainerStore;
  /**
   * What an account failover does to the account's data, before ARM swaps its region: a `Planned`
   * one waits until the secondary holds every write, an `Unplanned` one makes the secondary's data
   * the account's (the stack implements it on its geo-replication, `GeoReplication.catchUp` and
   * `promoteSecondary`). Without it only the ARM properties change.
   */
  failOverStorageData?(account: LocalStorageAccount, type: 'Planned' | 'Unplanned'): Promise<void>;
  /**
   * What making an account geo-redundant again does to its data (a SKU update after an unplanned
   * failover): the secondary receives a full copy of the account, the initial synchronization, and
   * replication resumes (the stack: `GeoReplication.bootstrap`). Resolves when the copy is done;
   * until then the account's `geoReplicationStats.status` is `Bootstrap`.
   */
  bootstrapStorageReplication?(account: LocalStorageAccount): Promise<void>;
  /** Name of the emulated vault, used in messages; the vault itself is served at `keyVaultUrl`. */
  keyVaultName: string;
  /**
   * The vault as an ARM resource (`Microsoft.KeyVault/vaults`, Vaults_Get): its resource group, and
   * its location (default: the primary region). Without it ARM does not know the vault.
   */
  keyVault?: { resourceGroup: string; location?: string };
  /**
   * Azure RBAC: every ARM and Key Vault request is authorized against `policy` for the caller's
   * token `oid` (`authorization/accessCheck.ts`); the stack builds it from `infra/`
   * (`authorization/infraAssignments.ts`). The vault is `keyVaultResourceId` in `keyVaultLocation`
   * (RBAC permission model); role assignments on it or on its secrets apply to the data plane.
   */
  authorization: { policy: RbacPolicy; keyVaultResourceId: string; keyVaultLocation: string };
  /** `Retry-After` of `202` answers and in-progress polls. Default 1; 0 lets clients poll at their own interval. */
  lroPollDelaySeconds?: number;
  /** How long the Storage operations (create, failover) stay in progress before they take effect. Default 1000. */
  storageOperationDurationInMs?: number;
  /** How long a Planned promotion waits for the replica to catch up before it fails. Default 60 000. */
  plannedPromoteTimeoutInMs?: number;
  /** Fixed ports; 0 (default) picks free ones. */
  armPort?: number;
  keyVaultPort?: number;
  /**
   * Called after the admin API changed the faults, before it answers; the stack stops or starts
   * PostgreSQL for a region outage here. A rejection makes the admin call answer 500.
   */
  onFaultsChanged?(faults: FaultState): void | Promise<void>;
  /** Called once per answered request. Nothing is logged otherwise. */
  onRequest?(event: EmulatorRequestEvent): void;
}

export interface ControlPlaneEmulator {
  /** `https://127.0.0.1:<armPort>`: the `endpoint` option of the management clients. */
  armEndpoint: string;
  /** `https://127.0.0.1:<keyVaultPort>`: the vault URL of `SecretClient`. */
  keyVaultUrl: string;
  armPort: number;
  keyVaultPort: number;
  /** Direct access to the vault's secrets, to seed them and for tests. */
  secrets: SecretStore;
  /** Adds a version of a secret, as a SetSecret call would; for seeding. */
  setSecret(name: string, value: string, options?: SetSecretOptions): Promise<SecretVersion>;
  /** Waits for running operations, then closes both servers and their connections. */
  stop(): Promise<void>;
}

/** What the route modules share. */
export interface EmulatorContext {
  options: ControlPlaneEmulatorOptions;
  lro: LongRunningOperations;
  /** Azure location name of a region of the pair. */
  locationOf(region: RegionRole): string;
  /** The region of the pair an Azure location name denotes (case-insensitive), if any. */
  regionOfLocation(location: string): RegionRole | undefined;
  /** Throws `503 ServiceUnavailable` when the region is in outage. */
  assertRegionUp(region: RegionRole, provider: string): void;
  /** Does the stack have this resource group (one of its accounts, servers or its vault is in it)? Case-insensitive. */
  knownResourceGroup(resourceGroup: string): boolean;
}
