/**
 * The failover sweeper: no run stays Running where nobody sees it.
 *
 * A run advances only when an advance message is processed. Should every delivery of that message
 * fail (the configuration cannot be loaded from Key Vault, say), the host moves it to the poison
 * queue after `MAX_DEQUEUE_COUNT` deliveries (learn.microsoft.com/azure/azure-functions/
 * functions-bindings-storage-queue-trigger#poison-messages) and nothing sends another: the run would stay Running,
 * holding the failover lock, for good. The sweeper, on a timer, looks at the run that holds the lock
 * (the only run that can be Running: a start or a retry takes the lock before its run is Running)
 * and, when it has made no progress for a while and no worker holds one of its steps, sends it an
 * advance message again; when it has made none for much longer, it ends it Failed with the reason,
 * and releases the lock, so that a new start or a retry can go ahead.
 */
import type { AppSettings } from '../config/ConfigSource.js';
import type { DrConfig } from '../config/DrConfig.js';
import { APP_SETTINGS } from '../config/secretNames.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { buildReport } from '../report/failoverReport.js';
import { type FailoverRun, STEP_NAMES } from './FailoverRun.js';
import { type FailoverQueues, scheduleAdvance } from './FailoverService.js';
import { LOCK_SETUP_GRACE_IN_MS, type RunStore } from './RunStore.js';
import { secondsBetween } from './runbook.js';
import { lastProgressAt, liveClaims, waitingFor } from './waitingFor.js';

/** The sweeper's bounds. Durations carry their unit. */
export interface SweeperOptions {
  /**
   * A Running run that has made no progress for this long, with no step held by a worker, is sent an
   * advance message again (and again each time this much passes with no progress).
   */
  readvanceAfterInMs: number;
  /** A Running run that has made no progress for this long, with no step held by a worker, is ended Failed. */
  failAfterInMs: number;
  /** A lock whose holder has had no run record for this long since it took the lock is released. */
  lockGraceInMs: number;
}

export const DEFAULT_SWEEPER_OPTIONS: SweeperOptions = {
  readvanceAfterInMs: 5 * 60_000,
  failAfterInMs: 60 * 60_000,
  lockGraceInMs: LOCK_SETUP_GRACE_IN_MS,
};

/** What the sweeper needs: the run store, the failover queue, a clock, a logger and (for a report) the configuration. */
export interface SweeperRuntime extends FailoverQueues {
  store: RunStore;
  deps: { clock: () => Date; logger: Logger; config: () => Promise<DrConfig> };
}

/** What the sweeper decided about one run. */
type SweepDecision =
  | { action: 'leave'; why: string }
  | { action: 'readvance'; why: string }
  | { action: 'fail'; reason: string };

/** What one sweep did. */
export type SweepOutcome =
  | { action: 'idle' }
  | { action: 'left' | 'readvanced'; runId: string; why: string }
  | { action: 'failed'; runId: string; reason: string }
  | { action: 'lock-released'; runId: string; reason: string };

/**
 * Judges one run. Progress is any change its own work writes (`lastProgressAt`); a step whose
 * worker holds an unexpired claim (it heartbeats while it works: a promote, a listing) is work in
 * hand, never stuck. A copy whose partitions keep completing writes its figures to the run, so it
 * keeps progressing and is never ended here; the copy step has its own time limit.
 */
function judgeRun(run: FailoverRun, now: Date, options: SweeperOptions): SweepDecision {
  if (run.state !== 'Running') return { action: 'leave', why: `it has ended ${run.state}` };
  const claims = liveClaims(run, now);
  if (claims.length > 0) {
    return {
      action: 'leave',
      why: claims.map((c) => `a worker holds step ${c.step} until ${c.until}`).join('; '),
    };
  }
  const quietSince = lastProgressAt(run);
  const quietFor = now.getTime() - quietSince.getTime();
  if (quietFor >= options.failAfterInMs) {
    const readvances = run.watch?.readvances ?? 0;
    return {
      action: 'fail',
      reason:
        `The run made no progress for ${minutes(quietFor)} (since ${quietSince.toISOString()}), so the sweeper ended it` +
        `${readvances > 0 ? ` after re-advancing it ${readvances} time(s)` : ''}. It was waiting for: ${waitingFor(run, now)}. ` +
        `Fix the cause, then retry the run (POST /api/failover/${run.runId}/retry, or kyvos-dr retry ${run.runId}) or start a new one.`,
    };
  }
  if (quietFor < options.readvanceAfterInMs) {
    return { action: 'leave', why: `it progressed at ${quietSince.toISOString()}` };
  }
  const last = Date.parse(run.watch?.lastReadvancedAt ?? '');
  if (
    Number.isFinite(last) &&
    last >= quietSince.getTime() &&
    now.getTime() - last < options.readvanceAfterInMs
  ) {
    return {
      action: 'leave',
      why: `the sweeper re-advanced it at ${new Date(last).toISOString()}; that message is still due`,
    };
  }
  return {
    action: 'readvance',
    why: `no progress since ${quietSince.toISOString()}; waiting for: ${waitingFor(run, now)}`,
  };
}

/**
 * One sweep: looks at the failover lock and its holder, and re-advances, ends or leaves the run as
 * `judgeRun` decides. A lock whose holder has no run record after the setup grace (a start that died
 * between the lock and its record, see `RunStore.acquireLock`) is released. Every write is
 * ETag-guarded and re-judged on the latest record, so a worker that advances the run meanwhile wins.
 */
export async function sweepFailoverRuns(
  runtime: SweeperRuntime,
  options: SweeperOptions = DEFAULT_SWEEPER_OPTIONS,
): Promise<SweepOutcome> {
  const { store, deps } = runtime;
  const now = deps.clock();
  const lock = await store.lock();
  if (!lock) return { action: 'idle' };
  const run = await store.get(lock.runId);
  if (!run) return releaseOrphanLock(runtime, lock.runId, lock.acquiredAt, now, options);

  const decision = judgeRun(run, now, options);
  if (decision.action === 'readvance') {
    await readvance(runtime, run.runId, now);
    deps.logger.warn('failover.sweeper.readvanced', { runId: run.runId, why: decision.why });
    return { action: 'readvanced', runId: run.runId, why: decision.why };
  }
  if (decision.action === 'fail') {
    const ended = await endStalled(runtime, run.runId, now, options);
    if (ended) return { action: 'failed', runId: run.runId, reason: ended };
    return { action: 'left', runId: run.runId, why: 'it progressed while the sweeper looked' };
  }
  return { action: 'left', runId: run.runId, why: decision.why };
}

async function releaseOrphanLock(
  runtime: SweeperRuntime,
  runId: string,
  acquiredAt: string,
  now: Date,
  options: SweeperOptions,
): Promise<SweepOutcome> {
  const heldFor = now.getTime() - Date.parse(acquiredAt);
  if (Number.isFinite(heldFor) && heldFor <= options.lockGraceInMs) {
    return { action: 'left', runId, why: `its run record is being written (lock taken at ${acquiredAt})` };
  }
  await runtime.store.releaseLock(runId);
  const reason = `The failover lock was held by ${runId} since ${acquiredAt}, which has no run record: its start died before writing it. The lock is released.`;
  runtime.deps.logger.warn('failover.sweeper.lock_released', { runId, acquiredAt, reason });
  return { action: 'lock-released', runId, reason };
}

/** Sends an advance message and notes it on the run (a note: it is not progress). */
async function readvance(runtime: SweeperRuntime, runId: string, now: Date): Promise<void> {
  await scheduleAdvance(runtime, runId);
  await runtime.store.update(
    runId,
    (r) => {
      if (r.state !== 'Running') return false;
      r.watch = {
        ...r.watch,
        readvances: (r.watch?.readvances ?? 0) + 1,
        lastReadvancedAt: now.toISOString(),
      };
      return true;
    },
    { progress: false },
  );
}

/**
 * Ends a stalled run Failed, if it is still stalled on its latest record: the reason goes into its
 * errors, a step left Running into that step's error, pending steps are Skipped (a retry sets them
 * pending again), and the lock is released. The report is built when the configuration loads.
 * Returns the reason, or undefined when the run progressed meanwhile.
 */
async function endStalled(
  runtime: SweeperRuntime,
  runId: string,
  now: Date,
  options: SweeperOptions,
): Promise<string | undefined> {
  const { store, deps } = runtime;
  const config = await deps.config().catch(() => undefined);
  let reason: string | undefined;
  await store.update(runId, (r) => {
    const decision = judgeRun(r, now, options);
    if (decision.action !== 'fail') {
      reason = undefined;
      return false;
    }
    reason = decision.reason;
    endFailed(r, decision.reason, now);
    if (config && !r.request.dryRun) r.report = buildReport(r, config) as unknown as Record<string, unknown>;
    return true;
  });
  if (!reason) return undefined;
  await store.releaseLock(runId);
  deps.logger.error('failover.sweeper.ended', { runId, state: 'Failed', reason });
  return reason;
}

/** The run, ended Failed by the sweeper, in place. */
function endFailed(run: FailoverRun, reason: string, now: Date): void {
  const endedAt = now.toISOString();
  const since = lastProgressAt(run).toISOString();
  for (const name of STEP_NAMES) {
    const step = run.steps[name];
    if (step.status === 'Pending') step.status = 'Skipped';
    if (step.status !== 'Running') continue;
    step.status = 'Failed';
    step.error = `Ended by the sweeper: the run made no progress since ${since}.`;
    step.endedAt = endedAt;
    step.durationSeconds = secondsBetween(step.startedAt, endedAt);
    step.owner = undefined;
    step.claimedUntil = undefined;
  }
  run.state = 'Failed';
  run.endedAt = endedAt;
  run.errors.push(reason);
}

/**
 * The sweeper's bounds from app settings: `KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES` (default 5) and
 * `KYVOS_DR_SWEEPER_FAIL_AFTER_MINUTES` (default 60), whole minutes, the second larger than the first.
 */
export function sweeperOptionsFromSettings(settings: AppSettings): SweeperOptions {
  const readvance = wholeMinutes(settings, APP_SETTINGS.sweeperReadvanceAfterMinutes);
  const fail = wholeMinutes(settings, APP_SETTINGS.sweeperFailAfterMinutes);
  const options: SweeperOptions = {
    ...DEFAULT_SWEEPER_OPTIONS,
    ...(readvance !== undefined ? { readvanceAfterInMs: readvance * 60_000 } : {}),
    ...(fail !== undefined ? { failAfterInMs: fail * 60_000 } : {}),
  };
  if (options.failAfterInMs <= options.readvanceAfterInMs) {
    throw new ConfigError(
      `App setting ${APP_SETTINGS.sweeperFailAfterMinutes} (${minutes(options.failAfterInMs)}) must be larger than ${APP_SETTINGS.sweeperReadvanceAfterMinutes} (${minutes(options.readvanceAfterInMs)}): a stalled run is re-advanced before it is ended.`,
      APP_SETTINGS.sweeperFailAfterMinutes,
    );
  }
  return options;
}

function wholeMinutes(settings: AppSettings, name: string): number | undefined {
  const value = settings[name]?.trim();
  if (!value) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new ConfigError(
      `App setting ${name} must be a whole number of minutes, at least 1; it is "${value}".`,
      name,
    );
  }
  return Number(value);
}

function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const m = ms / 60_000;
  return `${Number.isInteger(m) ? m : m.toFixed(1)} min`;
}
