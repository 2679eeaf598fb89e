import { randomUUID } from 'node:crypto';
import type { StorageStrategy } from '../config/DrConfig.js';
import { describeError } from '../redact.js';
import { buildReport } from '../report/failoverReport.js';
import { type FailoverRun, type StepName, strategyOf } from './FailoverRun.js';
import { IRREVERSIBLE_STEPS } from './runCanFinish.js';
import type { StepContext, StepOutcome } from './StepContext.js';
import { accountFailover } from './steps/accountFailover.js';
import { copyData } from './steps/copy.js';
import { ensureDrStorage } from './steps/ensureDrStorage.js';
import { fenceOldPrimary } from './steps/fence.js';
import { preflight } from './steps/preflight.js';
import { promoteDatabase } from './steps/promote.js';
import { AWAITING_CONFIRMATION, quiesce } from './steps/quiesce.js';
import { recordActiveNames } from './steps/record.js';
import { writeReport } from './steps/report.js';
import { verifyFailover } from './steps/verify.js';

type StepFn = (ctx: StepContext) => Promise<StepOutcome>;

/**
 * A step of the runbook: what runs it, what it waits for, and the storage strategy it belongs to
 * (none: every run takes it). A dependency on a step of the other strategy is met: it never runs.
 */
interface RunbookStep {
  run: StepFn;
  after: StepName[];
  strategy?: StorageStrategy;
}

const STEPS: Record<StepName, RunbookStep> = {
  preflight: { run: preflight, after: [] },
  // Planned runs: Kyvos stopped, confirmed, WAL still and replayed, storage synced (see the step).
  quiesce: { run: quiesce, after: ['preflight'] },
  'storage.ensureAccount': { run: ensureDrStorage, after: ['preflight'], strategy: 'copy' },
  'storage.copy': { run: copyData, after: ['storage.ensureAccount', 'quiesce'], strategy: 'copy' },
  // Irreversible: only once preflight proved the account can fail over and, for a planned run, the
  // quiesce proved the secondary synced past the moment Kyvos stopped.
  'storage.accountFailover': {
    run: accountFailover,
    after: ['preflight', 'quiesce'],
    strategy: 'accountFailover',
  },
  // Irreversible: only once preflight proved the copy can read its source, the DR account exists and,
  // for a planned run, Kyvos is quiesced.
  'database.promote': { run: promoteDatabase, after: ['preflight', 'storage.ensureAccount', 'quiesce'] },
  'database.fence': { run: fenceOldPrimary, after: ['database.promote'] },
  record: {
    run: recordActiveNames,
    after: ['storage.copy', 'storage.accountFailover', 'database.fence'],
  },
  verify: { run: verifyFailover, after: ['record'] },
  report: { run: writeReport, after: ['verify'] },
};

/** Steps a dry run performs; everything else is Skipped. The plan is written by `preflight`. */
const DRY_RUN_STEPS: StepName[] = ['preflight'];

export interface AdvanceResult {
  run: FailoverRun;
  /** The copy is in flight: check again after this many seconds (the caller schedules it). */
  recheckInSeconds?: number;
}

/**
 * Runs every step of the run that is ready, in parallel where the runbook allows it, and returns
 * when nothing more can be done now. Safe to call from any number of workers at once: a step is
 * claimed through an ETag-guarded update, so exactly one worker runs it; a claim that expires (its
 * worker died) is taken over on the next call, and every step is idempotent, so taking over is safe.
 */
export async function advanceRun(
  base: Omit<StepContext, 'run'>,
  runId: string,
  workerId = `worker-${randomUUID()}`,
): Promise<AdvanceResult> {
  for (;;) {
    const run = await base.store.get(runId);
    if (!run) throw new Error(`Failover run ${runId} does not exist.`);
    if (run.state !== 'Running') return { run };

    const ready = readySteps(run, base.clock());
    if (ready.length === 0) {
      const finished = await finishIfDone(base, runId);
      if (finished.state !== 'Running') return { run: finished };
      if (finished.steps['storage.copy'].status === 'Running') {
        return { run: finished, recheckInSeconds: base.options.copyPollDelayInSeconds };
      }
      // Steps are claimed by other workers. Should one die mid-step (a host timeout, a crash), its
      // claim expires; come back then, so that the run never waits for a message nobody sends.
      const claims = Object.values(finished.steps)
        .filter((step) => step.status === 'Running' && step.claimedUntil)
        .map((step) => new Date(step.claimedUntil as string).getTime());
      if (claims.length === 0) return { run: finished };
      const seconds = Math.ceil((Math.min(...claims) - base.clock().getTime()) / 1000) + 1;
      return { run: finished, recheckInSeconds: Math.max(1, seconds) };
    }

    let waiting = false;
    await Promise.all(
      ready.map(async (name) => {
        const claimed = await claimStep(base, runId, name, workerId);
        if (!claimed) return;
        const outcome = await executeStep(base, claimed, name, workerId);
        if (outcome === 'waiting') waiting = true;
      }),
    );
    if (waiting) {
      // The copy is in flight on the queue workers: come back later rather than spin.
      const latest = await base.store.get(runId);
      if (!latest) throw new Error(`Failover run ${runId} does not exist.`);
      return { run: latest, recheckInSeconds: base.options.copyPollDelayInSeconds };
    }
  }
}

/** Steps whose dependencies succeeded and that are pending, or running with an expired claim. */
export function readySteps(run: FailoverRun, now: Date): StepName[] {
  const names = Object.keys(STEPS) as StepName[];
  return names.filter((name) => {
    const step = run.steps[name];
    if (!inScope(run, name)) return false;
    const depsDone = STEPS[name].after.every(
      (d) => run.steps[d].status === 'Succeeded' || !ofStrategy(run, d),
    );
    if (!depsDone) return false;
    // Nothing irreversible once a step has failed (the copy, say): the run cannot finish as it stands,
    // and a stopped primary would leave neither side usable. A retry resets the failed step first.
    if (isIrreversible(name) && names.some((n) => run.steps[n].status === 'Failed')) return false;
    if (step.status === 'Pending') return true;
    if (step.status === 'Running') {
      if (awaitsOperator(run, name)) return false;
      // A step with no claim is waiting for outside work (queued copy partitions) and is re-checked.
      return !step.claimedUntil || new Date(step.claimedUntil).getTime() < now.getTime();
    }
    return false;
  });
}

/** Whether the step belongs to the run's storage strategy (or to every strategy). */
function ofStrategy(run: FailoverRun, name: StepName): boolean {
  const strategy = STEPS[name].strategy;
  return strategy === undefined || strategy === strategyOf(run);
}

/** Whether the run takes the step: its strategy's, and for a dry run only what a dry run performs. */
function inScope(run: FailoverRun, name: StepName): boolean {
  return ofStrategy(run, name) && (!run.request.dryRun || DRY_RUN_STEPS.includes(name));
}

function isIrreversible(name: StepName): boolean {
  return (IRREVERSIBLE_STEPS as readonly StepName[]).includes(name);
}

/** Paused at the quiesce's manual action: only the operator's confirmation resumes it. */
export function awaitsOperator(run: FailoverRun, name: StepName): boolean {
  const step = run.steps[name];
  return step.status === 'Running' && step.detail?.waitingFor === AWAITING_CONFIRMATION && !run.quiesce;
}

async function claimStep(
  base: Omit<StepContext, 'run'>,
  runId: string,
  name: StepName,
  workerId: string,
): Promise<FailoverRun | undefined> {
  let claimed = false;
  const run = await base.store.update(runId, (r) => {
    const step = r.steps[name];
    const now = base.clock();
    const expired = !step.claimedUntil || new Date(step.claimedUntil).getTime() < now.getTime();
    const claimable = step.status === 'Pending' || (step.status === 'Running' && expired);
    if (r.state !== 'Running' || !claimable || awaitsOperator(r, name)) {
      claimed = false;
      return false;
    }
    claimed = true;
    if (step.status === 'Pending') {
      step.startedAt = now.toISOString();
      step.attempts = 0;
    }
    // A waiting step (no claim) is re-checked, not retried; taking over an expired claim is a retry.
    const waiting = step.status === 'Running' && !step.claimedUntil;
    step.status = 'Running';
    step.owner = workerId;
    if (!waiting) step.attempts += 1;
    step.claimedUntil = new Date(now.getTime() + base.options.stepClaimInMs).toISOString();
    return true;
  });
  return claimed ? run : undefined;
}

async function executeStep(
  base: Omit<StepContext, 'run'>,
  run: FailoverRun,
  name: StepName,
  workerId: string,
): Promise<'done' | 'waiting' | 'failed'> {
  const heartbeat = setInterval(
    () => {
      base.store
        .update(run.runId, (r) => {
          if (r.steps[name].owner !== workerId || r.steps[name].status !== 'Running') return false;
          r.steps[name].claimedUntil = new Date(
            base.clock().getTime() + base.options.stepClaimInMs,
          ).toISOString();
          return true;
        })
        .catch(() => {});
    },
    Math.max(1_000, base.options.stepClaimInMs / 3),
  );
  heartbeat.unref();
  const started = Date.now();
  base.logger.info('failover.step_started', { runId: run.runId, step: name, worker: workerId });
  try {
    const outcome = await (base.steps?.[name] ?? STEPS[name].run)({ ...base, run });
    await base.store.update(run.runId, (r) => {
      const step = r.steps[name];
      if (step.owner !== workerId) return false;
      step.detail = { ...step.detail, ...outcome.detail };
      step.claimedUntil = undefined;
      step.owner = undefined;
      if (outcome.waiting) return true;
      step.status = 'Succeeded';
      step.endedAt = base.clock().toISOString();
      step.durationSeconds = secondsBetween(step.startedAt, step.endedAt);
      return true;
    });
    base.logger.info(outcome.waiting ? 'failover.step_waiting' : 'failover.step_succeeded', {
      runId: run.runId,
      step: name,
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    });
    return outcome.waiting ? 'waiting' : 'done';
  } catch (error) {
    const message = describeError(error);
    // A worker whose claim expired (it stalled) and was taken over no longer speaks for the step:
    // the new owner's outcome stands, and the run is neither failed, refused nor unlocked by it.
    let owned = false;
    const after = await base.store.update(run.runId, (r) => {
      const step = r.steps[name];
      owned = step.owner === workerId;
      if (!owned) return false;
      step.status = 'Failed';
      step.error = message;
      const detail = (error as { detail?: Record<string, unknown> }).detail;
      if (detail) step.detail = { ...step.detail, ...detail };
      step.endedAt = base.clock().toISOString();
      step.durationSeconds = secondsBetween(step.startedAt, step.endedAt);
      step.claimedUntil = undefined;
      step.owner = undefined;
      // Only the go/no-go decision refuses a run; a precondition failing later is a failure of its step.
      const refused =
        name === 'preflight' && (error as { isPreconditionFailed?: boolean }).isPreconditionFailed === true;
      if (refused) {
        r.state = 'Refused';
        r.endedAt = step.endedAt;
        for (const other of Object.values(r.steps)) if (other.status === 'Pending') other.status = 'Skipped';
        r.errors.push(message);
        for (const reason of (error as { reasons?: string[] }).reasons ?? []) r.errors.push(reason);
      } else {
        r.errors.push(`${name}: ${message}`);
      }
      return true;
    });
    if (!owned) {
      base.logger.warn('failover.step_lost', {
        runId: run.runId,
        step: name,
        worker: workerId,
        owner: after.steps[name].owner ?? null,
        status: after.steps[name].status,
        error: message,
      });
      return 'failed';
    }
    base.logger.error('failover.step_failed', { runId: run.runId, step: name, error: message });
    if (after.state === 'Refused') await base.store.releaseLock(run.runId);
    return 'failed';
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * Ends the run when no step can make progress: Succeeded when every step it needs succeeded, Failed
 * when a step failed and everything that could still run has ended. Releases the failover lock.
 */
async function finishIfDone(base: Omit<StepContext, 'run'>, runId: string): Promise<FailoverRun> {
  const run = await base.store.update(runId, (r) => {
    if (r.state !== 'Running') return false;
    const names = Object.keys(STEPS) as StepName[];
    const taken = names.filter((n) => inScope(r, n));
    const failed = taken.some((n) => r.steps[n].status === 'Failed');
    // A run that has already failed does not wait for the operator to stop Kyvos for nothing.
    if (taken.some((n) => r.steps[n].status === 'Running' && !(failed && awaitsOperator(r, n)))) return false;
    for (const n of taken.filter((n) => r.steps[n].status === 'Running')) {
      r.steps[n].status = 'Skipped';
      r.steps[n].detail = { ...r.steps[n].detail, waitingFor: null, instruction: null };
    }
    const allDone = taken.every((n) => r.steps[n].status === 'Succeeded');
    if (!failed && !allDone) return false;
    const now = base.clock().toISOString();
    for (const n of names) {
      if (r.steps[n].status === 'Pending') r.steps[n].status = 'Skipped';
    }
    r.state = failed ? 'Failed' : 'Succeeded';
    r.endedAt = now;
    // Every finished run has a report, a failed one most of all; a dry run's report is its plan.
    if (!r.request.dryRun) r.report = buildReport(r, base.config) as unknown as Record<string, unknown>;
    return true;
  });
  if (run.state !== 'Running') {
    await base.store.releaseLock(runId);
    base.logger.info('failover.run_ended', {
      runId,
      state: run.state,
      dryRun: run.request.dryRun,
      errors: run.errors.slice(0, 5),
    });
  }
  return run;
}

export function secondsBetween(start: string | undefined, end: string | undefined): number | undefined {
  if (!start || !end) return undefined;
  return Math.round((new Date(end).getTime() - new Date(start).getTime()) / 100) / 10;
}
