/**
 * Azure built-in role definition IDs, by role name, as published in "Azure built-in roles"
 * (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles; source file
 * MicrosoftDocs/azure-docs `articles/role-based-access-control/built-in-roles.md`, ms.date 04/09/2026,
 * tables "General", "Storage", "Security" and "Monitor").
 *
 * Built-in role IDs are the same in every tenant and never change, so a template that names a role
 * must use exactly this ID. A role that is not listed here cannot be used in `infra/` until its ID
 * has been checked against that page and added.
 */
export const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Blob Data Contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  'Storage Blob Data Reader': '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
};

/**
 * Roles kyvos-dr must never hold: each of them either grants every action on the scope or lets the
 * holder grant itself more (same source, table "Privileged").
 */
export const PRIVILEGED_ROLES: Readonly<Record<string, string>> = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  'Role Based Access Control Administrator': 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
};
