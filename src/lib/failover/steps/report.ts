import { buildReport } from '../../report/failoverReport.js';
import { STATE_CONTAINER } from '../RunStore.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/** Builds the final report from the run record and stores it beside the run (`runs/<id>/report.json`). */
export async function writeReport(ctx: StepContext): Promise<StepOutcome> {
  const run = await ctx.store.get(ctx.run.runId);
  if (!run) throw new Error(`Failover run ${ctx.run.runId} disappeared while reporting.`);
  // This step runs last and only after every other step succeeded: the run ends Succeeded.
  const report = buildReport({ ...run, state: 'Succeeded', endedAt: ctx.clock().toISOString() }, ctx.config);
  const body = JSON.stringify(report, null, 2);
  await ctx.clients
    .blobService(ctx.appStorageAccount)
    .getContainerClient(STATE_CONTAINER)
    .getBlockBlobClient(`runs/${run.runId}/report.json`)
    .upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  await ctx.store.update(run.runId, (r) => {
    r.report = report as unknown as Record<string, unknown>;
    return true;
  });
  return { detail: { stored: `${STATE_CONTAINER}/runs/${run.runId}/report.json` } };
}
