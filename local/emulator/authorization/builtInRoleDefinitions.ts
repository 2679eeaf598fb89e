import type { RoleDefinition } from './accessCheck.js';

/**
 * The permissions of the Azure built-in roles that `infra/` assigns, plus Owner (the operator
 * identity of the local stack), copied from the role definition JSON that Microsoft publishes in
 * "Azure built-in roles" (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles;
 * source MicrosoftDocs/azure-docs `articles/role-based-access-control/built-in-roles/storage.md`
 * (ms.date 07/01/2026), `security.md`, `monitor.md`, `general.md` and `privileged.md`).
 * Built-in role IDs are the same in every tenant. A template that assigns a role missing here is
 * refused when the stack starts, so no role is ever evaluated as "allow everything".
 */
export const BUILT_IN_ROLE_DEFINITIONS: readonly RoleDefinition[] = [
  {
    id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    permissions: [{ actions: ['*'], notActions: [], dataActions: [], notDataActions: [] }],
  },
  {
    id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    roleName: 'Reader',
    permissions: [{ actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] }],
  },
  {
    id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    roleName: 'Storage Blob Data Contributor',
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/delete',
          'Microsoft.Storage/storageAccounts/blobServices/containers/read',
          'Microsoft.Storage/storageAccounts/blobServices/containers/write',
          'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
        ],
        notActions: [],
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    roleName: 'Storage Blob Data Owner',
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/*',
          'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
        ],
        notActions: [],
        dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*'],
        notDataActions: [],
      },
    ],
  },
  {
    id: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
    roleName: 'Storage Blob Data Reader',
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/read',
          'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
        ],
        notActions: [],
        dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
        notDataActions: [],
      },
    ],
  },
  {
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    roleName: 'Storage Queue Data Contributor',
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/queueServices/queues/delete',
          'Microsoft.Storage/storageAccounts/queueServices/queues/read',
          'Microsoft.Storage/storageAccounts/queueServices/queues/write',
        ],
        notActions: [],
        dataActions: [
          'Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete',
          'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read',
          'Microsoft.Storage/storageAccounts/queueServices/queues/messages/write',
          'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action',
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
    roleName: 'Key Vault Secrets Officer',
    permissions: [
      {
        actions: [
          'Microsoft.Authorization/*/read',
          'Microsoft.Insights/alertRules/*',
          'Microsoft.Resources/deployments/*',
          'Microsoft.Resources/subscriptions/resourceGroups/read',
          'Microsoft.Support/*',
          'Microsoft.KeyVault/checkNameAvailability/read',
          'Microsoft.KeyVault/deletedVaults/read',
          'Microsoft.KeyVault/locations/*/read',
          'Microsoft.KeyVault/vaults/*/read',
          'Microsoft.KeyVault/operations/read',
        ],
        notActions: [],
        dataActions: ['Microsoft.KeyVault/vaults/secrets/*'],
        notDataActions: [],
      },
    ],
  },
  {
    id: '4633458b-17de-408a-b874-0445c86b69e6',
    roleName: 'Key Vault Secrets User',
    permissions: [
      {
        actions: [],
        notActions: [],
        dataActions: [
          'Microsoft.KeyVault/vaults/secrets/getSecret/action',
          'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: '3913510d-42f4-4e42-8a64-420c390055eb',
    roleName: 'Monitoring Metrics Publisher',
    permissions: [
      {
        actions: [
          'Microsoft.Insights/Register/Action',
          'Microsoft.Support/*',
          'Microsoft.Resources/subscriptions/resourceGroups/read',
        ],
        notActions: [],
        dataActions: ['Microsoft.Insights/Metrics/Write', 'Microsoft.Insights/Telemetry/Write'],
        notDataActions: [],
      },
    ],
  },
];
