import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';

export interface StopOldPrimaryOptions {
  /** How often the stop operation is polled. */
  updateIntervalInMs?: number;
  /** Gives up waiting for the stop to finish after this long (the stop itself may still complete). */
  timeoutInMs: number;
}

/**
 * What fencing by a stop leaves to do. A stopped flexible server is started again by Azure after seven
 * days (https://learn.microsoft.com/azure/postgresql/flexible-server/overview, "Stop/Start server"), and
 * may be started briefly for monthly maintenance
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-stop-start-server-portal): a
 * stop is a fence for a week at most.
 */
export const STOP_IS_TEMPORARY =
  'Azure restarts a stopped server after 7 days: delete it or cut its network before then';

/**
 * Stops the old primary (`kyvos-dr-primary-pg-server`) through ARM and waits for the stop to finish:
 * the one way kyvos-dr fences it, used by the failover's `database.fence` step and by the health
 * check's split-brain watch. Stopping a stopped server changes nothing. Throws what ARM answered (in
 * a region outage, the region's ARM does not answer).
 */
export async function stopOldPrimary(
  clients: ClientFactory,
  config: DrConfig,
  options: StopOldPrimaryOptions,
): Promise<void> {
  const { resourceGroup, postgresServer } = config.primary;
  await clients
    .postgresManagement(config.subscriptionId)
    .servers.beginStopAndWait(resourceGroup, postgresServer, {
      ...(options.updateIntervalInMs !== undefined ? { updateIntervalInMs: options.updateIntervalInMs } : {}),
      abortSignal: AbortSignal.timeout(options.timeoutInMs),
    });
}

/** The az CLI command that fences the old primary by hand. */
export function stopOldPrimaryCommand(config: DrConfig): string {
  return `az postgres flexible-server stop --resource-group ${config.primary.resourceGroup} --name ${config.primary.postgresServer}`;
}
