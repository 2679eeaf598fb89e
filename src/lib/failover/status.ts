import { stepTimings } from '../report/failoverReport.js';
import type { FailoverRun } from './FailoverRun.js';
import { waitingFor } from './waitingFor.js';

/**
 * The run as the status URL shows it: state, what it is waiting for (while Running: `waitingFor`,
 * one sentence; `awaiting`, the step paused at a manual action and its instruction), steps with
 * timings, progress, decision, errors, report.
 */
export function runStatus(run: FailoverRun, now: Date = new Date()): Record<string, unknown> {
  const steps = stepTimings(run).map((timing) => {
    const s = run.steps[timing.name];
    return {
      ...timing,
      attempts: s.attempts,
      ...(s.detail ? { detail: s.detail } : {}),
    };
  });
  // A step paused for outside work says what it waits for (the quiesce: the operator's confirmation).
  const waiting = stepTimings(run).find(
    (t) => t.status === 'Running' && typeof run.steps[t.name].detail?.waitingFor === 'string',
  );
  return {
    runId: run.runId,
    state: run.state,
    ...(run.state === 'Running' && waiting
      ? {
          awaiting: {
            step: waiting.name,
            what: run.steps[waiting.name].detail?.waitingFor,
            instruction: run.steps[waiting.name].detail?.instruction ?? null,
          },
        }
      : {}),
    mode: run.request.mode,
    dryRun: run.request.dryRun,
    reason: run.request.reason,
    requestedBy: run.request.requestedBy,
    ...(run.request.alertId ? { alertId: run.request.alertId } : {}),
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    endedAt: run.endedAt ?? null,
    waitingFor: waitingFor(run, now),
    decision: run.decision ?? null,
    progress: run.progress,
    steps,
    errors: run.errors,
    retries: run.retries ?? [],
    quiesce: run.quiesce ?? null,
    report: run.report ?? null,
  };
}
