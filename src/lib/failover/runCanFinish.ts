import { proveSourceAccess, type SourceAccessProof } from '../copy/sourceAccess.js';
import { PreconditionFailed } from '../errors.js';
import type { Readiness } from '../health/readiness.js';
import { describeError } from '../redact.js';
import { copyDepsFor } from './copyContext.js';
import type { FailoverRequest } from './FailoverRun.js';
import type { StepContext } from './StepContext.js';

/**
 * The steps that cannot be undone, in the order they run: a promoted replica never becomes a
 * replica again, a fenced primary has been stopped while the promoted server takes the writes, and
 * the record step's Key Vault writes tell Kyvos to use the DR side. None of them may start before
 * preflight has proved that the rest of the run (the copy above all) can finish.
 */
export const IRREVERSIBLE_STEPS = ['database.promote', 'database.fence', 'record'] as const;

/** How the copy reads its source, as preflight proved it: the SAS's origin and what answered. */
export interface SourceAccessCheck extends SourceAccessProof {
  /** `SAS from secret "<name>"` or `user-delegation SAS`: never the SAS itself. */
  access: string;
}

/** What preflight found about the rest of the run: a proof, or the reasons it could not finish. */
export type RunCanFinish =
  | { canFinish: true; sourceAccess: SourceAccessCheck }
  | { canFinish: false; reasons: string[] };

/**
 * Proves that the copy can read its source, with exactly the access the copy will use
 * (`copyDepsFor`: the source SAS from Key Vault, or a user-delegation SAS from the primary endpoint),
 * through the `-secondary` endpoint (`proveSourceAccess`). A failure is not thrown: it is returned
 * as a reason an operator can act on, so that preflight refuses the run with every reason at once.
 * Nothing is written.
 */
export async function proveRunCanFinish(
  ctx: Pick<
    StepContext,
    'clients' | 'config' | 'logger' | 'clock' | 'appStorageAccount' | 'settings' | 'abortSignal'
  >,
): Promise<RunCanFinish> {
  const access = ctx.config.sourceSasSecretName
    ? `SAS from secret "${ctx.config.sourceSasSecretName}"`
    : 'user-delegation SAS';
  try {
    const deps = await copyDepsFor(ctx);
    const proof = await proveSourceAccess(deps, ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {});
    return { canFinish: true, sourceAccess: { access, ...proof } };
  } catch (error) {
    return {
      canFinish: false,
      reasons: [`the copy cannot read its source (${access}): ${describeError(error)}`],
    };
  }
}

/**
 * The error that refuses a run because Key Vault could not be read: the configuration's vault is
 * where the record step writes the names Kyvos must use, and where an earlier failover is recorded.
 * A vault that cannot even be read now will not take those writes after the promote.
 */
export function keyVaultUnreadable(vault: string, error: unknown): PreconditionFailed {
  const reason = `Key Vault ${vault} could not be read (${describeError(error)}); the run records the new names there and checks it for an earlier failover`;
  return new PreconditionFailed(
    `Failover refused before anything was changed: ${reason}. Fix access to the vault (network, the app identity's "Key Vault Secrets Officer" role) and start again.`,
    [reason],
  );
}

/**
 * The go/no-go decision of preflight, once the facts are in. Returns the refusal to throw, or
 * undefined to go on. A planned run needs an eligible replica; every run, forced and dry runs
 * included, needs a proof that its copy can read the source. Without it the promote and the fence
 * would leave neither side usable: a promoted replica, a stopped primary and no data.
 */
export function refusalOf(
  request: Pick<FailoverRequest, 'mode'>,
  readiness: Pick<Readiness, 'eligibleForPlannedPromote' | 'eligibilityReasons'>,
  runCanFinish: RunCanFinish,
): PreconditionFailed | undefined {
  const cannotFinish = runCanFinish.canFinish ? [] : runCanFinish.reasons;
  if (request.mode === 'planned' && !readiness.eligibleForPlannedPromote) {
    const reasons = [...readiness.eligibilityReasons, ...cannotFinish];
    // "forced" would not help a run that cannot finish: say so only when it would.
    const advice =
      cannotFinish.length > 0
        ? 'Fix the causes and start again.'
        : 'Fix the cause, or use mode "forced" and accept the data loss.';
    return new PreconditionFailed(
      `Planned failover refused: ${reasons.join('; ') || 'the replica is not eligible for a planned promote'}. ${advice}`,
      reasons,
    );
  }
  if (cannotFinish.length > 0) {
    return new PreconditionFailed(
      `Failover refused before anything was changed, because the run could not finish: ${cannotFinish.join('; ')}. Fix the cause and start again; a forced failover does not skip this check, since promoting the replica and stopping the primary without a copy leaves neither side usable.`,
      cannotFinish,
    );
  }
  return undefined;
}
