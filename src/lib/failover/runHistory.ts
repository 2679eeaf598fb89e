import type { DrConfig } from '../config/DrConfig.js';
import type { RunStore } from './RunStore.js';
import type { RecordedFailover } from './steps/record.js';

/**
 * An earlier failover of this pair found in the app's own run history: a run other than `runId`, not
 * a dry run, whose promote of the configured replica server succeeded. Preflight asks this when Key
 * Vault, where the record step writes `kyvos-dr-last-failover-run-id`, cannot be reached: the run
 * records are in the app's storage account in the DR region, written by the Function app and the CLI
 * alike.
 *
 * It is stricter than the vault's record: the reset marker an operator writes there for a new DR pair
 * cannot be read while the vault is down, so any earlier promote of a server of the same name counts.
 * A failed run that promoted is retried under its own id, which this never counts.
 */
export async function promotedInRunHistory(
  store: RunStore,
  config: Pick<DrConfig, 'dr'>,
  runId: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<RecordedFailover | undefined> {
  for await (const key of store.documents.keys('runs/', options)) {
    const match = /^runs\/([^/]+)\/run\.json$/.exec(key);
    if (!match?.[1] || match[1] === runId) continue;
    const run = await store.get(match[1]);
    if (!run || run.request.dryRun) continue;
    const promote = run.steps['database.promote'];
    const server = (promote.detail as { server?: string } | undefined)?.server ?? config.dr.replicaServer;
    if (promote.status === 'Succeeded' && server === config.dr.replicaServer) {
      return { runId: run.runId, ...(promote.endedAt ? { at: promote.endedAt } : {}) };
    }
  }
  return undefined;
}
