import type { StorageAccount } from '@azure/arm-storage';
import type { ServiceGetStatisticsResponse } from '@azure/storage-blob';
import type { ClientFactory } from '../clients/ClientFactory.js';
import { learnStorageEndpoints } from '../clients/storageEndpoints.js';
import type { AppSettings } from '../config/ConfigSource.js';
import type { DrConfig, Sensitive } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import { assessCopyNetworkAccess, copyNetworkNamesOf } from '../copy/copyNetworkAccess.js';
import { codeOf, statusOf } from '../errors.js';
import { describeError } from '../redact.js';
import {
  describeSasExpiry,
  parseSas,
  readSourceSas,
  sasExpiryState,
  sasQueryString,
} from '../source/sourceCredential.js';
import { type HealthReport, ReportBuilder, roundSeconds, statusAgainstThreshold } from './HealthReport.js';
import { checkKeyVault } from './keyVaultHealth.js';
import { checkSourceAuth } from './sourceAccessHealth.js';

export interface StorageGeoReplicationDeps {
  clients: ClientFactory;
  clock: () => Date;
  /** For the source SAS when configuration comes from app settings. */
  settings: AppSettings;
}

/** SKUs whose secondary endpoint can be read: what the DR procedure copies from. */
export const READ_ACCESS_SKUS: readonly string[] = ['Standard_RAGRS', 'Standard_RAGZRS'];

/**
 * The read-access SKU an account of `sku` is updated to, keeping its zone redundancy, and the
 * command that does it.
 */
export function readAccessSkuUpdate(
  account: { name: string; resourceGroup: string },
  sku: string | undefined,
): string {
  const target = sku?.includes('ZRS') ? 'Standard_RAGZRS' : 'Standard_RAGRS';
  return `az storage account update --name ${account.name} --resource-group ${account.resourceGroup} --sku ${target}`;
}

/**
 * Checks that the primary storage account's data could be read from its RA-GRS secondary now, and how
 * much of it a failover would lose (storage RPO).
 *
 * Two sources are asked at once:
 * - the management plane: `GET storageAccounts/{account}?$expand=geoReplicationStats` gives the SKU,
 *   `geoReplicationStats` (`status`, `lastSyncTime`, `canFailover`) and `isHnsEnabled`;
 * - the data plane: Get Blob Service Stats on `<account>-secondary`, which is what a failover copy
 *   reads from. It proves the secondary answers, and it carries its own `lastSyncTime`.
 * The Storage resource provider does not fail over with the region, so when the management plane
 * does not answer (after the SDK's retries of 429/503) the data plane alone is used: the report is
 * then `Degraded` (SKU and `canFailover` unverified) and `facts.source` says `data-plane`. When the
 * secondary does not answer, the report is `Unhealthy`: a failover could not read the data.
 *
 * RPO is the age of `lastSyncTime` when it was observed, the larger of the two sources when both
 * answer: every write before it is readable on the secondary, anything after may be lost. Over
 * `maxStorageRpoSeconds` → Degraded; over twice → Unhealthy.
 *
 * The copy's source credential (`kyvos-dr-source-auth`, `checkSourceAuth`) must exist and be proven on
 * the secondary. A stored SAS must list the container on the secondary (one page of one blob) and not
 * expire within `sasExpiryWarningDays` (else Degraded, with the date); a missing, expired or refused
 * SAS is Unhealthy, since the failover copy reads with it. The SAS is never shown.
 *
 * Read-only and idempotent; safe to run at any frequency.
 */
export async function checkStorageGeoReplication(
  config: DrConfig,
  deps: StorageGeoReplicationDeps,
  options: { abortSignal?: AbortSignal } = {},
): Promise<HealthReport> {
  const checkedAt = deps.clock();
  const { abortSignal } = options;
  const account = config.primary.storageAccount;
  const maxRpoSeconds = config.thresholds.maxStorageRpoSeconds;
  const report = new ReportBuilder();
  report.facts.account = account;
  report.facts.resourceGroup = config.primary.resourceGroup;
  report.facts.maxRpoSeconds = maxRpoSeconds;

  // The secondary is asked at the endpoint ARM reports (learned once per process).
  const endpoints = await learnStorageEndpoints(deps.clients, sourceAccountOf(config), { abortSignal });
  const secondaryEndpoint = deps.clients.blobEndpoint(account, true);
  report.facts.secondaryEndpoint = secondaryEndpoint;
  report.facts.endpointsFromArm = endpoints.learned;
  // Each answer is timestamped when it arrives: the RPO is the age of a last-sync time when it was
  // observed, not when the slower source (retrying a throttled management plane) gave up.
  const observed = async <T>(call: Promise<T>) => {
    const value = await call;
    return { value, at: deps.clock() };
  };
  const [management, dataPlane] = await Promise.allSettled([
    observed(
      deps.clients
        .storageManagement(config.subscriptionId)
        .storageAccounts.getProperties(config.primary.resourceGroup, account, {
          expand: 'geoReplicationStats',
          abortSignal,
        }),
    ),
    observed(deps.clients.blobService(account, { secondary: true }).getStatistics({ abortSignal })),
  ]);
  const measuredAt = deps.clock();

  const source =
    management.status === 'fulfilled'
      ? dataPlane.status === 'fulfilled'
        ? 'both'
        : 'management'
      : dataPlane.status === 'fulfilled'
        ? 'data-plane'
        : 'none';
  report.facts.source = source;

  /** Each source's last-sync time and when it was observed. */
  const lastSyncTimes: Array<{ lastSync: Date; at: Date }> = [];
  let geoStatus: string | undefined;

  if (management.status === 'fulfilled') {
    const found = fromManagement(management.value.value, config, report);
    if (found.lastSyncTime) lastSyncTimes.push({ lastSync: found.lastSyncTime, at: management.value.at });
    geoStatus = found.geoStatus;
  } else {
    const error = management.reason;
    report.facts.managementError = describeError(error);
    if (statusOf(error) === 404) {
      report.note(
        'Unhealthy',
        `Storage account "${account}" was not found in resource group "${config.primary.resourceGroup}" (subscription ${config.subscriptionId}): check the secrets ${CONFIG_SECRETS.primaryStorageAccount} and ${CONFIG_SECRETS.primaryResourceGroup}.`,
      );
    } else {
      report.note(
        'Degraded',
        `The Storage management plane did not answer for "${account}" after retries (${describeError(error)}): SKU and canFailover are unverified; the figures come from the secondary endpoint (data plane).`,
      );
    }
  }

  let secondaryReachable = false;
  if (dataPlane.status === 'fulfilled') {
    secondaryReachable = true;
    const geo = (dataPlane.value.value as ServiceGetStatisticsResponse).geoReplication;
    report.facts.dataPlaneStatus = geo?.status ?? null;
    const lastSyncOn = validTime(geo?.lastSyncOn);
    report.facts.dataPlaneLastSyncTime = lastSyncOn?.toISOString() ?? null;
    if (lastSyncOn) lastSyncTimes.push({ lastSync: lastSyncOn, at: dataPlane.value.at });
    geoStatus ??= geo?.status ? capitalize(geo.status) : undefined;
  } else {
    const error = dataPlane.reason;
    report.facts.dataPlaneError = describeError(error);
    const status = statusOf(error);
    if (status === undefined || status >= 500) {
      report.note(
        'Unhealthy',
        `Secondary endpoint unreachable (${secondaryEndpoint}: ${describeError(error)}): a failover could not read the data.`,
      );
    } else {
      report.note(
        'Unhealthy',
        `The secondary endpoint ${secondaryEndpoint} refused Get Blob Service Stats (${describeError(error)}): a failover could not read the data; ${refusalAdvice(error)}`,
      );
    }
  }

  report.facts.geoStatus = geoStatus ?? null;
  if (geoStatus === 'Unavailable') {
    report.note(
      'Unhealthy',
      'Geo-replication status is Unavailable: the secondary location is not available, so a failover could not read the data until it is Live again.',
    );
  } else if (geoStatus === 'Bootstrap') {
    report.note(
      'Degraded',
      'Geo-replication status is Bootstrap: the initial copy to the secondary is still running, so the secondary does not yet hold all the data.',
    );
  }

  let rpoSeconds: number | null = null;
  const ages = lastSyncTimes.map(({ lastSync, at }) => ({
    lastSync,
    age: at.getTime() - lastSync.getTime(),
  }));
  const oldest = ages.sort((a, b) => b.age - a.age)[0];
  if (oldest) {
    const { lastSync } = oldest;
    rpoSeconds = roundSeconds(oldest.age);
    report.facts.rpoLastSyncTime = lastSync.toISOString();
    const status = statusAgainstThreshold(rpoSeconds, maxRpoSeconds);
    if (status !== 'Healthy') {
      report.note(
        status,
        `Storage RPO is ${rpoSeconds} s (last sync ${lastSync.toISOString()}), over ${status === 'Unhealthy' ? 'twice ' : ''}the threshold of ${maxRpoSeconds} s: geo-replication is behind, and a failover now would lose the writes since the last sync.`,
      );
    }
  } else {
    report.facts.rpoNote =
      source === 'none'
        ? 'neither the management plane nor the secondary endpoint answered'
        : 'no lastSyncTime was reported (Azure omits it while the secondary is unavailable or bootstrapping)';
    if (source !== 'none' && geoStatus !== 'Unavailable') {
      report.note('Degraded', 'No lastSyncTime was reported by either source: the storage RPO is unknown.');
    }
  }

  if (config.sourceAuth === 'stored-sas' && config.sourceSasSecretName) {
    await checkSourceSas(config, deps, report, { secondaryReachable, now: measuredAt, abortSignal });
  }
  await checkSourceAuth(config, report, { ...deps, secondaryReachable, abortSignal });
  await checkKeyVault(config, report, { ...deps, abortSignal });

  return report.build('storage', rpoSeconds, checkedAt);
}

/**
 * The secondary's `lastSyncTime` now, from both sources the health check asks (ARM
 * `geoReplicationStats` and Get Blob Service Stats on the secondary); the older of the two when both
 * report one, since each only guarantees the writes before its own value. Null, with the reason,
 * when neither does.
 */
export async function readLastSyncTime(
  config: DrConfig,
  clients: ClientFactory,
  options: { abortSignal?: AbortSignal } = {},
): Promise<{ lastSyncTime: Date | null; problem?: string }> {
  const { abortSignal } = options;
  const account = config.primary.storageAccount;
  await learnStorageEndpoints(clients, sourceAccountOf(config), { abortSignal });
  const [management, dataPlane] = await Promise.allSettled([
    clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.getProperties(config.primary.resourceGroup, account, {
        expand: 'geoReplicationStats',
        abortSignal,
      }),
    clients.blobService(account, { secondary: true }).getStatistics({ abortSignal }),
  ]);
  const times: Date[] = [];
  const problems: string[] = [];
  if (management.status === 'fulfilled') {
    const time = validTime(management.value.geoReplicationStats?.lastSyncTime);
    if (time) times.push(time);
    else problems.push('ARM geoReplicationStats reports no lastSyncTime');
  } else problems.push(`ARM: ${describeError(management.reason)}`);
  if (dataPlane.status === 'fulfilled') {
    const time = validTime(dataPlane.value.geoReplication?.lastSyncOn);
    if (time) times.push(time);
    else problems.push('Get Blob Service Stats reports no LastSyncTime');
  } else problems.push(`secondary endpoint: ${describeError(dataPlane.reason)}`);
  const oldest = times.sort((a, b) => a.getTime() - b.getTime())[0];
  return oldest ? { lastSyncTime: oldest } : { lastSyncTime: null, problem: problems.join('; ') };
}

function sourceAccountOf(config: DrConfig) {
  return {
    subscriptionId: config.subscriptionId,
    resourceGroup: config.primary.resourceGroup,
    account: config.primary.storageAccount,
  };
}

function fromManagement(
  account: StorageAccount,
  config: DrConfig,
  report: ReportBuilder,
): { lastSyncTime?: Date; geoStatus?: string } {
  const sku = account.sku?.name;
  report.facts.sku = sku ?? null;
  report.facts.isHnsEnabled = account.isHnsEnabled ?? null;
  report.facts.secondaryLocation = account.secondaryLocation ?? null;
  report.facts.statusOfSecondary = account.statusOfSecondary ?? null;
  const secondary = account.secondaryLocation?.toLowerCase().replace(/\s+/g, '');
  if (secondary && secondary !== config.dr.region) {
    report.note(
      'Degraded',
      `The geo-replicated copy of "${config.primary.storageAccount}" is in ${account.secondaryLocation}, but the configured DR region is ${config.dr.region}: the failover would create the DR account and promote the replica away from the data's copy. Set ${CONFIG_SECRETS.drRegion} to the account's secondary region, or move the DR resources.`,
    );
  }
  if (!sku || !READ_ACCESS_SKUS.includes(sku)) {
    const update = readAccessSkuUpdate(
      { name: config.primary.storageAccount, resourceGroup: config.primary.resourceGroup },
      sku,
    );
    report.note(
      'Unhealthy',
      `Storage account "${config.primary.storageAccount}" has SKU ${sku ?? 'unknown'}, without a readable secondary: the DR procedure copies from the RA-GRS secondary endpoint. Enable read access: ${update}`,
    );
  }
  noteCopyNetworkAccess(account, config, report);
  const geo = account.geoReplicationStats;
  report.facts.canFailover = geo?.canFailover ?? null;
  report.facts.canPlannedFailover = geo?.canPlannedFailover ?? null;
  const lastSyncTime = validTime(geo?.lastSyncTime);
  report.facts.lastSyncTime = lastSyncTime?.toISOString() ?? null;
  if (!geo && sku && READ_ACCESS_SKUS.includes(sku)) {
    report.note(
      'Degraded',
      'The management plane returned no geoReplicationStats for a geo-redundant account.',
    );
  }
  return { ...(lastSyncTime ? { lastSyncTime } : {}), ...(geo?.status ? { geoStatus: geo.status } : {}) };
}

/**
 * The source account's network rules, judged for the failover copy, which the DR account's storage
 * service fetches (`assessCopyNetworkAccess`): a copy they certainly refuse is Unhealthy, one they
 * may refuse is Degraded, each with the fix. The app's own reads of the secondary are proved by the
 * data-plane calls of this check.
 */
function noteCopyNetworkAccess(account: StorageAccount, config: DrConfig, report: ReportBuilder): void {
  const access = assessCopyNetworkAccess(account, copyNetworkNamesOf(config));
  report.facts.networkDefaultAction = access.defaultAction;
  report.facts.publicNetworkAccess = access.publicNetworkAccess;
  report.facts.copyNetworkAccess = access.verdict;
  if (access.verdict === 'allowed' || !access.problem) return;
  const problem = access.problem.charAt(0).toUpperCase() + access.problem.slice(1);
  report.note(
    access.verdict === 'denied' ? 'Unhealthy' : 'Degraded',
    `A failover copy is at risk: ${problem}`,
  );
}

async function checkSourceSas(
  config: DrConfig,
  deps: StorageGeoReplicationDeps,
  report: ReportBuilder,
  context: { secondaryReachable: boolean; now: Date; abortSignal: AbortSignal | undefined },
): Promise<void> {
  const secretName = config.sourceSasSecretName as string;
  const what = `The source SAS in secret "${secretName}"`;
  report.facts.sasSecretName = secretName;
  report.facts.sasExpiresOn = null;
  report.facts.sasCanListSecondary = null;
  let sas: Sensitive | undefined;
  try {
    sas = await readSourceSas(config, deps, { abortSignal: context.abortSignal });
  } catch (error) {
    report.note('Unhealthy', `${describeError(error)} A failover copy reads the source with it.`);
    return;
  }
  if (!sas) return;
  const info = parseSas(sas);
  if ('problem' in info) {
    report.note('Unhealthy', `${what} ${info.problem}: a failover copy could not read the source with it.`);
    return;
  }
  const warningDays = config.thresholds.sasExpiryWarningDays;
  const { state, daysLeft } = sasExpiryState(info, context.now, warningDays);
  if (info.expiresOn && daysLeft !== undefined) {
    report.facts.sasExpiresOn = info.expiresOn.toISOString();
    report.facts.sasDaysToExpiry = Math.round(daysLeft * 10) / 10;
    if (state === 'expired') {
      report.note(
        'Unhealthy',
        `${what} ${describeSasExpiry(info, context.now)}: issue a new read/list SAS and store it in the secret.`,
      );
    } else if (state === 'expiring') {
      report.note(
        'Degraded',
        `${what} ${describeSasExpiry(info, context.now)}, within the ${warningDays}-day warning window: issue a new read/list SAS and store it in the secret.`,
      );
    }
  } else {
    report.facts.sasStoredAccessPolicy = info.storedAccessPolicy ?? null;
  }
  if (!context.secondaryReachable) return;
  try {
    const container = deps.clients
      .blobService(config.primary.storageAccount, { secondary: true, sas: sasQueryString(sas) })
      .getContainerClient(config.primary.container);
    await container.listBlobsFlat().byPage({ maxPageSize: 1 }).next();
    report.facts.sasCanListSecondary = true;
  } catch (error) {
    report.facts.sasCanListSecondary = false;
    report.note(
      'Unhealthy',
      `${what} cannot list container "${config.primary.container}" on the secondary endpoint (${describeError(error)}): a failover copy could not read the source; ${codeOf(error) === 'AuthorizationFailure' ? refusalAdvice(error) : 'issue a SAS with read and list permissions (sp=rl) for the container.'}`,
    );
  }
}

/**
 * What to check when the secondary refuses the app: its network rules when the refusal is the
 * firewall's (`AuthorizationFailure`, "This request is not authorized to perform this operation."),
 * else the identity's role and the SKU.
 */
function refusalAdvice(error: unknown): string {
  if (codeOf(error) === 'AuthorizationFailure') {
    return "the account's network rules (firewall) do not admit the Function app's network: add a virtual network rule for the app's integration subnet (az storage account network-rule add --subnet <subnet id>), or an IP rule for its outbound address when the app runs in another region.";
  }
  return 'give the Function\'s identity "Storage Blob Data Reader" on the account and check that the SKU has read access (RA-GRS).';
}

/** A usable time: services may send a default (year 1) when the value is unknown. */
function validTime(value: Date | string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() < 2000 ? undefined : date;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
}
