import type { FailoverRun, StepName } from './FailoverRun.js';

/** The run as the status URL shows it: state, steps with timings, progress, decision, errors, report. */
export function runStatus(run: FailoverRun): Record<string, unknown> {
  const steps = (Object.keys(run.steps) as StepName[]).map((name) => {
    const s = run.steps[name];
    return {
      name,
      status: s.status,
      startedAt: s.startedAt ?? null,
      endedAt: s.endedAt ?? null,
      durationSeconds: s.durationSeconds ?? null,
      attempts: s.attempts,
      ...(s.detail ? { detail: s.detail } : {}),
      ...(s.error ? { error: s.error } : {}),
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
    decision: run.decision ?? null,
    progress: run.progress,
    steps,
    errors: run.errors,
    report: run.report ?? null,
  };
}
