import type { StorageAccount } from '@azure/arm-storage';
import type { ClientFactory } from '../clients/ClientFactory.js';
import { recordArmEndpoints } from '../clients/storageEndpoints.js';
import type { DrConfig } from '../config/DrConfig.js';
import { describeError } from '../redact.js';

/**
 * Whether the source account's network rules let the DR account's storage service read the source.
 * A server-side copy (Copy Blob, Copy Blob From URL) is fetched by the destination account's storage
 * service, not by the Function app, and the RA-GRS `-secondary` endpoint answers under the account's
 * own rules:
 * - `allowed`: the account admits all networks (`networkAcls.defaultAction` Allow, Azure's default);
 * - `denied`: it admits only what a rule allows, and no rule it has can admit another account's
 *   storage service: that service is in none of the customer's subnets (virtual network rules), and
 *   neither the trusted-services exception nor a resource instance rule covers Azure Storage
 *   (learn.microsoft.com/azure/storage/common/storage-network-security-trusted-azure-services), or
 *   public network access is disabled. Every copy then fails with `403 CannotVerifyCopySource`
 *   (Azure/azure-storage-azcopy#1425, #1673, #755);
 * - `uncertain`: it denies by default but has IP rules. An IP rule admits the destination's service
 *   only if it names that service's outbound address, which Azure does not publish (Microsoft
 *   support gave them out in azure-storage-azcopy#1425), and never for requests from the account's
 *   own region ("IP network rules have no effect on requests that originate from the same Azure
 *   region as the storage account", storage-network-security-ip-address-range).
 */
type CopyNetworkVerdict = 'allowed' | 'denied' | 'uncertain';

export interface CopyNetworkAccess {
  verdict: CopyNetworkVerdict;
  /** `networkAcls.defaultAction` as ARM reports it (`Allow` when ARM reports none). */
  defaultAction: string;
  publicNetworkAccess: string | null;
  /** For `denied` and `uncertain`: what stops the copy, as a clause, and how to fix it. */
  problem?: string;
  /** For `denied` and `uncertain`: what stops the copy, the clause `problem` starts with. */
  reason?: string;
  /** For `denied` and `uncertain`: how to fix it, the sentence `problem` ends with. */
  fix?: string;
}

/** The account names the assessment speaks of. */
export interface CopyNetworkNames {
  sourceAccount: string;
  sourceResourceGroup: string;
  /** The DR account, which reads the source; it may not exist yet (the run creates it). */
  drAccount: string;
}

/** Judges the source account's network rules, as ARM reported them, for a copy into the DR account. */
export function assessCopyNetworkAccess(source: StorageAccount, names: CopyNetworkNames): CopyNetworkAccess {
  const rules = source.networkRuleSet;
  const defaultAction = rules?.defaultAction ?? 'Allow';
  const publicNetworkAccess = source.publicNetworkAccess ?? null;
  const fix = `Let every network reach it before a failover (the one network setting that admits another account's storage service; in a primary-region outage the setting may not be changeable): az storage account update --name ${names.sourceAccount} --resource-group ${names.sourceResourceGroup} --public-network-access Enabled --default-action Allow`;
  const base = { defaultAction, publicNetworkAccess };
  const blocked = (reason: string) => ({ ...base, reason, fix, problem: `${reason} ${fix}` });
  const reader = `the DR account "${names.drAccount}"'s storage service, which reads the source of every server-side copy`;
  if (publicNetworkAccess?.toLowerCase() === 'disabled') {
    return {
      ...blocked(
        `the source account "${names.sourceAccount}" has public network access disabled, so ${reader}, cannot reach it and every copy would fail with 403 CannotVerifyCopySource.`,
      ),
      verdict: 'denied',
    };
  }
  if (defaultAction.toLowerCase() !== 'deny') return { ...base, verdict: 'allowed' };
  const ipRules = (rules?.ipRules?.length ?? 0) + (rules?.ipv6Rules?.length ?? 0);
  if (ipRules > 0) {
    return {
      ...blocked(
        `the source account "${names.sourceAccount}" denies networks by default (networkAcls.defaultAction Deny) and only its ${ipRules} IP rule(s) could admit ${reader}: Azure does not publish that service's addresses, and IP rules have no effect on requests from the account's own region, so copies may fail with 403 CannotVerifyCopySource.`,
      ),
      verdict: 'uncertain',
    };
  }
  return {
    ...blocked(
      `the source account "${names.sourceAccount}" denies networks by default (networkAcls.defaultAction Deny) and no rule it can hold admits ${reader} (not a virtual network rule, not the trusted-services exception, not a resource instance rule), so every copy would fail with 403 CannotVerifyCopySource.`,
    ),
    verdict: 'denied',
  };
}

/** The names of a configuration, for `assessCopyNetworkAccess`. */
export function copyNetworkNamesOf(config: DrConfig): CopyNetworkNames {
  return {
    sourceAccount: config.primary.storageAccount,
    sourceResourceGroup: config.primary.resourceGroup,
    drAccount: config.dr.storageAccount,
  };
}

/**
 * Reads the source account through ARM (recording its endpoints on `clients`) and judges its network
 * rules for the copy; an ARM failure is
 * returned as `unreadable` with its reason (the Storage resource provider may not answer during a
 * primary-region outage), never thrown.
 */
export async function readCopyNetworkAccess(
  config: DrConfig,
  clients: ClientFactory,
  options: { abortSignal?: AbortSignal } = {},
): Promise<CopyNetworkAccess | { unreadable: string }> {
  try {
    const account = await clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.getProperties(config.primary.resourceGroup, config.primary.storageAccount, {
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
    recordArmEndpoints(clients, { ...account, name: account.name ?? config.primary.storageAccount });
    return assessCopyNetworkAccess(account, copyNetworkNamesOf(config));
  } catch (error) {
    return { unreadable: describeError(error) };
  }
}
