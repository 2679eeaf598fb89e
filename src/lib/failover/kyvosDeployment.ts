/**
 * What the operator needs for the Kyvos DR deployment once the data and the metadata repository are
 * in the DR region: the ARM deployment parameters and the manual follow-ups of the Kyvos DR
 * procedure ("Points to remember"), which no automation can do for them.
 */

export interface KyvosDeploymentInputs {
  drStorageAccount: string;
  drContainer: string;
  keyVaultName: string;
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
      KeyVaultName: { value: inputs.keyVaultName },
      KyvosPostgresServerName: { value: inputs.promotedPostgresServer },
      EngineWorkDirectory: { value: inputs.engineWorkDirectory },
    },
  };
}

export interface ChecklistItem {
  id: string;
  text: string;
}

/** The manual follow-ups after the Kyvos DR deployment, in the order an operator works through them. */
export function drChecklist(inputs: KyvosDeploymentInputs, oldPrimaryFenced: boolean): ChecklistItem[] {
  const items: ChecklistItem[] = [
    {
      id: 'deploy-kyvos-dr',
      text: `Deploy Kyvos from the template created with an existing storage account, PostgreSQL server and Key Vault, with the parameters above (EnableDR=true, storage ${inputs.drStorageAccount}, PostgreSQL ${inputs.promotedPostgresServer}, Key Vault ${inputs.keyVaultName}) and the same configuration as the primary cluster.`,
    },
    {
      id: 'no-failback',
      text: 'The DR cluster is now the primary. There is no move back to the original installation: build a new DR pair from here.',
    },
    {
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
  if (!oldPrimaryFenced) {
    items.unshift({
      id: 'fence-old-primary',
      text: 'The old primary PostgreSQL server was not stopped: stop it as soon as its region answers (and delete it, or cut its network, before Azure restarts it after 7 days), so that nothing writes to it: two writers would split the metadata.',
    });
  }
  return items;
}
