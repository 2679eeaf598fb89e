import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import { ACCOUNT_FAILOVER_ACTION } from '../doctor/permissionNeeds.js';
import { readScopePermissions } from '../doctor/permissions.js';
import { permissionsAllow } from '../doctor/rolePermissions.js';
import { describeError } from '../redact.js';

/**
 * `failoverType` of `POST …/storageAccounts/{name}/failover` (Storage RP, 2023-01-01 and later):
 * `Planned` keeps the account's geo-redundancy and needs both regions; absent, the failover is the
 * customer-managed unplanned one, after which the account is locally redundant in the new region.
 */
export type AccountFailoverType = 'Planned' | 'Unplanned';

/** What ARM says about the primary account, as far as an account failover is concerned. */
export interface AccountFailoverFacts {
  sku: string | null;
  /** `geoReplicationStats.canFailover`; null when ARM did not say. */
  canFailover: boolean | null;
  /** `geoReplicationStats.canPlannedFailover`; null when ARM did not say. */
  canPlannedFailover: boolean | null;
  /** Whether the identity holds `ACCOUNT_FAILOVER_ACTION` on the account; null when its permissions could not be read. */
  mayFailOver: boolean | null;
  /** Why the facts are incomplete (ARM or the permissions API could not be read), for the warnings. */
  unreadable: string[];
}

/** The verdict on an account failover: the reasons to refuse the run, warnings, and the failover type it will ask for. */
export interface AccountFailoverVerdict {
  reasons: string[];
  warnings: string[];
  failoverType: AccountFailoverType;
  /** Why the failover type is what it is (a planned run that fails over unplanned, say). */
  failoverTypeReason: string;
  /** The account's SKU before the failover, as ARM reported it (null when it could not be read). */
  sku: string | null;
}

const GEO_REDUNDANT = /^Standard_(RA)?G(Z)?RS$/i;

/**
 * Whether an account failover can finish, from the facts. Refused: a SKU that is not geo-redundant
 * (GRS, RA-GRS, GZRS, RA-GZRS), `canFailover` false (geo-replication not `Live`: the secondary is
 * not ready to take over), an identity without the failover action.
 *
 * A planned run asks for `failoverType=Planned` when `canPlannedFailover` is true. Otherwise it asks
 * for the unplanned failover: Azure's disaster-recovery guidance for storage lists planned failover
 * for hierarchical-namespace accounts as a preview, so an account may well be unable to; the runbook
 * runs the failover only after the quiesce step has proved the secondary synced past the moment
 * Kyvos stopped, so the unplanned failover loses no acknowledged write. What it changes is the
 * redundancy: the account is locally redundant in the new region, and the report says to re-enable
 * geo-redundancy. A forced run always asks for the unplanned failover, which is the one that works
 * while the primary region is out.
 */
export function judgeAccountFailover(
  facts: AccountFailoverFacts,
  mode: 'planned' | 'forced',
  account: string,
): AccountFailoverVerdict {
  const reasons: string[] = [];
  const warnings = facts.unreadable.map(
    (what) => `cannot check the account failover of "${account}": ${what}`,
  );
  if (facts.sku !== null && !GEO_REDUNDANT.test(facts.sku)) {
    reasons.push(
      `the storage account "${account}" is ${facts.sku}: an account failover needs a geo-redundant SKU (GRS, RA-GRS, GZRS, RA-GZRS); use the strategy copy, or make the account geo-redundant and wait for its first sync`,
    );
  }
  if (facts.canFailover === false) {
    reasons.push(
      `the storage account "${account}" cannot fail over now (geoReplicationStats.canFailover is false: geo-replication is not Live); wait until it is, or use the strategy copy`,
    );
  }
  if (facts.mayFailOver === false) {
    reasons.push(
      `the identity may not fail over the storage account "${account}" (${ACCOUNT_FAILOVER_ACTION}); assign the role "Kyvos DR Storage Failover Operator" at the primary resource group (infra/rbac-primary.json, with allowAccountFailover true)`,
    );
  }
  if (mode === 'forced') {
    return {
      reasons,
      warnings,
      sku: facts.sku,
      failoverType: 'Unplanned',
      failoverTypeReason: 'forced run: the unplanned failover, which does not need the primary region',
    };
  }
  if (facts.canPlannedFailover === true) {
    return {
      reasons,
      warnings,
      sku: facts.sku,
      failoverType: 'Planned',
      failoverTypeReason: 'canPlannedFailover is true',
    };
  }
  return {
    reasons,
    warnings,
    sku: facts.sku,
    failoverType: 'Unplanned',
    failoverTypeReason: `canPlannedFailover is ${facts.canPlannedFailover === false ? 'false' : 'not reported'} (planned failover of hierarchical-namespace accounts is a preview); the unplanned failover starts only after the quiesce proved the secondary in sync, so it loses no acknowledged write, and leaves the account locally redundant`,
  };
}

/** The primary storage account's ARM id. */
function primaryAccountId(config: Pick<DrConfig, 'subscriptionId' | 'primary'>): string {
  return `/subscriptions/${config.subscriptionId}/resourceGroups/${config.primary.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${config.primary.storageAccount}`;
}

/**
 * Reads the facts: the account with `$expand=geoReplicationStats`, and the identity's permissions on
 * it. Nothing is written. What cannot be read is left null and said in `unreadable`: the failover
 * itself will tell (ARM out with the primary region does not refuse a forced run).
 */
export async function readAccountFailoverFacts(
  clients: Pick<ClientFactory, 'storageManagement' | 'armResources'>,
  config: Pick<DrConfig, 'subscriptionId' | 'primary'>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<AccountFailoverFacts> {
  const facts: AccountFailoverFacts = {
    sku: null,
    canFailover: null,
    canPlannedFailover: null,
    mayFailOver: null,
    unreadable: [],
  };
  const [account, permissions] = await Promise.all([
    clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.getProperties(config.primary.resourceGroup, config.primary.storageAccount, {
        expand: 'geoReplicationStats',
        ...options,
      })
      .catch((error: unknown) => {
        facts.unreadable.push(`the account could not be read through ARM (${describeError(error)})`);
        return undefined;
      }),
    readScopePermissions(clients.armResources(), primaryAccountId(config), options),
  ]);
  if (account) {
    facts.sku = account.sku?.name ?? null;
    facts.canFailover = account.geoReplicationStats?.canFailover ?? null;
    facts.canPlannedFailover = account.geoReplicationStats?.canPlannedFailover ?? null;
  }
  if (permissions.readable) {
    facts.mayFailOver = permissionsAllow(permissions.permissions, ACCOUNT_FAILOVER_ACTION, false);
  } else {
    facts.unreadable.push(
      `the identity's permissions could not be read (${describeError(permissions.error)})`,
    );
  }
  return facts;
}
