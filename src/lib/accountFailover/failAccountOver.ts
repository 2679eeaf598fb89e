import { restorePoller, type StorageManagementClient } from '@azure/arm-storage';
import { delay } from '@azure/core-util';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import { describeError } from '../redact.js';
import type { AccountFailoverType } from './accountFailoverReadiness.js';

export interface AccountFailoverOptions {
  failoverType: AccountFailoverType;
  /** Longest wait for the failover's long-running operation (or the account) to finish. */
  timeoutInMs: number;
  pollIntervalInMs: number;
  /** The serialized poller of a failover an earlier attempt began (`persistOperation`), if any. */
  operation?: string;
  /**
   * Whether an earlier attempt may have called the failover without persisting its operation (the
   * step was taken over). Then the account must say no failover is under way or done before one is
   * begun: a second failover would fail the account back.
   */
  earlierAttempt: boolean;
  /** Called with the serialized poller once ARM accepted the failover, before the wait. */
  persistOperation: (operation: string) => Promise<void>;
  abortSignal?: AbortSignal;
}

export interface AccountFailoverResult {
  account: string;
  failoverType: AccountFailoverType;
  /** How this attempt got there: began the failover, followed one begun before, or found it done. */
  how:
    | 'began'
    | 'followed the persisted operation'
    | 'waited for the failover under way'
    | 'already failed over';
  primaryLocation: string;
  lastGeoFailoverTime: string | null;
  sku: string | null;
}

/**
 * Fails the primary storage account over to its secondary region (`POST …/failover`, with
 * `failoverType=Planned` when asked), follows the long-running operation within the timeout, and
 * confirms that the account's primary location is the DR region.
 *
 * Never fails over twice: an account whose primary location is already the DR region is done; an
 * operation persisted by an earlier attempt is followed (`restorePoller`, which sends no new
 * request); an account with `failoverInProgress` is waited for. The failover is begun only when the
 * account is read and says none is under way or done, and its operation is persisted before the wait.
 */
export async function failAccountOver(
  clients: Pick<ClientFactory, 'storageManagement'>,
  config: Pick<DrConfig, 'subscriptionId' | 'primary' | 'dr'>,
  options: AccountFailoverOptions,
): Promise<AccountFailoverResult> {
  const arm = clients.storageManagement(config.subscriptionId);
  const { resourceGroup, storageAccount } = config.primary;
  const signal = options.abortSignal
    ? AbortSignal.any([options.abortSignal, AbortSignal.timeout(options.timeoutInMs)])
    : AbortSignal.timeout(options.timeoutInMs);
  const what = `the failover of the storage account "${storageAccount}" (${resourceGroup}) to ${config.dr.region}`;
  let how: AccountFailoverResult['how'];
  try {
    if (options.operation) {
      how = 'followed the persisted operation';
      // The source operation only names the operation in restorePoller's errors; the classic
      // client's `begin…` is typed as a promise of the poller rather than the poller.
      await restorePoller(arm, options.operation, arm.storageAccounts.beginFailover as never, {
        updateIntervalInMs: options.pollIntervalInMs,
        abortSignal: signal,
      }).pollUntilDone();
    } else {
      const account = await readAccount(arm, config, signal).catch((error: unknown) => {
        if (options.earlierAttempt) {
          throw new Error(
            `Cannot tell whether an earlier attempt began ${what}: the account could not be read (${describeError(error)}); the failover is not called again blind. Retry once ARM answers.`,
            { cause: error },
          );
        }
        return undefined;
      });
      if (account && isIn(account.primaryLocation, config.dr.region)) {
        how = 'already failed over';
      } else if (account?.failoverInProgress) {
        how = 'waited for the failover under way';
        await waitForAccount(arm, config, options.pollIntervalInMs, signal);
      } else {
        how = 'began';
        const poller = await arm.storageAccounts.beginFailover(resourceGroup, storageAccount, {
          ...(options.failoverType === 'Planned' ? { failoverType: 'Planned' as const } : {}),
          updateIntervalInMs: options.pollIntervalInMs,
          abortSignal: signal,
        });
        await options.persistOperation(poller.toString());
        await poller.pollUntilDone({ abortSignal: signal });
      }
    }
  } catch (error) {
    if (signal.aborted && !options.abortSignal?.aborted) {
      throw new Error(
        `${capitalised(what)} did not finish within ${Math.round(options.timeoutInMs / 1000)} s; the operation goes on in Azure: retry the run to follow it (it is never called twice).`,
        { cause: error },
      );
    }
    throw new Error(`${capitalised(what)} failed: ${describeError(error)}`, { cause: error });
  }
  const after = await readAccount(arm, config, options.abortSignal);
  if (!isIn(after.primaryLocation, config.dr.region)) {
    throw new Error(
      `${capitalised(what)} ended, but ARM reports its primary location as ${after.primaryLocation ?? 'unknown'}, not ${config.dr.region}.`,
    );
  }
  return {
    account: storageAccount,
    failoverType: options.failoverType,
    how,
    primaryLocation: after.primaryLocation ?? config.dr.region,
    lastGeoFailoverTime: after.lastGeoFailoverTime?.toISOString() ?? null,
    sku: after.sku?.name ?? null,
  };
}

function readAccount(
  arm: StorageManagementClient,
  config: Pick<DrConfig, 'primary'>,
  abortSignal: AbortSignal | undefined,
) {
  return arm.storageAccounts.getProperties(config.primary.resourceGroup, config.primary.storageAccount, {
    ...(abortSignal ? { abortSignal } : {}),
  });
}

/** Reads the account until no failover is under way (a failover an earlier attempt began without persisting it). */
async function waitForAccount(
  arm: StorageManagementClient,
  config: Pick<DrConfig, 'primary'>,
  pollIntervalInMs: number,
  abortSignal: AbortSignal,
): Promise<void> {
  for (;;) {
    const account = await readAccount(arm, config, abortSignal);
    if (!account.failoverInProgress) return;
    await delay(pollIntervalInMs, { abortSignal });
  }
}

/** ARM locations compare without case or spaces ("East US 2" is "eastus2"). */
function isIn(location: string | undefined, region: string): boolean {
  const plain = (value: string) => value.toLowerCase().replaceAll(' ', '');
  return location !== undefined && plain(location) === plain(region);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
