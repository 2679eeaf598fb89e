import type { StorageAccount } from '@azure/arm-storage';
import { statusOf } from '../errors.js';
import type { DoctorContext } from './doctorCheck.js';

export interface ReadSourceAccountOptions {
  /** Also read `geoReplicationStats` (`$expand=geoReplicationStats`): its status, `canFailover`. */
  expandGeoReplicationStats?: boolean;
}

/**
 * The source (primary) account as ARM reports it (Storage Accounts - Get Properties): SKU,
 * `isHnsEnabled`, `networkRuleSet`, `publicNetworkAccess`, and `geoReplicationStats` when asked. A
 * failure is thrown: the check that asked becomes an `unknown` finding naming it.
 */
export function readSourceAccount(
  context: DoctorContext,
  options: ReadSourceAccountOptions = {},
): Promise<StorageAccount> {
  const { config } = context;
  const expand = options.expandGeoReplicationStats === true;
  return once(context, `source${expand ? '+geoReplicationStats' : ''}`, () =>
    context.clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.getProperties(config.primary.resourceGroup, config.primary.storageAccount, {
        ...(expand ? { expand: 'geoReplicationStats' } : {}),
        ...(context.abortSignal ? { abortSignal: context.abortSignal } : {}),
      }),
  );
}

/**
 * The DR account as ARM reports it, or undefined when it does not exist (404): the failover then
 * creates it (`ensureDrStorage`). Any other failure is thrown.
 */
export function readDrAccount(context: DoctorContext): Promise<StorageAccount | undefined> {
  const { config } = context;
  return once(context, 'dr', async () => {
    try {
      return await context.clients
        .storageManagement(config.subscriptionId)
        .storageAccounts.getProperties(config.dr.resourceGroup, config.dr.storageAccount, {
          ...(context.abortSignal ? { abortSignal: context.abortSignal } : {}),
        });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  });
}

/** `read()` once per doctor run (`DoctorContext.reads`); every time without one. */
function once<T>(context: DoctorContext, key: string, read: () => Promise<T>): Promise<T> {
  const reads = context.reads;
  if (!reads) return read();
  let pending = reads.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = read();
    reads.set(key, pending);
  }
  return pending;
}
