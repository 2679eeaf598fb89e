import { STOP_IS_TEMPORARY, stopOldPrimary } from '../../promote/stopOldPrimary.js';
import { describeError } from '../../redact.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/**
 * Fences the old primary right after the promote, so that the window in which two servers take
 * writes is the promote itself, not the whole copy.
 *
 * A Standalone promote leaves the old primary writable; two writers would split the metadata. When
 * configured (`kyvos-dr-stop-old-primary`, default true) the old primary is stopped through ARM. In a
 * region outage that fails: the step still succeeds, reports `oldPrimaryFenced: false`, and the
 * report's checklist then starts with fencing it by hand. With Switchover the old primary became a
 * replica. Idempotent: stopping a stopped server is a no-op.
 */
export async function fenceOldPrimary(ctx: StepContext): Promise<StepOutcome> {
  return { detail: await fence(ctx) };
}

async function fence(
  ctx: StepContext,
): Promise<{ oldPrimary: string; oldPrimaryFenced: boolean; fencing: string }> {
  const { config, clients, options } = ctx;
  const { postgresServer } = config.primary;
  if (config.promoteMode === 'Switchover') {
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: true,
      fencing: 'Switchover made it a read replica',
    };
  }
  if (!config.stopOldPrimary) {
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: false,
      fencing: 'not stopped: kyvos-dr-stop-old-primary is false',
    };
  }
  try {
    await stopOldPrimary(clients, config, {
      updateIntervalInMs: options.pollIntervalInMs,
      timeoutInMs: Math.min(options.promoteTimeoutInMs, 10 * 60_000),
    });
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: true,
      fencing: `stopped through ARM; ${STOP_IS_TEMPORARY}`,
    };
  } catch (error) {
    ctx.logger.warn('failover.fence_failed', {
      runId: ctx.run.runId,
      server: postgresServer,
      error: describeError(error),
    });
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: false,
      fencing: `could not stop it: ${describeError(error)}`,
    };
  }
}
