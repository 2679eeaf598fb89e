import type { StorageAccount } from '@azure/arm-storage';
import { DR_STORAGE_SKUS, type DrConfig } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import { READ_ACCESS_SKUS, readAccessSkuUpdate } from '../health/StorageGeoReplication.js';
import type { DoctorCheck, DoctorFinding } from './doctorCheck.js';
import { readDrAccount, readSourceAccount } from './storageAccounts.js';

type Names = Pick<DrConfig, 'primary' | 'dr'>;

/** A finding of the storage area; a fix is kept only for an outcome that is not `pass`. */
export function storageFinding(
  id: string,
  outcome: DoctorFinding['outcome'],
  detail: string,
  fix?: string,
): DoctorFinding {
  return { area: 'storage', id, outcome, detail, ...(fix && outcome !== 'pass' ? { fix } : {}) };
}

/**
 * The source account's SKU and hierarchical namespace: the failover copies from its RA-GRS (or
 * RA-GZRS) `-secondary` endpoint, which only a read-access SKU has, and Kyvos keeps its data in ADLS
 * Gen2, whose paths, directories and ACLs the copy carries.
 */
export function sourceAccountFindings(account: StorageAccount, config: Names): DoctorFinding[] {
  const ref = { name: config.primary.storageAccount, resourceGroup: config.primary.resourceGroup };
  const sku = account.sku?.name;
  const hns = account.isHnsEnabled === true;
  return [
    sku && READ_ACCESS_SKUS.includes(sku)
      ? storageFinding(
          'storage.source.sku',
          'pass',
          `The source account "${ref.name}" is ${sku}: its secondary endpoint can be read.`,
        )
      : storageFinding(
          'storage.source.sku',
          'fail',
          `The source account "${ref.name}" is ${sku ?? 'of an unknown SKU'}, without a readable secondary endpoint: the failover copies from the -secondary endpoint of an RA-GRS or RA-GZRS account.`,
          `Enable read access to the secondary: ${readAccessSkuUpdate(ref, sku)}`,
        ),
    hns
      ? storageFinding(
          'storage.source.hns',
          'pass',
          `The source account "${ref.name}" has a hierarchical namespace (ADLS Gen2).`,
        )
      : storageFinding(
          'storage.source.hns',
          'fail',
          `The source account "${ref.name}" has no hierarchical namespace: Kyvos keeps its data in ADLS Gen2, and the copy of its directories and ACLs needs one on both sides.`,
          `Upgrade the account to ADLS Gen2 (validate first): az storage account hns-migration start --type validation --name ${ref.name} --resource-group ${ref.resourceGroup}; then the same with --type upgrade.`,
        ),
  ];
}

/**
 * The DR account's SKU and hierarchical namespace. A missing account passes: the failover creates it
 * with the configured SKU and a hierarchical namespace (`ensureDrStorage`). An existing one is kept:
 * without a hierarchical namespace the failover's storage step fails; with a SKU outside
 * `DR_STORAGE_SKUS` it is no Standard ADLS Gen2 account; with another SKU than the configured one it
 * is used as it is.
 */
export function drAccountFindings(
  account: StorageAccount | undefined,
  config: Pick<DrConfig, 'dr'>,
): DoctorFinding[] {
  const { storageAccount: name, resourceGroup, storageSku } = config.dr;
  if (!account) {
    return [
      storageFinding(
        'storage.dr.account',
        'pass',
        `The DR account "${name}" does not exist yet: the failover creates it in ${config.dr.region} with SKU ${storageSku} and a hierarchical namespace.`,
      ),
    ];
  }
  const sku = account.sku?.name;
  const other = `Choose another DR account name (secret ${CONFIG_SECRETS.drStorageAccount}) for the failover to create, or recreate "${name}"`;
  const skuFinding =
    !sku || !(DR_STORAGE_SKUS as readonly string[]).includes(sku)
      ? storageFinding(
          'storage.dr.sku',
          'fail',
          `The DR account "${name}" is ${sku ?? 'of an unknown SKU'}, not one of the Standard SKUs with ADLS Gen2 (${DR_STORAGE_SKUS.join(', ')}).`,
          `${other} as StorageV2 with SKU ${storageSku} and a hierarchical namespace.`,
        )
      : sku !== storageSku
        ? storageFinding(
            'storage.dr.sku',
            'warn',
            `The DR account "${name}" is ${sku}, not the configured ${storageSku} (${CONFIG_SECRETS.drStorageSku}): the failover keeps an existing account as it is.`,
            `Make them agree: az storage account update --name ${name} --resource-group ${resourceGroup} --sku ${storageSku}, or set the secret ${CONFIG_SECRETS.drStorageSku} to ${sku}.`,
          )
        : storageFinding('storage.dr.sku', 'pass', `The DR account "${name}" is ${sku}, as configured.`);
  const hnsFinding =
    account.isHnsEnabled === true
      ? storageFinding(
          'storage.dr.hns',
          'pass',
          `The DR account "${name}" has a hierarchical namespace (ADLS Gen2).`,
        )
      : storageFinding(
          'storage.dr.hns',
          'fail',
          `The DR account "${name}" has no hierarchical namespace: Kyvos needs ADLS Gen2, and the failover's storage step fails on it.`,
          `${other} with a hierarchical namespace, or upgrade it: az storage account hns-migration start --type upgrade --name ${name} --resource-group ${resourceGroup}.`,
        );
  return [skuFinding, hnsFinding];
}

/** Both accounts' SKU and hierarchical namespace. */
export const storageAccountsCheck: DoctorCheck = {
  area: 'storage',
  name: 'storage account SKU and hierarchical namespace',
  timer: 'storage',
  async run(context) {
    const [source, dr] = await Promise.all([readSourceAccount(context), readDrAccount(context)]);
    return [...sourceAccountFindings(source, context.config), ...drAccountFindings(dr, context.config)];
  },
};

/**
 * Whether Azure would accept the account failover of the source account now, as ARM's
 * `geoReplicationStats.canFailover` says (Storage Accounts - Get Properties with
 * `$expand=geoReplicationStats`). Azure refuses it while the secondary is not `Live` (the initial
 * sync, `Bootstrap`, or an `Unavailable` secondary) and for an account without geo-redundancy
 * ("Azure storage disaster recovery planning and failover", learn.microsoft.com/azure/storage/common/
 * storage-disaster-recovery-guidance). Only asked with `storageStrategy: accountFailover`.
 */
export function sourceFailoverFinding(account: StorageAccount, config: Names): DoctorFinding {
  const name = config.primary.storageAccount;
  const geo = account.geoReplicationStats;
  const id = 'storage.source.canFailover';
  if (geo?.canFailover === true) {
    const after = geo.postFailoverRedundancy ? `; after it the account is ${geo.postFailoverRedundancy}` : '';
    return storageFinding(
      id,
      'pass',
      `Azure accepts an account failover of "${name}" now (geoReplicationStats.canFailover, status ${geo.status ?? 'unknown'})${after}.`,
    );
  }
  const switchBack = `or run failovers with the copy (secret ${CONFIG_SECRETS.storageStrategy} set to copy, or --strategy copy per run).`;
  if (!geo) {
    return storageFinding(
      id,
      'fail',
      `ARM reports no geoReplicationStats for "${name}" (SKU ${account.sku?.name ?? 'unknown'}): an account without geo-redundancy cannot fail over.`,
      `Make the account geo-redundant: ${readAccessSkuUpdate({ name, resourceGroup: config.primary.resourceGroup }, account.sku?.name)}; ${switchBack}`,
    );
  }
  const why =
    geo.status && geo.status !== 'Live'
      ? `its geo-replication status is ${geo.status}, not Live${geo.status === 'Bootstrap' ? ' (the initial sync to the secondary is still running)' : ' (the secondary region is unavailable)'}`
      : `Azure reports canFailover ${String(geo.canFailover ?? 'unset')} with geo-replication ${geo.status ?? 'of unknown status'}: the account has a feature account failover does not support`;
  return storageFinding(
    id,
    'fail',
    `An account failover of "${name}" would be refused now: ${why}.`,
    `Wait until geoReplicationStats.status is Live and canFailover is true (az storage account show --name ${name} --resource-group ${config.primary.resourceGroup} --expand geoReplicationStats), and remove any feature the storage disaster-recovery guidance lists as unsupported for failover; ${switchBack}`,
  );
}

/** The source account's failover readiness, for the `accountFailover` strategy only. */
export const storageFailoverCheck: DoctorCheck = {
  area: 'storage',
  name: 'storage account failover',
  timer: 'storage',
  async run(context) {
    if (context.config.storageStrategy !== 'accountFailover') return [];
    const account = await readSourceAccount(context, { expandGeoReplicationStats: true });
    return [sourceFailoverFinding(account, context.config)];
  },
};
