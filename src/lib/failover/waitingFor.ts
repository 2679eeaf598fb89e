import { type FailoverRun, STEP_NAMES, type StepName } from './FailoverRun.js';
import { readySteps } from './runbook.js';

/** A step a worker holds now: its claim has not expired. */
export interface LiveClaim {
  step: StepName;
  until: string;
}

/** The steps whose workers hold a claim that has not expired at `now` (they heartbeat while working). */
export function liveClaims(run: FailoverRun, now: Date): LiveClaim[] {
  return STEP_NAMES.flatMap((step) => {
    const { status, claimedUntil } = run.steps[step];
    return status === 'Running' && claimedUntil && Date.parse(claimedUntil) > now.getTime()
      ? [{ step, until: claimedUntil }]
      : [];
  });
}

/**
 * When the run's own work last changed it: a step claimed, heartbeated or ended, the copy's figures.
 * Notes about the run (failed deliveries, the sweeper's re-advances) do not count (`RunStore.update`).
 */
export function lastProgressAt(run: FailoverRun): Date {
  const at = Date.parse(run.updatedAt);
  return new Date(Number.isFinite(at) ? at : Date.parse(run.createdAt));
}

/**
 * Why a Running run is waiting, in a sentence an operator can act on; null once it has ended. Every
 * cause that holds is named, most telling first: a step paused for the operator, an advance that fails before any step can run (the
 * configuration), workers holding steps, the copy's partitions, a first advance message never
 * processed, ready steps nobody has picked up; then the sweeper's last re-advance, when nothing has
 * moved since.
 */
export function waitingFor(run: FailoverRun, now: Date): string | null {
  if (run.state !== 'Running') return null;
  const progressAt = lastProgressAt(run).getTime();
  const parts: string[] = [];
  // A step paused at a manual action (the quiesce of a planned run) waits for a person, not a worker.
  for (const step of STEP_NAMES) {
    const { status, detail } = run.steps[step];
    if (status === 'Running' && typeof detail?.instruction === 'string' && detail.instruction) {
      parts.push(`the operator, at step ${step}: ${detail.instruction}`);
    }
  }
  const failure = run.watch?.advanceFailure;
  if (failure && Date.parse(failure.at) >= progressAt) {
    parts.push(`every advance fails before a step can run: ${failure.reason} (last at ${failure.at})`);
  }
  for (const claim of liveClaims(run, now)) {
    parts.push(`a worker holds step ${claim.step} until ${claim.until}`);
  }
  const copy = run.steps['storage.copy'];
  if (copy.status === 'Running' && !liveClaims(run, now).some((c) => c.step === 'storage.copy')) {
    const p = run.progress;
    parts.push(
      p.listingComplete
        ? `the copy: ${p.partitionsDone} of ${p.partitionsListed} partitions done`
        : `the copy: listing the source, ${p.partitionsListed} partitions so far, ${p.partitionsDone} done`,
    );
  }
  if (parts.length === 0) parts.push(nextAdvance(run, now));
  const sweeper = run.watch?.lastReadvancedAt;
  if (sweeper && Date.parse(sweeper) >= progressAt) {
    const times = run.watch?.readvances ?? 1;
    parts.push(
      `the sweeper re-advanced it at ${sweeper}${times > 1 ? ` (${times} re-advances in all)` : ''}`,
    );
  }
  return parts.join('; ');
}

/** Nothing holds or copies: the run waits for an advance message to be processed. */
function nextAdvance(run: FailoverRun, now: Date): string {
  const started = STEP_NAMES.some((name) => run.steps[name].attempts > 0 || run.steps[name].startedAt);
  if (!started) return `the first advance message has not been processed since ${run.createdAt}`;
  const ready = readySteps(run, now);
  return ready.length > 0
    ? `an advance message to run ${ready.length > 1 ? 'steps' : 'step'} ${ready.join(', ')} (no progress since ${run.updatedAt})`
    : `an advance message (no progress since ${run.updatedAt})`;
}
