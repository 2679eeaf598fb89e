/**
 * Which fired alerts may act on this DR pair: only those whose `alertTargetIDs` name one of the
 * pair's primary resources, or a resource the operator put on `kyvos-dr-alert-target-allow-list`.
 * An action group may be shared by many alert rules, so an alert about anything else (a VM in
 * another subscription, say) must never fail this pair over.
 *
 * `alertTargetIDs` is the list of ARM ids of the resources the alert fired on, in the `essentials`
 * of the common alert schema (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema).
 * Its sibling `configurationItems` holds only names, which are not unique across subscriptions, so
 * it is not used to decide.
 */
import type { DrConfig } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';

/**
 * The ARM ids of the pair's primary resources as the configuration names them: the primary storage
 * account and the primary PostgreSQL flexible server. The DR side is not on the list: an alert about
 * the DR side is no reason to fail over to it.
 */
export function pairResourceIds(config: DrConfig): string[] {
  const providers = `/subscriptions/${config.subscriptionId}/resourceGroups/${config.primary.resourceGroup}/providers`;
  return [
    `${providers}/Microsoft.Storage/storageAccounts/${config.primary.storageAccount}`,
    `${providers}/Microsoft.DBforPostgreSQL/flexibleServers/${config.primary.postgresServer}`,
  ];
}

export type AlertTargetVerdict =
  | { matched: true; targetId: string; via: 'pair' | 'allow-list' }
  | { matched: false; reason: string };

/**
 * Whether one of `targetIds` is one of the pair's resources or on the allow-list. ARM resource ids
 * are case-insensitive, so they are compared in lower case (and without a trailing `/`). A match is
 * exact: a child resource, a resource group or a subscription matches only if it is itself listed.
 */
export function judgeAlertTargets(targetIds: readonly string[], config: DrConfig): AlertTargetVerdict {
  const pair = new Set(pairResourceIds(config).map(normalise));
  const allowed = new Set(config.alertTargetAllowList.map(normalise));
  for (const targetId of targetIds) {
    const id = normalise(targetId);
    if (pair.has(id)) return { matched: true, targetId, via: 'pair' };
    if (allowed.has(id)) return { matched: true, targetId, via: 'allow-list' };
  }
  const shown =
    targetIds.slice(0, 3).join(', ') + (targetIds.length > 3 ? ` and ${targetIds.length - 3} more` : '');
  return {
    matched: false,
    reason: `The alert fired on ${shown}: none is this DR pair's primary storage account or primary PostgreSQL server, nor on ${CONFIG_SECRETS.alertTargetAllowList}; no failover is started.`,
  };
}

function normalise(resourceId: string): string {
  return resourceId.trim().replace(/\/+$/, '').toLowerCase();
}
