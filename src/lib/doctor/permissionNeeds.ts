import type { DrConfig } from '../config/DrConfig.js';
import { ACTIVE_SECRETS } from '../config/secretNames.js';
import { keyVaultResourceId } from '../health/keyVaultHealth.js';

/** The action of a customer-managed account failover (StorageAccounts_Failover). */
export const ACCOUNT_FAILOVER_ACTION = 'Microsoft.Storage/storageAccounts/failover/action';

/**
 * What the app's identity must be allowed, where, for a failover and the health checks to work: the
 * calls the code makes (ARM through the management SDKs, Key Vault and blob data through the data
 * planes), each with the runbook step that makes it and the role of `infra/` that grants it. The
 * doctor's permissions check compares this table with what ARM's permissions API says the identity
 * holds (`permissions.ts`).
 *
 * Not in the table: the app's own host storage account (run records, queues), without which the
 * app does not run at all, and the source read through the secondary endpoint with a stored SAS,
 * which needs no role (the network and SAS checks look at it).
 */

/** A scope the identity's permissions are read at. */
export interface PermissionScope {
  /** Dotted id part of the findings (`drResourceGroup`). */
  key: string;
  /** ARM id of the scope. */
  id: string;
  /** How an operator recognises it: "the replica server pg-kyvos-dr (rg-kyvos-dr)". */
  label: string;
  /**
   * The role of `infra/` that lets the identity list its permissions here
   * (`Microsoft.Authorization/permissions/read`), and the template that assigns it.
   */
  readableThrough: RoleGrant;
}

interface RoleGrant {
  /** The role's name, as `infra/` defines or names it. */
  role: string;
  /** The template that assigns it, and to which resource group. */
  template: string;
}

export interface PermissionNeed extends RoleGrant {
  /** Dotted id of the finding, under `permissions.` (`replica.promote`). */
  id: string;
  scope: PermissionScope;
  /** The operation, as ARM and the data planes authorize it. */
  action: string;
  /** A data action (Key Vault secrets, blob data): only `dataActions` grant it. */
  dataAction: boolean;
  /** The step or check that needs it, and the call: "database.promote: PATCH the replica (Servers_Update)". */
  usedBy: string;
  /**
   * `warn` for what a failover can do without (a check that is skipped with a warning); a failover
   * fails without the others.
   */
  whenMissing?: 'warn';
}

const RBAC_PRIMARY = 'infra/rbac-primary.json';
/** The role of `infra/` that allows the account failover of the primary storage account, and nothing else. */
export const STORAGE_FAILOVER_ROLE = 'Kyvos DR Storage Failover Operator';
const RBAC_DR = 'infra/rbac-dr.json';
const BLOB_DATA = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

/** The scopes of a configuration, by key. */
function configScopes(config: DrConfig) {
  const sub = `/subscriptions/${config.subscriptionId}`;
  const group = (name: string) => `${sub}/resourceGroups/${name}`;
  const { primary, dr } = config;
  const primaryTemplate = `${RBAC_PRIMARY} (deployed to ${primary.resourceGroup})`;
  const drTemplate = `${RBAC_DR} (deployed to ${dr.resourceGroup})`;
  const reader = (template: string): RoleGrant => ({ role: 'Reader', template });
  return {
    primaryTemplate,
    drTemplate,
    primaryStorage: {
      key: 'primaryStorage',
      id: `${group(primary.resourceGroup)}/providers/Microsoft.Storage/storageAccounts/${primary.storageAccount}`,
      label: `the primary storage account ${primary.storageAccount} (${primary.resourceGroup})`,
      readableThrough: reader(primaryTemplate),
    },
    primaryServer: {
      key: 'primaryServer',
      id: `${group(primary.resourceGroup)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${primary.postgresServer}`,
      label: `the primary server ${primary.postgresServer} (${primary.resourceGroup})`,
      readableThrough: reader(primaryTemplate),
    },
    primaryResourceGroup: {
      key: 'primaryResourceGroup',
      id: group(primary.resourceGroup),
      label: `the primary resource group ${primary.resourceGroup}`,
      readableThrough: { role: 'Kyvos DR Operation Status Reader', template: primaryTemplate },
    },
    replica: {
      key: 'replica',
      id: `${group(dr.resourceGroup)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${dr.replicaServer}`,
      label: `the replica server ${dr.replicaServer} (${dr.resourceGroup})`,
      readableThrough: reader(drTemplate),
    },
    drResourceGroup: {
      key: 'drResourceGroup',
      id: group(dr.resourceGroup),
      label: `the DR resource group ${dr.resourceGroup}`,
      readableThrough: { role: 'Kyvos DR Operation Status Reader', template: drTemplate },
    },
  } satisfies Record<string, PermissionScope | string>;
}

/**
 * The table for a configuration. Conditional rows follow the configuration: the old primary's stop
 * and its polling only with `stopOldPrimary`, the primary storage account's failover and its polling
 * only with `storageStrategy: accountFailover`, its virtual endpoints only for a `Switchover` promote,
 * the user-delegation key only for `sourceAuth: user-delegation`, owner/group/ACL writes unless
 * `copyAccessControl` is `off`, and the Key Vault rows only when the configuration comes from a vault.
 * The copy's rows stay with `accountFailover`: a run can still choose the copy (`strategy`).
 *
 * The DR storage account's rows are checked at the DR resource group: the account does not exist
 * until the failover creates it, so `infra/rbac-dr.json` grants them there. Polling rows are checked
 * at the resource group of the resource the operation runs on: ARM checks a status URL there, not at
 * the resource ("Track asynchronous Azure operations", "Permission for tracking async status",
 * learn.microsoft.com/azure/azure-resource-manager/management/async-operations).
 */
export function permissionNeeds(config: DrConfig): PermissionNeed[] {
  const s = configScopes(config);
  const need = (
    scope: PermissionScope,
    id: string,
    action: string,
    usedBy: string,
    grant: RoleGrant,
    dataAction = false,
  ): PermissionNeed => ({ id: `${scope.key}.${id}`, scope, action, dataAction, usedBy, ...grant });
  const primary = (role: string): RoleGrant => ({ role, template: s.primaryTemplate });
  const dr = (role: string): RoleGrant => ({ role, template: s.drTemplate });
  const blobOwner = dr('Storage Blob Data Owner');
  const statusReader = (grant: (role: string) => RoleGrant) => grant('Kyvos DR Operation Status Reader');

  const needs: PermissionNeed[] = [
    need(
      s.primaryStorage,
      'read',
      'Microsoft.Storage/storageAccounts/read',
      'health and preflight: the account, its redundancy and geo-replication stats (StorageAccounts_GetProperties)',
      primary('Reader'),
    ),
    need(
      s.primaryStorage,
      'blobRead',
      `${BLOB_DATA}/read`,
      'health: Get Blob Service Stats on the secondary endpoint with the identity',
      primary('Storage Blob Data Reader'),
      true,
    ),
    need(
      s.primaryServer,
      'read',
      'Microsoft.DBforPostgreSQL/flexibleServers/read',
      "health and database.promote: the primary's state and size (Servers_Get)",
      primary('Reader'),
    ),
    need(
      s.replica,
      'read',
      'Microsoft.DBforPostgreSQL/flexibleServers/read',
      "health and database.promote: the replica's role, state and size (Servers_Get)",
      dr('Reader'),
    ),
    need(
      s.replica,
      'promote',
      'Microsoft.DBforPostgreSQL/flexibleServers/write',
      'database.promote: PATCH replica.promoteMode (Servers_Update)',
      dr('Kyvos DR PostgreSQL Replica Promoter'),
    ),
    need(
      s.drResourceGroup,
      'promotePoll',
      'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read',
      'database.promote: track the promote (GET …/locations/{region}/azureAsyncOperation/…)',
      statusReader(dr),
    ),
    need(
      s.drResourceGroup,
      'promoteResult',
      'Microsoft.DBforPostgreSQL/locations/operationResults/read',
      'database.promote: read the promote result (GET …/locations/{region}/operationResults/…)',
      statusReader(dr),
    ),
    need(
      s.drResourceGroup,
      'storageAccountRead',
      'Microsoft.Storage/storageAccounts/read',
      'storage.ensureAccount: the DR storage account, if it exists (StorageAccounts_GetProperties)',
      dr('Kyvos DR Storage Account Creator'),
    ),
    need(
      s.drResourceGroup,
      'storageAccountCreate',
      'Microsoft.Storage/storageAccounts/write',
      'storage.ensureAccount: create the DR storage account (StorageAccounts_Create)',
      dr('Kyvos DR Storage Account Creator'),
    ),
    need(
      s.drResourceGroup,
      'storageAccountCreatePoll',
      'Microsoft.Storage/operations/read',
      'storage.ensureAccount: track the create (GET …/providers/Microsoft.Storage/locations/{region}/asyncoperations/…)',
      statusReader(dr),
    ),
    need(
      s.drResourceGroup,
      'containerCreate',
      'Microsoft.Storage/storageAccounts/blobServices/containers/write',
      'storage.ensureAccount: create the DR container (Create Container)',
      blobOwner,
    ),
    need(
      s.drResourceGroup,
      'blobRead',
      `${BLOB_DATA}/read`,
      'storage.copy and verify: list and read the DR container (List Blobs, Get Blob Properties)',
      blobOwner,
      true,
    ),
    need(
      s.drResourceGroup,
      'blobWrite',
      `${BLOB_DATA}/write`,
      'storage.copy: write the copied blobs (Put Blob from URL, Copy Blob, Set Blob Metadata)',
      blobOwner,
      true,
    ),
    need(
      s.drResourceGroup,
      'blobDelete',
      `${BLOB_DATA}/delete`,
      'storage.copy: replace a path by the source directory stub (Delete Blob)',
      blobOwner,
      true,
    ),
  ];
  if (config.copyAccessControl !== 'off') {
    needs.push(
      need(
        s.drResourceGroup,
        'aclWrite',
        `${BLOB_DATA}/modifyPermissions/action`,
        'storage.copy: set the ACL of each path (Path - Update, setAccessControl)',
        blobOwner,
        true,
      ),
      need(
        s.drResourceGroup,
        'ownerWrite',
        `${BLOB_DATA}/manageOwnership/action`,
        'storage.copy: set the owner and group of each path (Path - Update, setAccessControl)',
        blobOwner,
        true,
      ),
    );
  }
  if (config.sourceAuth === 'user-delegation') {
    needs.push(
      need(
        s.primaryStorage,
        'userDelegationKey',
        'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
        'storage.copy: sign the source SAS (Get User Delegation Key)',
        primary('Storage Blob Data Reader'),
      ),
    );
  }
  if (config.promoteMode === 'Switchover') {
    needs.push(
      need(
        s.primaryServer,
        'virtualEndpoints',
        'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/read',
        "health: the primary's virtual endpoints for a switchover (VirtualEndpoints_ListByServer)",
        primary('Reader'),
      ),
    );
  }
  if (config.stopOldPrimary) {
    needs.push(
      need(
        s.primaryServer,
        'stop',
        'Microsoft.DBforPostgreSQL/flexibleServers/stop/action',
        'database.fence: stop the old primary (Servers_Stop)',
        primary('Kyvos DR PostgreSQL Primary Fencer'),
      ),
      need(
        s.primaryResourceGroup,
        'stopPoll',
        'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read',
        'database.fence: track the stop (GET …/locations/{region}/azureAsyncOperation/…)',
        statusReader(primary),
      ),
      need(
        s.primaryResourceGroup,
        'stopResult',
        'Microsoft.DBforPostgreSQL/locations/operationResults/read',
        'database.fence: read the stop result (GET …/locations/{region}/operationResults/…)',
        statusReader(primary),
      ),
    );
  }
  if (config.storageStrategy === 'accountFailover') {
    // infra/rbac-primary.json assigns these with its parameter allowAccountFailover.
    const failoverGrant = (role: string): RoleGrant => ({
      role,
      template: `${s.primaryTemplate} with allowAccountFailover true`,
    });
    const blobContributor = failoverGrant('Storage Blob Data Contributor');
    needs.push(
      need(
        s.primaryStorage,
        'failover',
        ACCOUNT_FAILOVER_ACTION,
        'storage.accountFailover: fail the account over to its secondary region (StorageAccounts_Failover)',
        failoverGrant(STORAGE_FAILOVER_ROLE),
      ),
      need(
        s.primaryResourceGroup,
        'failoverPoll',
        'Microsoft.Storage/operations/read',
        'storage.accountFailover: track the failover (GET …/providers/Microsoft.Storage/locations/{region}/asyncoperations/…)',
        failoverGrant('Kyvos DR Operation Status Reader'),
      ),
      need(
        s.primaryStorage,
        'probeWrite',
        `${BLOB_DATA}/write`,
        'verify: write a probe blob in the failed-over account (Put Blob)',
        blobContributor,
        true,
      ),
      need(
        s.primaryStorage,
        'probeDelete',
        `${BLOB_DATA}/delete`,
        'verify: delete the probe blob (Delete Blob)',
        blobContributor,
        true,
      ),
    );
    if (config.restoreGeoRedundancy) {
      needs.push({
        ...need(
          s.primaryStorage,
          'restoreGeoRedundancy',
          'Microsoft.Storage/storageAccounts/write',
          'storage.accountFailover: make the account geo-redundant again after an unplanned failover (StorageAccounts_Update of its SKU)',
          {
            role: 'Kyvos DR Storage Redundancy Restorer',
            template: `${s.primaryTemplate} with allowAccountFailover and allowRestoreGeoRedundancy true`,
          },
        ),
        // The failover succeeds without it; the checklist then asks the operator to.
        whenMissing: 'warn',
      });
    }
  }
  if (config.keyVault) needs.push(...keyVaultNeeds(config, config.keyVault.name, s.primaryTemplate));
  return needs;
}

/**
 * The vault's rows: its ARM resource, reading the configuration, and writing each name the record
 * step writes, checked at that secret (`infra/rbac-primary.json` grants the write on the vault, or on
 * each of these secrets with `vaultWriteScope: activeSecrets`).
 */
function keyVaultNeeds(config: DrConfig, vaultName: string, template: string): PermissionNeed[] {
  const id = keyVaultResourceId(config, vaultName);
  const vault: PermissionScope = {
    key: 'keyVault',
    id,
    label: `the Key Vault ${vaultName} (${config.primary.resourceGroup})`,
    readableThrough: { role: 'Reader', template },
  };
  const needs: PermissionNeed[] = [
    {
      id: 'keyVault.read',
      scope: vault,
      action: 'Microsoft.KeyVault/vaults/read',
      dataAction: false,
      usedBy: "health: the vault's region (Vaults_Get)",
      role: 'Reader',
      template,
    },
    {
      id: 'keyVault.getSecret',
      scope: vault,
      action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
      dataAction: true,
      usedBy: 'configuration, record and verify: read the kyvos-dr-* secrets (Get Secret)',
      role: 'Key Vault Secrets User',
      template,
    },
    {
      id: 'keyVault.readDeleted',
      scope: vault,
      action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
      dataAction: true,
      usedBy:
        'preflight: check that no name the record step writes is soft-deleted (Get Deleted Secret); without it preflight only warns',
      role: 'Key Vault Secrets User',
      template,
      whenMissing: 'warn',
    },
  ];
  for (const name of Object.values(ACTIVE_SECRETS)) {
    needs.push({
      id: `keyVault.setSecret.${name}`,
      scope: {
        key: `keyVault.secret.${name}`,
        id: `${id}/secrets/${name}`,
        label: `the secret ${name} of the Key Vault ${vaultName}`,
        readableThrough: vault.readableThrough,
      },
      action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action',
      dataAction: true,
      usedBy: `record: write ${name} (Set Secret)`,
      role: 'Key Vault Secrets Officer',
      template,
    });
  }
  return needs;
}
