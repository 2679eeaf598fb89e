import { createHash } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import type { LocalStorageAccount, RegionRole } from './types.js';

/**
 * A storage account's network rules, as ARM reports them in `properties.networkAcls`
 * (`NetworkRuleSet` of Microsoft.Storage, api-version 2025-08-01; azure-rest-api-specs
 * `specification/storage/.../examples/StorageAccountGetProperties.json`, copied in
 * `../shared/azure-rest-examples/storage/`). The account's endpoints, the RA-GRS `-secondary` one
 * included, answer under these rules.
 */
export interface StorageNetworkRuleSet {
  /** `Allow`: every network may reach the account (Azure's default); `Deny`: only what a rule allows. */
  defaultAction: 'Allow' | 'Deny';
  /** `None`, or a comma-separated list of `AzureServices`, `Logging`, `Metrics`. */
  bypass: string;
  ipRules: Array<{ value: string; action?: 'Allow' }>;
  virtualNetworkRules: Array<{ id: string; action?: 'Allow'; state?: string }>;
  resourceAccessRules: Array<{ tenantId: string; resourceId: string }>;
}

/** Azure's default for a new account: open to all networks, trusted services bypassing. */
export function openNetworkRules(): StorageNetworkRuleSet {
  return {
    defaultAction: 'Allow',
    bypass: 'AzureServices',
    ipRules: [],
    virtualNetworkRules: [],
    resourceAccessRules: [],
  };
}

/**
 * Where the Function app's requests come from, in the local stack's model of the network: the app
 * runs in the DR region with VNet integration (its requests to storage carry its subnet, through a
 * `Microsoft.Storage` service endpoint), and its public outbound address is used when it has no
 * service endpoint. A source account allows the app when one of its virtual network rules names the
 * subnet, or (from another region) one of its IP rules covers the address.
 */
export const APP_NETWORK = {
  region: 'dr' as RegionRole,
  ipAddress: '203.0.113.10',
  subnetId:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-kyvos-dr/providers/Microsoft.Network/virtualNetworks/vnet-kyvos-dr/subnets/snet-func-kyvos-dr',
};

/** Who sends a request to an account: the Function app, or another account's storage service. */
export type NetworkRequester = { kind: 'app' } | { kind: 'storage-service'; account: LocalStorageAccount };

/**
 * The public address from which an account's storage service reads a copy source, in the stack's
 * model: a stable address per account in TEST-NET-2 (198.51.100.0/24). Azure publishes no such
 * address; Microsoft support hands them out (Azure/azure-storage-azcopy#1425).
 */
export function storageServiceAddress(accountName: string): string {
  const byte = createHash('sha256').update(accountName.toLowerCase()).digest()[0] ?? 0;
  return `198.51.100.${(byte % 254) + 1}`;
}

/**
 * Whether `requester` may reach `account` under `rules`. The rules, from Azure's documentation:
 * - `defaultAction: Allow` admits every network
 *   (learn.microsoft.com/azure/storage/common/storage-network-security).
 * - A virtual network rule admits requests from its subnet
 *   (storage-network-security-virtual-networks). A storage account's own service is in no subnet of
 *   the customer's.
 * - An IP rule admits requests from its address or range, but "IP network rules have no effect on
 *   requests that originate from the same Azure region as the storage account"
 *   (storage-network-security-ip-address-range). Requests between Azure services in one region use
 *   private addresses, which no IP rule can name.
 * - The trusted-services exception (`bypass: AzureServices`) and resource instance rules admit only
 *   the services and resource types listed in "Trusted Azure services"
 *   (storage-network-security-trusted-azure-services). Azure Storage is not among them, and neither
 *   is a Function app (`Microsoft.Web`): they admit neither requester here.
 * So a Copy Blob whose source account denies by default fails unless the destination's service
 *   reads from another region and an IP rule names its address: what Microsoft support told users
 *   of AzCopy (Azure/azure-storage-azcopy#1425, #1673, #755; MicrosoftDocs/azure-docs#67874 asks
 *   for it to be documented).
 */
export function isAllowedByNetworkRules(
  account: LocalStorageAccount,
  rules: StorageNetworkRuleSet,
  requester: NetworkRequester,
): boolean {
  if (rules.defaultAction.toLowerCase() === 'allow') return true;
  const from =
    requester.kind === 'app'
      ? { region: APP_NETWORK.region, ipAddress: APP_NETWORK.ipAddress, subnetId: APP_NETWORK.subnetId }
      : {
          region: requester.account.region,
          ipAddress: storageServiceAddress(requester.account.name),
          subnetId: undefined,
        };
  if (
    from.subnetId &&
    rules.virtualNetworkRules.some(
      (rule) => (rule.action ?? 'Allow') === 'Allow' && sameId(rule.id, from.subnetId as string),
    )
  ) {
    return true;
  }
  if (from.region === account.region) return false;
  return rules.ipRules.some(
    (rule) => (rule.action ?? 'Allow') === 'Allow' && ipMatches(rule.value, from.ipAddress),
  );
}

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** An IP rule's value is an IPv4 address or a CIDR range (storage-network-security-ip-address-range). */
function ipMatches(value: string, address: string): boolean {
  const [network, prefix] = value.split('/');
  if (!network || !isIPv4(network)) return false;
  const list = new BlockList();
  if (prefix === undefined) list.addAddress(network);
  else list.addSubnet(network, Number(prefix));
  return list.check(address);
}

/** A request the storage front answers itself, as the account's firewall would. */
export interface NetworkDenial {
  status: 403;
  code: 'AuthorizationFailure' | 'CannotVerifyCopySource';
  message: string;
  /** Extra response headers. */
  headers: Record<string, string>;
}

/**
 * Azure's message for a request its firewall refuses (error code `AuthorizationFailure`), which is
 * also what a destination that reads a firewalled copy source reports inside `CannotVerifyCopySource`
 * (Azure/azure-storage-azcopy#755, #504: "This request is not authorized to perform this operation.").
 */
const NETWORK_DENIED_MESSAGE = 'This request is not authorized to perform this operation.';

export interface NetworkRequest {
  /** The account the request is for (its first path segment, without `-secondary`). */
  account: LocalStorageAccount;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * How the storage front applies the accounts' network rules to one request (`undefined`: let it
 * through):
 * - every request that reaches an account comes from the Function app's network (`APP_NETWORK`),
 *   and the account's rules decide, as Azure's firewall does for the public endpoint: `403
 *   AuthorizationFailure`;
 * - a Copy Blob or Copy Blob From URL (`x-ms-copy-source`) whose source is another account of the
 *   stack is read by the destination account's storage service, not by the app: the source
 *   account's rules decide for that service, and a refusal answers `403 CannotVerifyCopySource`
 *   with the source's status and code in `x-ms-copy-source-status-code` and
 *   `x-ms-copy-source-error-code` (Copy Blob From URL response headers, Blob service 2025-01-05);
 * - Azurite's own call back to the copy source (its HTTP client, axios, reads `?comp=metadata`) is
 *   that service read, already decided at the copy request.
 */
export function networkDenial(
  request: NetworkRequest,
  accounts: readonly LocalStorageAccount[],
  rulesOf: (account: LocalStorageAccount) => StorageNetworkRuleSet,
): NetworkDenial | undefined {
  if (isCopySourceCallback(request)) return undefined;
  if (!isAllowedByNetworkRules(request.account, rulesOf(request.account), { kind: 'app' })) {
    return { status: 403, code: 'AuthorizationFailure', message: NETWORK_DENIED_MESSAGE, headers: {} };
  }
  const source = copySourceAccount(request.headers['x-ms-copy-source'], accounts);
  if (!source || source.name === request.account.name) return undefined;
  const requester = { kind: 'storage-service' as const, account: request.account };
  if (isAllowedByNetworkRules(source, rulesOf(source), requester)) return undefined;
  return {
    status: 403,
    code: 'CannotVerifyCopySource',
    message: NETWORK_DENIED_MESSAGE,
    headers: {
      'x-ms-copy-source-status-code': '403',
      'x-ms-copy-source-error-code': 'AuthorizationFailure',
    },
  };
}

function isCopySourceCallback(request: NetworkRequest): boolean {
  const agent = request.headers['user-agent'];
  return (
    typeof agent === 'string' &&
    agent.startsWith('axios/') &&
    request.url.searchParams.get('comp') === 'metadata'
  );
}

/** The stack's account a copy source URL names (path-style: its first path segment), if any. */
function copySourceAccount(
  header: string | string[] | undefined,
  accounts: readonly LocalStorageAccount[],
): LocalStorageAccount | undefined {
  if (typeof header !== 'string') return undefined;
  let first: string;
  try {
    first = decodeURIComponent(new URL(header).pathname.split('/')[1] ?? '');
  } catch {
    return undefined;
  }
  const name = first.endsWith('-secondary') ? first.slice(0, -'-secondary'.length) : first;
  return accounts.find((a) => a.name === name);
}
