import type { StorageAccount } from '@azure/arm-storage';
import { APP_SETTINGS } from '../config/secretNames.js';
import { assessCopyNetworkAccess, copyNetworkNamesOf } from '../copy/copyNetworkAccess.js';
import type { DoctorCheck, DoctorContext, DoctorFinding, DoctorOutcome } from './doctorCheck.js';
import { readDrAccount, readSourceAccount } from './storageAccounts.js';

/**
 * Whether a storage account's network rules (`networkAcls`, with `publicNetworkAccess`) admit the
 * Function app's own requests, which come from the subnet it joins:
 * - `defaultAction: Allow` admits every network (learn.microsoft.com/azure/storage/common/storage-network-security);
 * - a virtual network rule admits its subnet, while the rule's `state` is `Succeeded` (or absent), and
 *   only if the subnet has a storage service endpoint: `Microsoft.Storage` for accounts in the
 *   subnet's region, `Microsoft.Storage.Global` for any region
 *   (storage-network-security-virtual-networks). With the endpoint, the app's requests carry the
 *   subnet, not a public address;
 * - an IP rule admits a public address, and never a request from the account's own region
 *   (storage-network-security-ip-address-range): the app's outbound address may or may not be in it;
 * - neither the trusted-services exception (`bypass: AzureServices`) nor a resource instance rule
 *   admits a Function app: `Microsoft.Web` is not among the trusted services and resource types
 *   (storage-network-security-trusted-azure-services);
 * - `publicNetworkAccess: Disabled` leaves only private endpoints, which the rules do not show.
 */
type AppNetworkVerdict = 'allowed' | 'denied' | 'uncertain';

export interface AppNetworkAccess {
  verdict: AppNetworkVerdict;
  /** What the rules say about the app's subnet, in a sentence. */
  detail: string;
  /** For `denied` and `uncertain`: what to change. */
  fix?: string;
}

/** An account, by name and group, as the fixes name it. */
export interface AccountRef {
  name: string;
  resourceGroup: string;
  /** What the app does with it: "reads the source through its -secondary endpoint". */
  use: string;
}

function sameId(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Judges `account`'s network rules for the app's requests from `subnetId`. */
export function assessAppNetworkAccess(
  account: StorageAccount,
  subnetId: string,
  ref: AccountRef,
): AppNetworkAccess {
  const rules = account.networkRuleSet;
  const who = `The account "${ref.name}", which the app ${ref.use},`;
  const addRule = `az storage account network-rule add --account-name ${ref.name} --resource-group ${ref.resourceGroup} --subnet ${subnetId}`;
  const endpoint = `az network vnet subnet update --ids ${subnetId} --service-endpoints Microsoft.Storage.Global`;
  if (account.publicNetworkAccess?.toLowerCase() === 'disabled') {
    return {
      verdict: 'uncertain',
      detail: `${who} has public network access disabled: only a private endpoint in the app's virtual network can reach it, which its network rules do not show.`,
      fix: `Check that the app's virtual network has a private endpoint for the account's blob endpoint (blob_secondary for the -secondary endpoint) with its private DNS zone, or enable public network access and add a virtual network rule for the app's subnet: ${addRule}`,
    };
  }
  const defaultAction = rules?.defaultAction ?? 'Allow';
  if (defaultAction.toLowerCase() !== 'deny') {
    return {
      verdict: 'allowed',
      detail: `${who} admits every network (networkAcls.defaultAction ${defaultAction}).`,
    };
  }
  const rule = (rules?.virtualNetworkRules ?? []).find(
    (r) => sameId(r.virtualNetworkResourceId, subnetId) && (r.action ?? 'Allow') === 'Allow',
  );
  if (rule && (!rule.state || rule.state === 'Succeeded')) {
    return {
      verdict: 'allowed',
      detail: `${who} denies networks by default and admits the app's subnet through a virtual network rule (which needs a Microsoft.Storage or Microsoft.Storage.Global service endpoint on the subnet).`,
    };
  }
  if (rule) {
    return {
      verdict: 'denied',
      detail: `${who} denies networks by default, and its virtual network rule for the app's subnet is in state ${rule.state}, which admits nothing.`,
      fix: `Remove the rule and add it again once the subnet exists with a storage service endpoint: ${endpoint}; then ${addRule}`,
    };
  }
  const ipRules = (rules?.ipRules?.length ?? 0) + (rules?.ipv6Rules?.length ?? 0);
  if (ipRules > 0) {
    return {
      verdict: 'uncertain',
      detail: `${who} denies networks by default and has no virtual network rule for the app's subnet; only its ${ipRules} IP rule(s) could admit the app, if they hold the app's outbound address and the app reads from another region (IP rules have no effect on requests from the account's own region, nor on requests through a service endpoint).`,
      fix: `Add a virtual network rule for the app's subnet, with a storage service endpoint on the subnet: ${endpoint}; then ${addRule}`,
    };
  }
  return {
    verdict: 'denied',
    detail: `${who} denies networks by default (networkAcls.defaultAction Deny) and no rule admits the app's subnet (the trusted-services exception and resource instance rules do not cover a Function app), so the app's requests fail with 403 AuthorizationFailure.`,
    fix: `Add a virtual network rule for the app's subnet, with a storage service endpoint on the subnet: ${endpoint}; then ${addRule}`,
  };
}

const OUTCOME_OF: Record<AppNetworkVerdict, DoctorOutcome> = {
  allowed: 'pass',
  denied: 'fail',
  uncertain: 'warn',
};

/** A finding of an assessment: `pass`, `fail` or `warn`, with its fix. */
function findingOf(id: string, access: AppNetworkAccess): DoctorFinding {
  return {
    area: 'network',
    id,
    outcome: OUTCOME_OF[access.verdict],
    detail: access.detail,
    ...(access.fix ? { fix: access.fix } : {}),
  };
}

/**
 * The source account's network rules against the server-side copy, which the DR account's storage
 * service fetches (`assessCopyNetworkAccess`).
 */
export function copySourceFinding(
  source: StorageAccount,
  context: Pick<DoctorContext, 'config'>,
): DoctorFinding {
  const access = assessCopyNetworkAccess(source, copyNetworkNamesOf(context.config));
  if (access.verdict === 'allowed') {
    return {
      area: 'network',
      id: 'network.copySource',
      outcome: 'pass',
      detail: `The source account "${context.config.primary.storageAccount}" admits every network (networkAcls.defaultAction ${access.defaultAction}), so the DR account's storage service can read the source of every server-side copy.`,
    };
  }
  const reason = access.reason ?? '';
  return {
    area: 'network',
    id: 'network.copySource',
    outcome: OUTCOME_OF[access.verdict],
    detail: `${reason.charAt(0).toUpperCase()}${reason.slice(1)}`,
    ...(access.fix ? { fix: access.fix } : {}),
  };
}

/**
 * The findings about the app's own requests: it reads the source through its `-secondary` endpoint
 * (health, preflight's proof, the listing the copy plans from) and writes the copy into the DR account
 * and verifies it there. The DR account may not exist yet: the failover creates it without network
 * rules, open to every network as Azure creates an account.
 */
export function appNetworkFindings(
  source: StorageAccount,
  dr: StorageAccount | undefined,
  context: Pick<DoctorContext, 'config' | 'settings'>,
): DoctorFinding[] {
  const { config } = context;
  const subnetId = context.settings[APP_SETTINGS.appSubnetId]?.trim();
  const ids = { source: 'network.appReadsSource', dr: 'network.appWritesDr' };
  if (!subnetId) {
    const unknown = (id: string, account: string): DoctorFinding => ({
      area: 'network',
      id,
      outcome: 'unknown',
      detail: `The app's subnet is not configured, so whether the network rules of "${account}" admit the app cannot be checked.`,
      fix: `Set ${APP_SETTINGS.appSubnetId} to the resource id of the subnet the app joins (infra/function-app.json sets it from virtualNetworkSubnetId).`,
    });
    return [
      unknown(ids.source, config.primary.storageAccount),
      ...(dr ? [unknown(ids.dr, config.dr.storageAccount)] : []),
    ];
  }
  const findings = [
    findingOf(
      ids.source,
      assessAppNetworkAccess(source, subnetId, {
        name: config.primary.storageAccount,
        resourceGroup: config.primary.resourceGroup,
        use: 'reads through its -secondary endpoint (health, preflight and the copy listing)',
      }),
    ),
  ];
  if (!dr) {
    findings.push({
      area: 'network',
      id: ids.dr,
      outcome: 'pass',
      detail: `The DR account "${config.dr.storageAccount}" does not exist yet: the failover creates it open to every network, as Azure creates an account.`,
    });
    return findings;
  }
  findings.push(
    findingOf(
      ids.dr,
      assessAppNetworkAccess(dr, subnetId, {
        name: config.dr.storageAccount,
        resourceGroup: config.dr.resourceGroup,
        use: 'copies into and verifies',
      }),
    ),
  );
  return findings;
}

/** The storage accounts' network rules against what the failover needs. */
export const storageNetworkCheck: DoctorCheck = {
  area: 'network',
  name: 'storage network rules',
  timer: 'storage',
  async run(context) {
    const [source, dr] = await Promise.all([readSourceAccount(context), readDrAccount(context)]);
    return [copySourceFinding(source, context), ...appNetworkFindings(source, dr, context)];
  },
};
