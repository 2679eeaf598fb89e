import { promoteReplica } from '../../promote/promoteReplica.js';
import type { StepContext, StepOutcome } from '../StepContext.js';
import { promoteOptionOf } from './preflight.js';

/** Promotes the DR replica (Planned for a planned failover, Forced for a forced one) and proves it writable. */
export async function promoteDatabase(ctx: StepContext): Promise<StepOutcome> {
  const result = await promoteReplica(ctx.clients, ctx.config, {
    option: promoteOptionOf(ctx.run.request.mode),
    timeoutInMs: ctx.options.promoteTimeoutInMs,
    pollIntervalInMs: ctx.options.pollIntervalInMs,
    runId: ctx.run.runId,
    ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
  });
  return { detail: { ...result } };
}
