import type { StorageAccount } from '@azure/arm-storage';
import { describeError } from '../redact.js';
import type { ClientFactory, StorageEndpoints } from './ClientFactory.js';

/**
 * An account's endpoints from its ARM resource (`properties.primaryEndpoints`,
 * `properties.secondaryEndpoints`; StorageAccountGetProperties, azure-rest-api-specs
 * `specification/storage`), without trailing slashes. Azure DNS zone accounts
 * (`dnsEndpointType: AzureDnsZone`) and sovereign clouds answer at other host names than
 * `<account>.blob.core.windows.net`, and only ARM knows which.
 */
export function endpointsFromArm(account: StorageAccount): StorageEndpoints {
  const trim = (url: string | undefined) => (url ? url.replace(/\/+$/, '') : undefined);
  const blob = trim(account.primaryEndpoints?.blob);
  const dfs = trim(account.primaryEndpoints?.dfs);
  const secondaryBlob = trim(account.secondaryEndpoints?.blob);
  return {
    ...(blob ? { blob } : {}),
    ...(dfs ? { dfs } : {}),
    ...(secondaryBlob ? { secondaryBlob } : {}),
  };
}

/** Records the endpoints of an account that ARM just returned. */
export function recordArmEndpoints(clients: ClientFactory, account: StorageAccount): void {
  if (!account.name) return;
  const endpoints = endpointsFromArm(account);
  if (endpoints.blob) clients.useEndpoints(account.name, endpoints);
}

/** How long a failed lookup is not repeated: ARM may not answer during a regional outage. */
const RETRY_FAILED_LOOKUP_AFTER_MS = 5 * 60_000;
const failedLookups = new WeakMap<ClientFactory, Map<string, number>>();

export interface LearnStorageEndpointsOptions {
  abortSignal?: AbortSignal;
  now?: () => number;
}

/**
 * Makes sure `clients` uses ARM's endpoints for an account: reads the account through ARM once per
 * factory, and records its endpoints. When ARM does not answer (the account does not exist yet, or
 * the Storage resource provider is out with its region), the conventional endpoints stay in use,
 * the reason is returned, and the lookup is not repeated for 5 minutes, so that every copy message
 * of a run does not wait for ARM's retries.
 */
export async function learnStorageEndpoints(
  clients: ClientFactory,
  target: { subscriptionId: string; resourceGroup: string; account: string },
  options: LearnStorageEndpointsOptions = {},
): Promise<{ learned: boolean; problem?: string; fresh?: boolean }> {
  if (clients.knownEndpoints(target.account)) return { learned: true };
  const now = options.now ?? Date.now;
  const failures = failedLookups.get(clients) ?? new Map<string, number>();
  failedLookups.set(clients, failures);
  const key = `${target.subscriptionId}/${target.resourceGroup}/${target.account}`.toLowerCase();
  const failedAt = failures.get(key);
  if (failedAt !== undefined && now() - failedAt < RETRY_FAILED_LOOKUP_AFTER_MS) {
    return { learned: false, problem: 'ARM did not answer a recent lookup' };
  }
  try {
    const account = await clients
      .storageManagement(target.subscriptionId)
      .storageAccounts.getProperties(target.resourceGroup, target.account, {
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
    recordArmEndpoints(clients, { ...account, name: account.name ?? target.account });
    failures.delete(key);
    return { learned: clients.knownEndpoints(target.account) !== undefined };
  } catch (error) {
    failures.set(key, now());
    return { learned: false, problem: describeError(error), fresh: true };
  }
}
