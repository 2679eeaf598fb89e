import { RunNotFound, RunNotWaiting } from '../errors.js';
import type { FailoverRun } from './FailoverRun.js';
import { type FailoverRuntime, scheduleAdvance } from './FailoverService.js';
import { AWAITING_CONFIRMATION, CHECKING_QUIESCE } from './steps/quiesce.js';

/**
 * Records the operator's confirmation that Kyvos is stopped, for a planned run paused at its
 * quiesce, and queues an advance so that the run goes on at once: the quiesce step then checks that
 * the database and the storage have caught up, and the promote and the copy follow. The moment of
 * the confirmation is the quiesce moment the storage must sync past.
 *
 * Throws `RunNotFound`, or `RunNotWaiting` (409) for a run that is not paused there: ended, forced,
 * not there yet, or already confirmed (the first confirmation stands: its moment is the one checked).
 */
export async function confirmQuiesce(
  runtime: FailoverRuntime,
  runId: string,
  confirmation: { confirmedBy: string },
): Promise<FailoverRun> {
  const { store } = runtime;
  const now = runtime.deps.clock();
  if (!(await store.get(runId))) throw new RunNotFound(runId);
  let refusal: RunNotWaiting | undefined;
  const run = await store.update(runId, (r) => {
    refusal = notWaiting(r);
    if (refusal) return false;
    const confirmedAt = now.toISOString();
    r.quiesce = { confirmedAt, confirmedBy: confirmation.confirmedBy };
    const step = r.steps.quiesce;
    step.detail = {
      ...step.detail,
      waitingFor: CHECKING_QUIESCE,
      instruction: `Kyvos stopped, confirmed by ${confirmation.confirmedBy} at ${confirmedAt}: checking that the primary's WAL no longer moves, that the replica has replayed it, and that the storage secondary has synced past ${confirmedAt}.`,
      quiescedAt: confirmedAt,
      confirmedBy: confirmation.confirmedBy,
    };
    return true;
  });
  if (refusal) throw refusal;
  runtime.deps.logger.info('failover.quiesce_confirmed', {
    runId,
    confirmedBy: confirmation.confirmedBy,
    quiescedAt: run.quiesce?.confirmedAt,
  });
  await scheduleAdvance(runtime, runId);
  return run;
}

/** Why the run cannot take a confirmation now; undefined when it is paused waiting for one. */
function notWaiting(run: FailoverRun): RunNotWaiting | undefined {
  const refuse = (reason: string) => new RunNotWaiting(run.runId, run.state, reason);
  if (run.state !== 'Running') return refuse(`it is ${run.state}.`);
  if (run.quiesce) {
    return refuse(
      `Kyvos's stop was already confirmed by ${run.quiesce.confirmedBy} at ${run.quiesce.confirmedAt}.`,
    );
  }
  if (run.request.mode === 'forced' || run.request.dryRun) {
    return refuse(`a ${run.request.dryRun ? 'dry run' : 'forced run'} has no quiesce to confirm.`);
  }
  const step = run.steps.quiesce;
  if (step?.status !== 'Running' || step.detail?.waitingFor !== AWAITING_CONFIRMATION) {
    return refuse(
      `its quiesce step is ${step?.status ?? 'missing'}, not yet waiting; confirm once the status asks for it (preflight must succeed first).`,
    );
  }
  return undefined;
}
