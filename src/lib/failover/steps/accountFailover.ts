import { failAccountOver } from '../../accountFailover/failAccountOver.js';
import { restoreGeoRedundancy } from '../../accountFailover/restoreGeoRedundancy.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

const STEP = 'storage.accountFailover';

/**
 * The account failover strategy's storage step: fails the primary account over to the DR region
 * (`failAccountOver`) with the failover type preflight decided, persisting the operation in the run
 * before the wait, so that a worker that takes the step over follows it instead of failing over again.
 * Irreversible: it runs only after preflight proved the run can finish (runCanFinish.ts) and, for a
 * planned run, after the quiesce.
 *
 * With `kyvos-dr-restore-geo-redundancy`, an account the failover left locally redundant is made
 * geo-redundant again once it serves from the DR region (`restoreGeoRedundancy`); a refused SKU update
 * does not fail the step, since the data is where it must be: the report and checklist say so.
 */
export async function accountFailover(ctx: StepContext): Promise<StepOutcome> {
  const { run } = ctx;
  const step = run.steps[STEP];
  const operation = typeof step.detail?.operation === 'string' ? step.detail.operation : undefined;
  const result = await failAccountOver(ctx.clients, ctx.config, {
    failoverType: run.decision?.accountFailover?.failoverType ?? 'Unplanned',
    timeoutInMs: ctx.options.storageFailoverTimeoutInMs,
    pollIntervalInMs: ctx.options.pollIntervalInMs,
    ...(operation ? { operation } : {}),
    earlierAttempt: step.attempts > 1,
    persistOperation: async (serialized) => {
      // Kept whoever holds the step now: it is the one fact that stops a second failover call.
      await ctx.store.update(run.runId, (r) => {
        r.steps[STEP].detail = { ...r.steps[STEP].detail, operation: serialized };
        return true;
      });
      ctx.logger.info('failover.storage.account_failover_begun', { runId: run.runId });
    },
    ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
  });
  if (!ctx.config.restoreGeoRedundancy) return { detail: { ...result } };
  const geoRedundancy = await restoreGeoRedundancy(
    ctx.clients,
    ctx.config,
    run.decision?.accountFailover?.skuBefore ?? null,
    result.sku,
    ctx.abortSignal,
  );
  if (geoRedundancy.outcome === 'failed') {
    ctx.logger.warn('failover.storage.geo_redundancy_not_restored', {
      runId: run.runId,
      sku: geoRedundancy.sku,
      error: geoRedundancy.error,
    });
  } else if (geoRedundancy.outcome === 'restored') {
    ctx.logger.info('failover.storage.geo_redundancy_restored', { runId: run.runId, sku: geoRedundancy.sku });
  }
  return { detail: { ...result, geoRedundancy } };
}
