import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import { describeError } from '../redact.js';

const GEO_REDUNDANT = /^Standard_(RA)?G(Z)?RS$/i;
const ZONE_REDUNDANT = /ZRS$/i;

/** What the run did about the account's redundancy after its failover. */
export type GeoRedundancyOutcome =
  /** The SKU update was accepted: Azure replicates the account to its new secondary region. */
  | { outcome: 'restored'; sku: string; from: string }
  /** The account is geo-redundant already (a planned failover keeps it, or an earlier attempt restored it). */
  | { outcome: 'alreadyGeoRedundant'; sku: string }
  /** The SKU update failed; the operator has to do it (the checklist says how). */
  | { outcome: 'failed'; sku: string; from: string; error: string }
  /** ARM did not say what the account's SKU is now, so nothing was changed. */
  | { outcome: 'unknownSku' };

/**
 * The geo-redundant SKU to give back to an account a failover left locally (or zone) redundant: the
 * one it had before when a SKU update can reach it, else the read-access one of its zone redundancy.
 * A SKU update changes geo-redundancy only, not zone redundancy (learn.microsoft.com/azure/storage/
 * common/redundancy-migration): LRS becomes GRS or RA-GRS, ZRS becomes GZRS or RA-GZRS (what an
 * unplanned failover of a GZRS account leaves, `postFailoverRedundancy`). Undefined when the account
 * is geo-redundant already.
 */
export function geoRedundantSkuFor(skuBefore: string | null, skuNow: string): string | undefined {
  if (GEO_REDUNDANT.test(skuNow)) return undefined;
  const zonal = ZONE_REDUNDANT.test(skuNow);
  if (skuBefore && GEO_REDUNDANT.test(skuBefore) && ZONE_REDUNDANT.test(skuBefore) === zonal) {
    return skuBefore;
  }
  return zonal ? 'Standard_RAGZRS' : 'Standard_RAGRS';
}

/**
 * Makes the failed-over primary account geo-redundant again (StorageAccounts_Update of its SKU,
 * synchronous), when the run's configuration asks for it (`kyvos-dr-restore-geo-redundancy`).
 * Idempotent: an account that is geo-redundant already is left alone, so a step that is taken over
 * changes nothing twice. A refused update is reported, not thrown: the data is in the DR region
 * already, and the checklist gives the operator the command.
 */
export async function restoreGeoRedundancy(
  clients: Pick<ClientFactory, 'storageManagement'>,
  config: Pick<DrConfig, 'subscriptionId' | 'primary'>,
  skuBefore: string | null,
  skuNow: string | null,
  abortSignal?: AbortSignal,
): Promise<GeoRedundancyOutcome> {
  if (!skuNow) return { outcome: 'unknownSku' };
  const sku = geoRedundantSkuFor(skuBefore, skuNow);
  if (!sku) return { outcome: 'alreadyGeoRedundant', sku: skuNow };
  try {
    await clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.update(
        config.primary.resourceGroup,
        config.primary.storageAccount,
        { sku: { name: sku } },
        abortSignal ? { abortSignal } : {},
      );
    return { outcome: 'restored', sku, from: skuNow };
  } catch (error) {
    return { outcome: 'failed', sku, from: skuNow, error: describeError(error) };
  }
}
