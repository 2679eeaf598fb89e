import { setMaxListeners } from 'node:events';
import { type Readiness, storageLastSyncTimeOf } from '../health/readiness.js';
import { describeError } from '../redact.js';
import { assessStorageStrategies } from '../report/storageStrategies.js';
import { runningFailover } from './failoverActivity.js';
import type { RehearsalRecord, RehearsalReport } from './Rehearsal.js';
import { scratchContainerOf } from './Rehearsal.js';
import type { RehearsalRuntime } from './RehearsalService.js';
import type { Rehearsing, RunRehearsalOptions } from './Rehearsing.js';
import { enterPhase } from './Rehearsing.js';
import { type RehearsedDataPath, rehearseDataPath } from './rehearseDataPath.js';
import { rehearsedReplica, rehearsePreflight } from './rehearsePreflight.js';
import { rehearsedRecovery } from './rehearseRecovery.js';
import { deleteSampleCheckpoints } from './sampleCopy.js';

/**
 * Runs a recorded rehearsal to its end and returns its final record. Nothing on the primary, the
 * replica, the DR container or Key Vault changes: the health checks observe (no auto-fence), the
 * doctor reads, and the only writes are to a scratch container of the DR account that exists only
 * for the copy (`withScratchContainer` deletes it whatever happens) and to the app's own storage
 * (health history, the copy engine's checkpoints of the sample, deleted after, and this record).
 *
 * Safe to call again for the same id: an ended rehearsal is returned as it is; one found Running
 * was cut off (its process ended: a queue message delivered again), so its scratch container is
 * deleted and it ends Failed, saying so.
 */
export async function runRehearsal(
  runtime: RehearsalRuntime,
  rehearsalId: string,
  options: RunRehearsalOptions = {},
): Promise<RehearsalRecord> {
  const { rehearsals, deps } = runtime;
  const current = await rehearsals.get(rehearsalId);
  if (!current) throw new Error(`No rehearsal ${rehearsalId}.`);
  if (current.state === 'Passed' || current.state === 'Failed') return current;
  if (current.state === 'Running') return endCutOff(runtime, current);
  let claimed = false;
  const started = await rehearsals.update(rehearsalId, (r) => {
    claimed = r.state === 'Queued';
    if (!claimed) return false;
    r.state = 'Running';
    r.startedAt = deps.clock().toISOString();
    return true;
  });
  if (!claimed) return started;
  let outcome: { report: RehearsalReport } | { error: string };
  const signal = listenedWidely(options.abortSignal);
  try {
    outcome = {
      report: await rehearse(runtime, started, { ...options, ...(signal ? { abortSignal: signal } : {}) }),
    };
  } catch (error) {
    if (options.abortSignal?.aborted) {
      // Interrupted (Ctrl-C): the scratch container is already gone; the record says so, then the caller hears it.
      await endInterrupted(runtime, rehearsalId, options.abortSignal.reason);
      throw options.abortSignal.reason;
    }
    outcome = { error: describeError(error) };
  }
  const ended = await rehearsals.update(rehearsalId, (r) => {
    r.endedAt = deps.clock().toISOString();
    delete r.phase;
    if ('error' in outcome) {
      r.state = 'Failed';
      r.error = outcome.error;
      r.problems = [outcome.error];
    } else {
      r.report = outcome.report;
      r.problems = outcome.report.checks
        .filter((c) => c.outcome === 'fail')
        .map((c) => `${c.id}: ${c.detail}`);
      r.state = r.problems.length > 0 ? 'Failed' : 'Passed';
    }
    return true;
  });
  deps.logger.info('rehearsal.ended', {
    rehearsalId,
    state: ended.state,
    problems: ended.problems.length,
    rpoSeconds: ended.report?.recovery.rpoSeconds ?? null,
    rtoSeconds: ended.report?.recovery.rtoSeconds ?? null,
  });
  return ended;
}

/**
 * The caller's abort signal, followed by one that many requests at once may listen to: the checks,
 * the listing and the copy all take it, far more than Node's default of 10 listeners.
 */
function listenedWidely(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}

/** An interrupted rehearsal ends Failed, saying so; its scratch container was deleted on the way out. */
async function endInterrupted(
  runtime: RehearsalRuntime,
  rehearsalId: string,
  reason: unknown,
): Promise<void> {
  const why = `The rehearsal was interrupted (${describeError(reason)}); its scratch container was deleted. Start a new rehearsal.`;
  await runtime.rehearsals.update(rehearsalId, (r) => {
    r.state = 'Failed';
    r.endedAt = runtime.deps.clock().toISOString();
    r.error = why;
    r.problems = [why];
    return true;
  });
}

/** A rehearsal found Running when its work was handed out again: its process ended mid-way. */
async function endCutOff(runtime: RehearsalRuntime, record: RehearsalRecord): Promise<RehearsalRecord> {
  const { deps } = runtime;
  const config = await deps.config();
  const container = scratchContainerOf(record.rehearsalId);
  let cleanup = `its scratch container "${container}" was deleted`;
  try {
    await deps.clients.blobService(config.dr.storageAccount).getContainerClient(container).deleteIfExists();
    await deleteSampleCheckpoints(runtime.runs.documents, record.rehearsalId);
  } catch (error) {
    cleanup = `its scratch container "${container}" could not be deleted (${describeError(error)}): delete it by hand`;
  }
  const reason = `The rehearsal was cut off during ${record.phase ?? 'its start'} (the process running it ended) and was not resumed; ${cleanup}. Start a new rehearsal.`;
  return runtime.rehearsals.update(record.rehearsalId, (r) => {
    if (r.state !== 'Running') return false;
    r.state = 'Failed';
    r.endedAt = deps.clock().toISOString();
    r.error = reason;
    r.problems = [reason];
    return true;
  });
}

async function rehearse(
  runtime: RehearsalRuntime,
  record: RehearsalRecord,
  options: RunRehearsalOptions,
): Promise<RehearsalReport> {
  const config = await runtime.deps.config();
  const ctx: Rehearsing = {
    runtime,
    record,
    config,
    options,
    now: options.now ?? (() => performance.now()),
    abort: options.abortSignal ? { abortSignal: options.abortSignal } : {},
    checks: [],
  };
  const running = await runningFailover(runtime.runs, runtime.deps.clock());
  if (running) throw new Error(`A failover is running (run ${running}): a rehearsal does not run beside it.`);
  await enterPhase(ctx, 'preflight');
  const preflight = await rehearsePreflight(ctx);
  await enterPhase(ctx, 'listing');
  const data = await rehearseDataPath(ctx);
  await enterPhase(ctx, 'report');
  const replica = rehearsedReplica(preflight.readiness, config.dr.replicaServer);
  ctx.checks.push(replica.check);
  return {
    checks: ctx.checks,
    preflight: {
      readiness: preflight.readiness.status,
      decisions: preflight.decisions,
      warnings: preflight.warnings,
      seconds: preflight.seconds,
    },
    doctor: preflight.doctor,
    ...data.report,
    replica: replica.figures,
    recovery: await rehearsedRecovery(ctx, preflight.readiness, preflight.seconds, data),
    storageStrategies: await rehearsedStorageStrategies(ctx, preflight.readiness, data),
  };
}

/** The strategies compared with this rehearsal's copy estimate, or the latest rehearsal's one. */
async function rehearsedStorageStrategies(ctx: Rehearsing, readiness: Readiness, data: RehearsedDataPath) {
  const { estimate } = data.report;
  return assessStorageStrategies({
    config: ctx.config,
    storageRpoSeconds: readiness.storageRpoSeconds,
    storageLastSyncTime: storageLastSyncTimeOf(readiness),
    copy: estimate
      ? { estimate, measuredBy: `this rehearsal (${ctx.record.rehearsalId})` }
      : await ctx.runtime.rehearsals.latestCopyEstimate(ctx.abort),
  });
}
