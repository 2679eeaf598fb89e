import { createHash } from 'node:crypto';
import { dfsEndpointOf } from '../hns/endpoints.js';
import {
  isGeoRedundantSku,
  isReadAccessSku,
  type LocalStorageAccount,
  networkRulesOf,
  otherRegion,
  type RegionRole,
} from '../types.js';
import {
  ArmError,
  conflictingOperation,
  invalidRequestContent,
  resourceGroupNotFound,
  resourceNotFound,
} from './armErrors.js';
import type { ArmRequest, ArmRoute } from './router.js';
import type { EmulatorContext } from './types.js';

const PROVIDER = 'Microsoft.Storage';
const RESOURCE_TYPE = 'Microsoft.Storage/storageAccounts';
export const STORAGE_ACCOUNT_PATH =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}';

type Sku = LocalStorageAccount['sku'];
const SKUS: Sku[] = [
  'Standard_RAGRS',
  'Standard_GRS',
  'Standard_LRS',
  'Standard_ZRS',
  'Standard_GZRS',
  'Standard_RAGZRS',
];
const KINDS = ['StorageV2', 'Storage', 'BlobStorage', 'BlockBlobStorage', 'FileStorage'];

/** ARM-side properties of an account that the shared `LocalStorageAccount` does not carry. */
interface AccountArmState {
  kind: string;
  creationTime: Date;
  minimumTlsVersion: string;
  supportsHttpsTrafficOnly: boolean;
  allowBlobPublicAccess: boolean;
  tags: Record<string, string>;
  /** An operation in progress on the account. */
  busy?: 'create' | 'failover';
  lastGeoFailoverTime?: Date;
  /** The initial synchronization of a secondary the account was given by a SKU update is under way. */
  bootstrapping?: boolean;
}

/**
 * Microsoft.Storage storage accounts, backed by the stack's Azurite accounts.
 *
 * - `GET` answers the full resource (StorageAccountGetProperties shape). Endpoints are the storage
 *   front's URLs; `dfs`, for an HNS account, is the front's Data Lake endpoint of the account.
 *   `queue`/`table`/`web` are omitted: the front serves blob only.
 * - `$expand=geoReplicationStats` adds the replication state from the faults: `Unavailable` while
 *   the secondary or the DR region is out (`lastSyncTime` then omitted, as Azure may), otherwise
 *   `Live` with `lastSyncTime` now, or frozen at the time replication was paused.
 * - `PUT` creates only an account Azurite already serves (`existsInArm: false`), as an LRO;
 *   a `PUT` on an existing account updates the recorded properties and answers `200`.
 * - `PATCH` (StorageAccounts_Update, synchronous: `200` only in the REST spec) changes the SKU
 *   within its zone redundancy; an account made geo-redundant again replicates anew, `Bootstrap`
 *   until its initial synchronization is done.
 * - `failover` is an LRO that swaps the account's region; an unplanned failover converts it to
 *   LRS, a planned one keeps its SKU. Unplanned failover is the one ARM call on the account that
 *   works while the account's own region is down, since that is what it is for. HNS accounts can
 *   fail over (Azure supports customer-managed failover for them).
 * - `listKeys` answers the Azurite key as `key1`; `key2` is a stable made-up value that Azurite
 *   does not accept (the stack starts Azurite with one key per account).
 */
export function storageAccountRoutes(ctx: EmulatorContext): ArmRoute[] {
  const states = new Map<string, AccountArmState>();
  const stateOf = (account: LocalStorageAccount): AccountArmState => {
    const key = account.name.toLowerCase();
    let state = states.get(key);
    if (!state) {
      state = {
        kind: 'StorageV2',
        creationTime: new Date(),
        minimumTlsVersion: 'TLS1_2',
        supportsHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
        tags: {},
      };
      states.set(key, state);
    }
    return state;
  };

  const body = (account: LocalStorageAccount, expandGeoStats: boolean) =>
    accountBody(ctx, account, stateOf(account), expandGeoStats);

  return [
    {
      method: 'GET',
      pattern: STORAGE_ACCOUNT_PATH,
      action: 'Microsoft.Storage/storageAccounts/read',
      handler: async (request) => {
        const account = requireStorageAccount(ctx, request.params);
        ctx.assertRegionUp(account.region, PROVIDER);
        const expand = (request.url.searchParams.get('$expand') ?? '').toLowerCase().split(',');
        return { status: 200, body: body(account, expand.includes('georeplicationstats')) };
      },
    },
    {
      method: 'PUT',
      pattern: STORAGE_ACCOUNT_PATH,
      action: 'Microsoft.Storage/storageAccounts/write',
      handler: async (request) => createAccount(ctx, request, stateOf, body),
    },
    {
      method: 'PATCH',
      pattern: STORAGE_ACCOUNT_PATH,
      action: 'Microsoft.Storage/storageAccounts/write',
      handler: async (request) => {
        const account = requireStorageAccount(ctx, request.params);
        updateAccount(ctx, account, stateOf(account), request.body);
        return { status: 200, body: body(account, false) };
      },
    },
    {
      method: 'POST',
      pattern: `${STORAGE_ACCOUNT_PATH}/listKeys`,
      action: 'Microsoft.Storage/storageAccounts/listkeys/action',
      handler: async (request) => {
        const account = requireStorageAccount(ctx, request.params);
        ctx.assertRegionUp(account.region, PROVIDER);
        return {
          status: 200,
          body: {
            keys: [
              { keyName: 'key1', permissions: 'Full', value: account.key },
              { keyName: 'key2', permissions: 'Full', value: secondKey(account) },
            ],
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: `${STORAGE_ACCOUNT_PATH}/failover`,
      action: 'Microsoft.Storage/storageAccounts/failover/action',
      handler: async (request) => failover(ctx, request, stateOf(requireStorageAccount(ctx, request.params))),
    },
    {
      method: 'GET',
      pattern:
        '/subscriptions/{subscriptionId}/providers/Microsoft.Storage/locations/{location}/asyncoperations/{operationId}',
      // "Polls the status of an asynchronous operation" is Microsoft.Storage/operations/read in the
      // Microsoft.Storage operations list (azure-docs permissions/storage.md); no locations/* action exists.
      action: 'Microsoft.Storage/operations/read',
      operationStatus: true,
      handler: (request) => ctx.lro.operationResult(request.params.operationId ?? ''),
    },
  ];
}

/** The account named by `resourceGroupName`/`accountName`, if ARM knows it; else a 404. */
export function requireStorageAccount(
  ctx: EmulatorContext,
  params: Record<string, string>,
): LocalStorageAccount {
  const resourceGroup = params.resourceGroupName ?? '';
  const name = params.accountName ?? '';
  const account = findAccount(ctx, name);
  if (account?.existsInArm && sameName(account.resourceGroup, resourceGroup)) return account;
  if (!ctx.knownResourceGroup(resourceGroup)) throw resourceGroupNotFound(resourceGroup);
  throw resourceNotFound(RESOURCE_TYPE, name, resourceGroup);
}

async function createAccount(
  ctx: EmulatorContext,
  request: ArmRequest,
  stateOf: (account: LocalStorageAccount) => AccountArmState,
  body: (account: LocalStorageAccount, expandGeoStats: boolean) => unknown,
) {
  const resourceGroup = request.params.resourceGroupName ?? '';
  const name = request.params.accountName ?? '';
  if (!/^[a-z0-9]{3,24}$/.test(name)) {
    throw new ArmError(
      400,
      'AccountNameInvalid',
      `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in ` +
        'length and use numbers and lower-case letters only.',
    );
  }
  const input = readCreateParameters(ctx, request.body);
  if (!ctx.knownResourceGroup(resourceGroup)) throw resourceGroupNotFound(resourceGroup);
  const account = findAccount(ctx, name);
  if (!account) {
    const creatable = ctx.options.storageAccounts.filter((a) => !a.existsInArm).map((a) => a.name);
    throw new ArmError(
      400,
      'StorageAccountNotInLocalStack',
      `Cannot create storage account '${name}': the local stack can only create the accounts it provisioned in ` +
        'Azurite at start (Azurite fixes its accounts at start). Accounts that can be created: ' +
        `${creatable.length > 0 ? creatable.join(', ') : 'none'}.`,
    );
  }
  const state = stateOf(account);
  if (state.busy) throw conflictingOperation(`storage account '${name}'`);

  if (account.existsInArm) {
    if (!sameName(account.resourceGroup, resourceGroup)) {
      throw new ArmError(
        409,
        'StorageAccountAlreadyTaken',
        `The storage account named ${name} is already taken.`,
      );
    }
    if (account.region !== input.region) {
      throw new ArmError(
        409,
        'InvalidResourceLocation',
        `The resource '${name}' already exists in location '${ctx.locationOf(account.region)}' in resource group ` +
          `'${account.resourceGroup}'. A resource with the same name cannot be created in location '${input.location}'.`,
      );
    }
    // A PUT on an existing account updates it, as in Azure.
    ctx.assertRegionUp(account.region, PROVIDER);
    applyCreateParameters(account, state, input);
    return { status: 200, body: body(account, false) };
  }

  ctx.assertRegionUp(input.region, PROVIDER);
  state.busy = 'create';
  const operation = ctx.lro.begin({
    provider: PROVIDER,
    location: ctx.locationOf(input.region),
    resourceGroup,
    apiVersion: request.apiVersion,
    delayInMs: ctx.options.storageOperationDurationInMs ?? 1000,
    run: async () => {
      account.resourceGroup = resourceGroup;
      applyCreateParameters(account, state, input);
      state.creationTime = new Date();
      account.existsInArm = true;
    },
    result: () => ({ status: 200, body: body(account, false) }),
  });
  void operation.settled.then(() => {
    state.busy = undefined;
  });
  return ctx.lro.accepted(operation);
}

interface CreateParameters {
  location: string;
  region: RegionRole;
  kind: string;
  sku: Sku;
  isHnsEnabled: boolean;
  minimumTlsVersion?: string;
  supportsHttpsTrafficOnly?: boolean;
  allowBlobPublicAccess?: boolean;
  tags?: Record<string, string>;
}

function readCreateParameters(ctx: EmulatorContext, raw: unknown): CreateParameters {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidRequestContent('the body must be a JSON object with location, kind and sku.');
  }
  const body = raw as Record<string, unknown>;
  if (typeof body.location !== 'string' || body.location === '') {
    throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  }
  const region = ctx.regionOfLocation(body.location);
  if (!region) {
    throw new ArmError(
      400,
      'LocationNotAvailableForResourceType',
      `The provided location '${body.location}' is not available for resource type '${RESOURCE_TYPE}'. The local ` +
        `stack serves '${ctx.locationOf('primary')}' (primary) and '${ctx.locationOf('dr')}' (dr).`,
    );
  }
  if (
    typeof body.kind !== 'string' ||
    !KINDS.some((k) => k.toLowerCase() === String(body.kind).toLowerCase())
  ) {
    throw invalidRequestContent(`'kind' is required and must be one of ${KINDS.join(', ')}.`);
  }
  const skuName = (body.sku as { name?: unknown } | undefined)?.name;
  const sku = SKUS.find((s) => typeof skuName === 'string' && s.toLowerCase() === skuName.toLowerCase());
  if (!sku) {
    throw invalidRequestContent(`'sku.name' is required; the local stack supports ${SKUS.join(', ')}.`);
  }
  const properties = (body.properties ?? {}) as Record<string, unknown>;
  const input: CreateParameters = {
    location: body.location,
    region,
    kind: KINDS.find((k) => k.toLowerCase() === String(body.kind).toLowerCase()) ?? 'StorageV2',
    sku,
    isHnsEnabled: properties.isHnsEnabled === true,
  };
  if (typeof properties.minimumTlsVersion === 'string')
    input.minimumTlsVersion = properties.minimumTlsVersion;
  if (typeof properties.supportsHttpsTrafficOnly === 'boolean') {
    input.supportsHttpsTrafficOnly = properties.supportsHttpsTrafficOnly;
  }
  if (typeof properties.allowBlobPublicAccess === 'boolean')
    input.allowBlobPublicAccess = properties.allowBlobPublicAccess;
  if (body.tags && typeof body.tags === 'object') input.tags = body.tags as Record<string, string>;
  return input;
}

function applyCreateParameters(
  account: LocalStorageAccount,
  state: AccountArmState,
  input: CreateParameters,
): void {
  account.region = input.region;
  account.sku = input.sku;
  account.isHnsEnabled = input.isHnsEnabled;
  state.kind = input.kind;
  if (input.minimumTlsVersion !== undefined) state.minimumTlsVersion = input.minimumTlsVersion;
  if (input.supportsHttpsTrafficOnly !== undefined)
    state.supportsHttpsTrafficOnly = input.supportsHttpsTrafficOnly;
  if (input.allowBlobPublicAccess !== undefined) state.allowBlobPublicAccess = input.allowBlobPublicAccess;
  if (input.tags !== undefined) state.tags = { ...input.tags };
}

/**
 * StorageAccounts_Update of the SKU (and tags). What the local stack enforces:
 * - A SKU update changes geo-redundancy only: LRS, GRS and RA-GRS convert into one another, and ZRS,
 *   GZRS and RA-GZRS (a ZRS account a failover left behind is made GZRS again this way); adding or
 *   removing zone redundancy is a conversion (StorageAccounts_CustomerInitiatedMigration), not a SKU
 *   update (learn.microsoft.com/azure/storage/common/redundancy-migration, "Options for changing the
 *   replication type"). Azure refuses such an update with "Values for request parameters are
 *   invalid: sku" (MicrosoftDocs/azure-docs#96815, a ZRS to GZRS change through Set-AzStorageAccount).
 * - Nothing else changes while an operation (a failover) is in progress on the account.
 * - An account made geo-redundant again replicates to its new secondary region from scratch: "once
 *   you re-enable GRS for your storage account, Microsoft replicates data to the new secondary
 *   region; replication time depends on the amount of data" (Invoke-AzStorageAccountFailover);
 *   meanwhile `geoReplicationStats.status` is `Bootstrap`, "initial synchronization from the primary
 *   location to the secondary location is in progress" (GeoReplicationStats, REST spec).
 */
function updateAccount(
  ctx: EmulatorContext,
  account: LocalStorageAccount,
  state: AccountArmState,
  raw: unknown,
): void {
  ctx.assertRegionUp(account.region, PROVIDER);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidRequestContent('the body must be a JSON object (StorageAccountUpdateParameters).');
  }
  const update = raw as { sku?: { name?: unknown }; tags?: unknown; properties?: unknown };
  const unsupported = Object.keys(update).filter((key) => key !== 'sku' && key !== 'tags');
  if (unsupported.length > 0) {
    throw invalidRequestContent(
      `the local stack updates only sku and tags of a storage account, not ${unsupported.join(', ')}.`,
    );
  }
  if (state.busy) throw conflictingOperation(`storage account '${account.name}'`);
  let sku = account.sku;
  if (update.sku !== undefined) {
    const skuName = update.sku?.name;
    const found = SKUS.find((s) => typeof skuName === 'string' && s.toLowerCase() === skuName.toLowerCase());
    if (!found) {
      throw invalidRequestContent(`'sku.name' must be one of ${SKUS.join(', ')}.`);
    }
    if (isZoneRedundant(found) !== isZoneRedundant(account.sku)) {
      throw new ArmError(
        400,
        'InvalidValuesForRequestParameters',
        'Values for request parameters are invalid: sku.',
      );
    }
    sku = found;
  }
  if (update.tags && typeof update.tags === 'object')
    state.tags = { ...(update.tags as Record<string, string>) };
  const regainsGeoRedundancy = isGeoRedundantSku(sku) && !isGeoRedundantSku(account.sku);
  account.sku = sku;
  const bootstrap = regainsGeoRedundancy ? ctx.options.bootstrapStorageReplication : undefined;
  if (bootstrap) {
    state.bootstrapping = true;
    void bootstrap(account)
      .catch((error: unknown) => {
        process.stderr.write(`initial geo-replication of ${account.name} failed: ${String(error)}\n`);
      })
      .finally(() => {
        state.bootstrapping = false;
      });
  }
}

function isZoneRedundant(sku: Sku): boolean {
  return sku.endsWith('ZRS');
}

async function failover(ctx: EmulatorContext, request: ArmRequest, state: AccountArmState) {
  const account = requireStorageAccount(ctx, request.params);
  const planned = (request.url.searchParams.get('failoverType') ?? '').toLowerCase() === 'planned';
  const target = otherRegion(account.region);
  // An unplanned failover is what one calls when the primary region is out; a planned one "is only
  // available while the primary and secondary endpoints are available" (StorageAccounts_Failover).
  if (planned) ctx.assertRegionUp(account.region, PROVIDER);
  ctx.assertRegionUp(target, PROVIDER);
  if (!isGeoRedundantSku(account.sku)) {
    throw new ArmError(
      400,
      'FailoverNotSupported',
      `Storage account '${account.name}' is ${account.sku}; failover needs a geo-redundant SKU (GRS, RA-GRS, GZRS, RA-GZRS).`,
    );
  }
  if (state.busy) throw conflictingOperation(`storage account '${account.name}'`);
  const stats = geoReplicationOf(ctx, account, state);
  if (!(planned ? stats.canPlannedFailover : stats.canFailover)) {
    throw new ArmError(
      409,
      'FailoverNotAllowed',
      `Cannot ${planned ? 'plan a failover of' : 'fail over'} storage account '${account.name}': geo-replication is ` +
        `${stats.status} (geoReplicationStats.${planned ? 'canPlannedFailover' : 'canFailover'} is false).`,
    );
  }
  state.busy = 'failover';
  account.failoverInProgress = true;
  const operation = ctx.lro.begin({
    provider: PROVIDER,
    location: ctx.locationOf(account.region),
    resourceGroup: account.resourceGroup,
    apiVersion: request.apiVersion,
    delayInMs: ctx.options.storageOperationDurationInMs ?? 1000,
    run: async () => {
      // The data first: a planned failover waits for the secondary to hold every write; an unplanned
      // one makes the secondary's data the account's, losing what it did not hold yet.
      await ctx.options.failOverStorageData?.(account, planned ? 'Planned' : 'Unplanned');
      account.region = target;
      // "The account is converted to LRS" after an unplanned failover; "in the case of a Planned
      // Failover, the primary and secondary clusters are swapped after failover and the account
      // remains geo-replicated" (REST spec, StorageAccounts_Failover).
      if (!planned) account.sku = 'Standard_LRS';
      state.lastGeoFailoverTime = new Date();
    },
  });
  void operation.settled.then(() => {
    state.busy = undefined;
    account.failoverInProgress = false;
  });
  return ctx.lro.accepted(operation);
}

/**
 * `geoReplicationStats` of a geo-redundant account. `status` is `Live` unless the secondary or its
 * region is out (`Unavailable`). Account failover needs a live secondary: `canFailover` and
 * `canPlannedFailover` are false otherwise (the GeoReplicationStats model: "whether or not account
 * failover is supported for the account"; the disaster-recovery guidance's prerequisites,
 * learn.microsoft.com/azure/storage/common/storage-disaster-recovery-guidance, need the secondary
 * replicating). Hierarchical-namespace accounts can fail over: unplanned failover is generally
 * available for them and planned failover is in preview there (same page, "Unsupported features and
 * services"); the emulator reports both as possible, as a subscription registered for the preview sees.
 */
function geoReplicationOf(ctx: EmulatorContext, account: LocalStorageAccount, state: AccountArmState) {
  const { faults } = ctx.options;
  const reachable = !faults.secondaryUnavailable && !faults.regionsDown.has(otherRegion(account.region));
  const status: 'Live' | 'Unavailable' | 'Bootstrap' = !reachable
    ? 'Unavailable'
    : state.bootstrapping
      ? 'Bootstrap'
      : 'Live';
  const live = status === 'Live';
  return { status, canFailover: live, canPlannedFailover: live };
}

function accountBody(
  ctx: EmulatorContext,
  account: LocalStorageAccount,
  state: AccountArmState,
  expandGeoStats: boolean,
): Record<string, unknown> {
  const { faults, subscriptionId } = ctx.options;
  const location = ctx.locationOf(account.region);
  const geo = isGeoRedundantSku(account.sku);
  const secondaryRegion = otherRegion(account.region);
  const replication = geoReplicationOf(ctx, account, state);
  const secondaryAvailable = replication.status === 'Live';
  const created = state.creationTime.toISOString();
  const primaryBlob = withTrailingSlash(ctx.options.blobEndpoint(account.name, false));
  const properties: Record<string, unknown> = {
    provisioningState: 'Succeeded',
    creationTime: created,
    primaryEndpoints: { blob: primaryBlob, ...dfsEndpoint(account, primaryBlob) },
    primaryLocation: location,
    statusOfPrimary: 'available',
    isHnsEnabled: account.isHnsEnabled,
    minimumTlsVersion: state.minimumTlsVersion,
    supportsHttpsTrafficOnly: state.supportsHttpsTrafficOnly,
    allowBlobPublicAccess: state.allowBlobPublicAccess,
    allowSharedKeyAccess: true,
    accessTier: 'Hot',
    keyCreationTime: { key1: created, key2: created },
    encryption: {
      keySource: 'Microsoft.Storage',
      services: {
        blob: { enabled: true, keyType: 'Account', lastEnabledTime: created },
        file: { enabled: true, keyType: 'Account', lastEnabledTime: created },
      },
    },
    // The rules the storage front enforces (local/networkRules.ts), as NetworkRuleSet.
    networkAcls: networkRulesOf(faults, account.name),
  };
  if (state.busy === 'failover') properties.failoverInProgress = true;
  if (state.lastGeoFailoverTime) properties.lastGeoFailoverTime = state.lastGeoFailoverTime.toISOString();
  if (geo) {
    properties.secondaryLocation = ctx.locationOf(secondaryRegion);
    properties.statusOfSecondary = replication.status === 'Unavailable' ? 'unavailable' : 'available';
  }
  if (isReadAccessSku(account.sku)) {
    const secondaryBlob = withTrailingSlash(ctx.options.blobEndpoint(account.name, true));
    properties.secondaryEndpoints = { blob: secondaryBlob, ...dfsEndpoint(account, secondaryBlob) };
  }
  if (expandGeoStats && geo) {
    const pausedAt = faults.storageReplicationPausedAt;
    const stats: Record<string, unknown> = {
      ...replication,
      postFailoverRedundancy: account.sku.endsWith('GZRS') ? 'Standard_ZRS' : 'Standard_LRS',
      postPlannedFailoverRedundancy: account.sku,
    };
    // Azure leaves lastSyncTime at its default "if the secondary is offline or we are in bootstrap"
    // (GeoReplicationStats.lastSyncTime, REST spec); paused replication
    // keeps the time it stopped at. A replicated secondary reports how far it really holds the
    // primary's writes (local/geoReplication.ts).
    const lastSync =
      pausedAt || secondaryAvailable ? (account.lastSyncTime?.() ?? pausedAt ?? new Date()) : undefined;
    if (lastSync) stats.lastSyncTime = lastSync.toISOString().replace(/\.\d{3}Z$/, 'Z');
    properties.geoReplicationStats = stats;
  }
  return {
    id: `/subscriptions/${subscriptionId}/resourceGroups/${account.resourceGroup}/providers/${RESOURCE_TYPE}/${account.name}`,
    name: account.name,
    type: RESOURCE_TYPE,
    location,
    kind: state.kind,
    sku: { name: account.sku, tier: 'Standard' },
    tags: state.tags,
    properties,
  };
}

/**
 * The `dfs` endpoint of an account with a hierarchical namespace: the storage front's Data Lake
 * endpoint beside the blob one (`local/hns/endpoints.ts`). Azure lists `dfs` for every StorageV2
 * account; an account without a hierarchical namespace gets none here, since the front serves the
 * Data Lake API for HNS accounts only.
 */
function dfsEndpoint(account: LocalStorageAccount, blobEndpoint: string): { dfs?: string } {
  return account.isHnsEnabled ? { dfs: dfsEndpointOf(blobEndpoint) } : {};
}

function findAccount(ctx: EmulatorContext, name: string): LocalStorageAccount | undefined {
  return ctx.options.storageAccounts.find((a) => sameName(a.name, name));
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** A stable second key, so that `key2` looks like a key; Azurite was not started with it. */
function secondKey(account: LocalStorageAccount): string {
  return createHash('sha512').update(`key2:${account.name}:${account.key}`).digest('base64');
}
