import type { GeoRedundancyOutcome } from '../accountFailover/restoreGeoRedundancy.js';
import type { CopyScope, OutsideScope } from '../copy/copyScope.js';

/**
 * What the operator needs for the Kyvos DR deployment once the data and the metadata repository are
 * in the DR region: the ARM deployment parameters and the manual follow-ups of the Kyvos DR
 * procedure ("Points to remember"), which no automation can do for them.
 */

export interface KeyVaultNames {
  /** Host of the vault URI, e.g. `kv-kyvos.vault.azure.net`: what Kyvos's "Key Vault Name" takes. */
  dnsName: string;
  /** The vault's resource name, e.g. `kv-kyvos`. */
  name: string;
}

const UNKNOWN_VAULT = '<your Key Vault>';

/**
 * The vault's DNS name (its URI's host) and bare name. Without a configured vault both are a
 * placeholder the operator fills in.
 */
export function keyVaultNamesOf(keyVault: { url: string; name: string } | undefined): KeyVaultNames {
  if (!keyVault) return { dnsName: UNKNOWN_VAULT, name: UNKNOWN_VAULT };
  let dnsName = UNKNOWN_VAULT;
  try {
    dnsName = new URL(keyVault.url).hostname || UNKNOWN_VAULT;
  } catch {
    // Config validation refuses a bad URL; the placeholder keeps a report buildable regardless.
  }
  return { dnsName, name: keyVault.name };
}

export interface KyvosDeploymentInputs {
  /** The account Kyvos uses after the failover: the DR account, or the failed-over original account. */
  drStorageAccount: string;
  drContainer: string;
  /** Set when the run failed the original account over instead of copying: the type and the SKU after it. */
  accountFailover?: {
    failoverType: 'Planned' | 'Unplanned';
    sku: string | null;
    /** What the run did about the redundancy (`kyvos-dr-restore-geo-redundancy`); absent when it was not asked to. */
    geoRedundancy?: GeoRedundancyOutcome;
  };
  /**
   * The Key Vault Kyvos keeps using. The Kyvos DR procedure asks for "the DNS name of the existing
   * Key vault in the primary region" as its Key Vault Name: `dnsName` is the host of the vault's URI
   * (`kv-kyvos.vault.azure.net`); `name` is the bare resource name (`kv-kyvos`), shown beside it.
   */
  keyVault: KeyVaultNames;
  promotedPostgresServer: string;
  engineWorkDirectory: string;
}

/**
 * An ARM deployment parameters file for the Kyvos template created "with an Existing Storage
 * Account, Existing Postgres Flexible Server, and Existing Key vault". `EnableDR` is the name the
 * Kyvos template uses; the storage parameter names follow the Kyvos storage template. Check the
 * other names against the template Kyvos Manager generated for you.
 */
export function kyvosDeploymentParameters(inputs: KyvosDeploymentInputs): Record<string, unknown> {
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#',
    contentVersion: '1.0.0.0',
    parameters: {
      EnableDR: { value: true },
      StorageAccountName: { value: inputs.drStorageAccount },
      StorageAccountContainerName: { value: inputs.drContainer },
      // The Kyvos procedure: "Key Vault Name: Enter the DNS name of the existing Key vault".
      KeyVaultName: { value: inputs.keyVault.dnsName },
      KyvosPostgresServerName: { value: inputs.promotedPostgresServer },
      EngineWorkDirectory: { value: inputs.engineWorkDirectory },
    },
  };
}

function partialCopyItem({ scope, blobsOutsideScope }: CopiedScope): ChecklistItem | undefined {
  if (scope.wholeContainer || blobsOutsideScope?.count === 0) return undefined;
  const left =
    blobsOutsideScope === null
      ? 'an uncounted number of blobs elsewhere in the container (the verify step did not count them)'
      : `${blobsOutsideScope.count} blob(s) elsewhere in the container (e.g. ${blobsOutsideScope.examples.map((n) => `"${n}"`).join(', ')})`;
  return {
    id: 'copy-scope-partial',
    text: `The copy took only the prefix "${scope.prefix}" (kyvos-dr-copy-prefix), not the whole container as the Kyvos procedure's azcopy --recursive does: ${left} were NOT copied to the DR account. Copy them (azcopy copy --recursive from the primary's secondary endpoint) if Kyvos needs them.`,
  };
}

/**
 * The account failover keeps the account's name, so the datasets keep theirs; what changes is the
 * redundancy. After an unplanned failover the account is locally redundant in the new region (Azure's
 * disaster-recovery guidance for storage) and geo-redundancy must be re-enabled, which is billed and
 * starts a full initial sync; a planned failover keeps it.
 */
function geoRedundancyItem(
  account: string,
  failover: NonNullable<KyvosDeploymentInputs['accountFailover']>,
): ChecklistItem {
  if (failover.failoverType === 'Planned') {
    return {
      id: 'geo-redundancy',
      text: `The storage account ${account} failed over planned and stays geo-redundant${failover.sku ? ` (${failover.sku})` : ''}, its secondary now in the former primary region; the datasets keep its name.`,
    };
  }
  const restore = failover.geoRedundancy;
  const sync = `the initial sync to the new secondary takes time: until "az storage account show --name ${account} --expand geoReplicationStats" reports the status Live (kyvos-dr health shows it), the account has no copy outside this region`;
  if (restore?.outcome === 'restored' || restore?.outcome === 'alreadyGeoRedundant') {
    const how =
      restore.outcome === 'restored'
        ? `The run made the storage account ${account} geo-redundant again (${restore.from} to ${restore.sku}, kyvos-dr-restore-geo-redundancy), billed`
        : `The storage account ${account} is geo-redundant (${restore.sku})`;
    return {
      id: 'geo-redundancy',
      text: `${how}; ${sync}. The datasets keep the account's name.`,
    };
  }
  const tried =
    restore?.outcome === 'failed'
      ? ` The run tried and was refused: ${restore.error}.`
      : restore?.outcome === 'unknownSku'
        ? " The run could not read the account's SKU, so it changed nothing."
        : '';
  return {
    id: 'geo-redundancy',
    text: `Re-enable geo-redundancy on the storage account ${account}: after the unplanned failover it is locally redundant${failover.sku ? ` (${failover.sku})` : ''} in the DR region (az storage account update --name ${account} --sku ${restore?.outcome === 'failed' ? restore.sku : 'Standard_RAGRS'}, or Standard_RAGZRS for a zone-redundant account).${tried} It is billed, and ${sync}. The datasets keep the account's name.`,
  };
}

export interface ChecklistItem {
  id: string;
  text: string;
}

/** What the copy took, for the checklist's warning when a prefix left blobs behind. */
export interface CopiedScope {
  scope: CopyScope;
  /** Source blobs outside the prefix; null when they were not counted. */
  blobsOutsideScope: OutsideScope | null;
}

/**
 * The manual follow-ups after the Kyvos DR deployment, in the order an operator works through them.
 * A copy limited to a prefix comes first when it left blobs behind (or they were not counted): the
 * Kyvos procedure copies the whole container.
 */
export function drChecklist(
  inputs: KyvosDeploymentInputs,
  oldPrimaryFenced: boolean,
  copied?: CopiedScope,
): ChecklistItem[] {
  const items: ChecklistItem[] = [
    {
      id: 'deploy-kyvos-dr',
      text: `Deploy Kyvos from the template created with an existing storage account, PostgreSQL server and Key Vault, with the parameters above (EnableDR=true, storage ${inputs.drStorageAccount}, PostgreSQL ${inputs.promotedPostgresServer}, Key Vault Name ${inputs.keyVault.dnsName}, the DNS name of the vault ${inputs.keyVault.name}) and the same configuration as the primary cluster.`,
    },
    {
      id: 'no-failback',
      text: 'The DR cluster is now the primary. There is no move back to the original installation: build a new DR pair from here.',
    },
    inputs.accountFailover
      ? geoRedundancyItem(inputs.drStorageAccount, inputs.accountFailover)
      : {
          id: 'datasets-storage-name',
          text: `Change the ADLS Gen2 storage name to ${inputs.drStorageAccount} in all datasets: the raw data storage changed with the failover.`,
        },
    {
      id: 'private-network',
      text: 'If the primary deployment used a private network (tunnel between the customer and the Kyvos Azure VNet), set it up again for the DR deployment.',
    },
    {
      id: 'cuboid-replication',
      text: 'Wait for cuboid replication on all query engines before running queries.',
    },
    {
      id: 'ldap-sso-smtp-tls',
      text: 'Enable LDAP, SSO, SMTP, TLS and SSL as on the primary cluster.',
    },
    {
      id: 'security-group-ips',
      text: 'Allow in the DR security group every additional IP that was allowed for the primary installation.',
    },
    {
      id: 'custom-url-dns',
      text: 'Create the custom URL and DNS mapping again for the DR deployment.',
    },
    {
      id: 'glue-tables',
      text: 'Manage the Glue tables and source data for the DR deployment.',
    },
    {
      id: 'networking-enhanced-security',
      text: 'If the primary template used Enhanced security: allow the DR Kyvos instances and Functions subnets in the networking of the storage account and the Key Vault.',
    },
  ];
  const partial = copied ? partialCopyItem(copied) : undefined;
  if (partial) items.unshift(partial);
  if (!oldPrimaryFenced) {
    items.unshift({
      id: 'fence-old-primary',
      text: 'The old primary PostgreSQL server was not stopped: stop it as soon as its region answers (and delete it, or cut its network, before Azure restarts it after 7 days), so that nothing writes to it: two writers would split the metadata.',
    });
  }
  return items;
}
