import type { DrConfig, StorageStrategy } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import type { CopyEstimate } from '../rehearsal/copyEstimate.js';

/**
 * The two ways a failover brings the data to the DR region, compared for the operator's own data
 * before the decision: the rehearsal and the dry run show it. Each figure and claim names where it
 * comes from: a measurement, an extrapolation, or Azure's documentation (quoted, not measured).
 */

const GUIDANCE = 'https://learn.microsoft.com/azure/storage/common/storage-disaster-recovery-guidance';
/** "The time and cost of failing over" in Azure's storage disaster-recovery guidance. */
export const ACCOUNT_FAILOVER_TIME_SOURCE = `${GUIDANCE}#the-time-and-cost-of-failing-over`;
const UNPLANNED =
  'https://learn.microsoft.com/azure/storage/common/storage-failover-customer-managed-unplanned';
const PLANNED = 'https://learn.microsoft.com/azure/storage/common/storage-failover-customer-managed-planned';
const LAST_SYNC = 'https://learn.microsoft.com/azure/storage/common/last-sync-time-get';
const RUNBOOK = 'docs/runbook.md, "Choosing a storage strategy"';

/**
 * Azure's documented typical duration of a customer-managed account failover: "The time it takes
 * for a customer-managed failover to complete after being initiated can vary, although it typically
 * takes less than one hour" (ACCOUNT_FAILOVER_TIME_SOURCE). An upper figure for the usual case, not
 * a measurement and not a bound.
 */
export const DOCUMENTED_ACCOUNT_FAILOVER_SECONDS = 3600;

/** A statement about a strategy and where it comes from (a URL, or this app's measurement). */
interface StrategyClaim {
  claim: string;
  source: string;
}

/** Where the storage part's RTO comes from. */
type StorageRtoBasis = 'extrapolated' | 'documented' | 'unknown';

export interface StorageStrategyAssessment {
  strategy: StorageStrategy;
  /** The strategy the configuration names (`kyvos-dr-storage-strategy`); a run may override it. */
  configured: boolean;
  /** The storage part of the RTO: the copy, or the account failover. Null when unknown. */
  rto: { seconds: number | null; basis: StorageRtoBasis } & StrategyClaim;
  /**
   * The storage RPO: writes after the secondary's `lastSyncTime` are not in the DR region, for
   * both strategies. Null when no `lastSyncTime` could be read.
   */
  rpo: { seconds: number | null } & StrategyClaim;
  /** What the strategy changes, keeps or loses, each with its source. */
  changes: StrategyClaim[];
}

/** The copy's figures, with where they were measured. */
interface RehearsedCopy {
  estimate: Pick<CopyEstimate, 'copySeconds' | 'model'>;
  /** "this rehearsal", or "rehearsal rh-… (ended …, 1 200 blobs)". */
  measuredBy: string;
}

export interface StorageStrategyInput {
  config: Pick<DrConfig, 'storageStrategy' | 'copyAccessControl' | 'primary' | 'dr'>;
  /** The storage RPO now (age of `lastSyncTime`), and that time. */
  storageRpoSeconds: number | null;
  storageLastSyncTime: string | null;
  /** The copy's extrapolation, when a rehearsal measured one. */
  copy: RehearsedCopy | undefined;
}

/** Both strategies, the configured one first. Pure. */
export function assessStorageStrategies(input: StorageStrategyInput): StorageStrategyAssessment[] {
  const rpo = rpoOf(input);
  const both = [copyAssessment(input, rpo), accountFailoverAssessment(input, rpo)];
  return both.sort((a, b) => Number(b.configured) - Number(a.configured));
}

function rpoOf(input: StorageStrategyInput): StorageStrategyAssessment['rpo'] {
  const since = input.storageLastSyncTime ? ` (last sync ${input.storageLastSyncTime})` : '';
  return {
    seconds: input.storageRpoSeconds,
    claim:
      input.storageRpoSeconds === null
        ? 'unknown: no lastSyncTime could be read; every write after it is lost'
        : `writes of the last ${input.storageRpoSeconds} s${since}, after the secondary's lastSyncTime, are lost unless the run is planned and quiesced`,
    source: `${LAST_SYNC}; measured now by the storage health check`,
  };
}

function copyAssessment(
  input: StorageStrategyInput,
  rpo: StorageStrategyAssessment['rpo'],
): StorageStrategyAssessment {
  const { config, copy } = input;
  const acl =
    config.copyAccessControl === 'off'
      ? 'ACLs, owners and groups are not copied (copyAccessControl off): set them again on the DR account'
      : 'ACLs, owners and groups are copied path by path (one extra call per path)';
  return {
    strategy: 'copy',
    configured: config.storageStrategy === 'copy',
    rto: copy
      ? {
          seconds: copy.estimate.copySeconds,
          basis: 'extrapolated',
          claim: `the copy of the whole source, extrapolated: ${copy.estimate.model}`,
          source: `measured by ${copy.measuredBy}`,
        }
      : {
          seconds: null,
          basis: 'unknown',
          claim: 'unknown: no rehearsal has measured the copy yet',
          source: 'run kyvos-dr rehearse to measure it',
        },
    rpo,
    changes: [
      {
        claim: `the data lands in another account, ${config.dr.storageAccount}: every Kyvos dataset naming the ADLS Gen2 account ${config.primary.storageAccount} must be renamed to it`,
        source: RUNBOOK,
      },
      {
        claim: `the primary account ${config.primary.storageAccount} is kept intact (the copy only reads its -secondary endpoint): the failover can be tried again, and the primary used again, as it was`,
        source: RUNBOOK,
      },
      { claim: acl, source: RUNBOOK },
      {
        claim: `the DR account has the redundancy of its SKU (${config.dr.storageSku}), and the primary keeps its geo-redundancy`,
        source: RUNBOOK,
      },
    ],
  };
}

function accountFailoverAssessment(
  input: StorageStrategyInput,
  rpo: StorageStrategyAssessment['rpo'],
): StorageStrategyAssessment {
  const name = input.config.primary.storageAccount;
  return {
    strategy: 'accountFailover',
    configured: input.config.storageStrategy === 'accountFailover',
    rto: {
      seconds: DOCUMENTED_ACCOUNT_FAILOVER_SECONDS,
      basis: 'documented',
      claim:
        'typically less than one hour whatever the data size, as Azure documents it (not measured for this account)',
      source: ACCOUNT_FAILOVER_TIME_SOURCE,
    },
    rpo,
    changes: [
      {
        claim: `the account keeps its name ${name} and its endpoints, with its directories and ACLs: no dataset is renamed`,
        source: UNPLANNED,
      },
      {
        claim:
          'after an unplanned failover the account is locally redundant (LRS) in the new primary region and the account in the original region is deleted; re-enabling geo-redundancy re-replicates the data (billed egress) and archived blobs must be rehydrated first',
        source: ACCOUNT_FAILOVER_TIME_SOURCE,
      },
      {
        claim:
          'it cannot be undone like a copy: going back is a failback, another failover once geo-redundancy is re-enabled and synced',
        source: UNPLANNED,
      },
      {
        claim:
          'a planned failover keeps geo-redundancy and loses no data, but for hierarchical-namespace accounts it is in preview; the unplanned failover is supported for them',
        source: `${PLANNED}; ${GUIDANCE}`,
      },
      {
        claim: `the identity needs Microsoft.Storage/storageAccounts/failover/action on ${name}, and Azure must report geoReplicationStats.canFailover (kyvos-dr doctor checks both)`,
        source: 'https://learn.microsoft.com/rest/api/storagerp/storage-accounts/failover',
      },
    ],
  };
}

/** How to choose, in a sentence: the setting and the per-run override. */
export const STORAGE_STRATEGY_CHOICE = `Set the secret ${CONFIG_SECRETS.storageStrategy} (copy or accountFailover), or choose per run: kyvos-dr failover --strategy, or the request field strategy.`;
