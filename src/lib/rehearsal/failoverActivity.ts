import type { FailoverRun, StepName } from '../failover/FailoverRun.js';
import { LOCK_SETUP_GRACE_IN_MS, type RunStore } from '../failover/RunStore.js';

/**
 * The failover that runs now, if any: the holder of the failover lock whose run is Running, or
 * whose record is still being written (a start within the lock's setup grace). A rehearsal never
 * takes the lock, so that a real failover can start at any moment; it refuses to start while one
 * runs, and does not begin its copy if one started meanwhile.
 */
export async function runningFailover(runs: RunStore, now: Date): Promise<string | undefined> {
  const lock = await runs.lock();
  if (!lock) return undefined;
  const run = await runs.get(lock.runId);
  if (run) return run.state === 'Running' ? run.runId : undefined;
  const acquiredAt = Date.parse(lock.acquiredAt);
  return Number.isFinite(acquiredAt) && now.getTime() - acquiredAt <= LOCK_SETUP_GRACE_IN_MS
    ? lock.runId
    : undefined;
}

/** How long some steps of the latest successful failover took, and which run it was. */
export interface FailoverStepTimings {
  runId: string;
  seconds: Partial<Record<StepName, number>>;
}

/**
 * The durations of `steps` in the latest failover of this app that succeeded (not a dry run): the
 * only measurement of a promote and a record step there can be without promoting. Undefined when
 * no failover has succeeded yet.
 */
export async function latestFailoverTimings(
  runs: RunStore,
  steps: readonly StepName[],
  options: { abortSignal?: AbortSignal } = {},
): Promise<FailoverStepTimings | undefined> {
  let latest: FailoverRun | undefined;
  for await (const key of runs.documents.keys('runs/', options)) {
    const match = /^runs\/([^/]+)\/run\.json$/.exec(key);
    if (!match?.[1]) continue;
    const run = await runs.get(match[1]);
    if (!run || run.request.dryRun || run.state !== 'Succeeded') continue;
    if (!latest || (run.endedAt ?? '') > (latest.endedAt ?? '')) latest = run;
  }
  if (!latest) return undefined;
  const seconds: Partial<Record<StepName, number>> = {};
  for (const step of steps) {
    const duration = latest.steps[step].durationSeconds;
    if (typeof duration === 'number') seconds[step] = duration;
  }
  return { runId: latest.runId, seconds };
}
