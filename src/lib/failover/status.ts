import type { FailoverRun } from './FailoverRun.js';
import { stepTimings } from './report.js';
import { waitingFor } from './waitingFor.js';

/**
 * The run as the status URL shows it: state, what it is waiting for (while Running), steps with
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
  return {
    runId: run.runId,
    state: run.state,
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
    report: run.report ?? null,
  };
}
