import { randomBytes } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import type { DrConfig } from '../config/DrConfig.js';
import type { Deps } from '../deps.js';
import { FailoverInProgress, RunNotFound, RunNotRetryable } from '../errors.js';
import { describeError } from '../redact.js';
import { judgeAlertTargets } from './alertTargets.js';
import {
  type FailoverRequest,
  type FailoverRun,
  newRun,
  type RetryRequest,
  reopenForRetry,
} from './FailoverRun.js';
import { type AdvanceMessage, COPY_QUEUE, encodeMessage, FAILOVER_QUEUE } from './queues.js';
import { RunStore } from './RunStore.js';
import type { AlertNotification } from './requests.js';
import { advanceRun } from './runbook.js';
import { DEFAULT_FAILOVER_OPTIONS, type FailoverOptions } from './StepContext.js';
import { completedFailover } from './steps/preflight.js';

/** What the failover needs from the composition root. */
export interface FailoverDeps extends Deps {
  options?: Partial<FailoverOptions>;
}

/** The failover's view of the app's storage: the run store and the two work queues. */
export interface FailoverRuntime {
  deps: FailoverDeps;
  options: FailoverOptions;
  store: RunStore;
  failoverQueue: QueueClient;
  copyQueue: QueueClient;
}

export function createFailoverRuntime(deps: FailoverDeps): FailoverRuntime {
  const queues = deps.clients.queueService(deps.appStorageAccount);
  return {
    deps,
    options: createFailoverRuntime.optionsOf(deps),
    store: new RunStore(deps.clients.blobService(deps.appStorageAccount), { clock: deps.clock }),
    failoverQueue: queues.getQueueClient(FAILOVER_QUEUE),
    copyQueue: queues.getQueueClient(COPY_QUEUE),
  };
}

createFailoverRuntime.optionsOf = (deps: FailoverDeps): FailoverOptions => ({
  ...DEFAULT_FAILOVER_OPTIONS,
  ...deps.options,
});

const queuesReady = new WeakMap<QueueClient, Promise<unknown>>();

/** The two work queues of a runtime. */
export type FailoverQueues = Pick<FailoverRuntime, 'failoverQueue' | 'copyQueue'>;

/** Creates the work queues once per runtime. */
export function ensureQueues(runtime: FailoverQueues): Promise<unknown> {
  let ready = queuesReady.get(runtime.failoverQueue);
  if (!ready) {
    ready = Promise.all([runtime.failoverQueue.createIfNotExists(), runtime.copyQueue.createIfNotExists()]);
    ready.catch(() => queuesReady.delete(runtime.failoverQueue));
    queuesReady.set(runtime.failoverQueue, ready);
  }
  return ready;
}

/** Sends an "advance" message for the run, visible after `delayInSeconds`. */
export async function scheduleAdvance(
  runtime: FailoverQueues,
  runId: string,
  delayInSeconds = 0,
): Promise<void> {
  await ensureQueues(runtime);
  const message: AdvanceMessage = { kind: 'advance', runId };
  await runtime.failoverQueue.sendMessage(encodeMessage(message), {
    visibilityTimeout: Math.max(0, Math.round(delayInSeconds)),
  });
}

/**
 * A run id that sorts by time and names nothing secret: `fo-20261123T201500Z-3f9a1c` (a rehearsal's
 * starts with `rh-`).
 */
export function newRunId(now: Date, kind: 'fo' | 'rh' = 'fo'): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${kind}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Starts a failover run: takes the failover lock, records the run and queues its first advance.
 * The work continues asynchronously on the queue workers. Throws `FailoverInProgress` naming the
 * running run when another holds the lock.
 */
export async function startFailover(
  runtime: FailoverRuntime,
  request: FailoverRequest,
  runId = newRunId(runtime.deps.clock()),
): Promise<FailoverRun> {
  return (await startRun(runtime, request, runId)).run;
}

/**
 * `startFailover`, saying whether this call created the run. Idempotent for one `runId`: the lock
 * is already this id's when an earlier call took it (even if that call then failed before the run
 * record was written), and a record that exists is returned as it is (`created: false`), so a caller
 * that failed part-way may call again with the same id.
 */
async function startRun(
  runtime: FailoverRuntime,
  request: FailoverRequest,
  runId: string,
): Promise<{ run: FailoverRun; created: boolean }> {
  const { store } = runtime;
  const now = runtime.deps.clock();
  await takeLock(store, runId, now);
  const existing = await store.get(runId);
  if (existing) return { run: existing, created: false };
  const run = newRun(runId, request, now);
  if (!(await store.create(run))) return { run: (await store.get(runId)) ?? run, created: false };
  // A start that stalled past the lock's setup grace between its lock and its record may have lost
  // the lock to another start (RunStore.acquireLock). Now that its record says Running, it takes the
  // lock again; if another run holds it, this run ends before anything is queued, never beside it.
  const still = await store.acquireLock(runId, now);
  if (!still.acquired) {
    await store.update(runId, (r) => {
      r.state = 'Failed';
      r.endedAt = runtime.deps.clock().toISOString();
      for (const step of Object.values(r.steps)) step.status = 'Skipped';
      r.errors.push(
        `This run lost the failover lock to run ${still.holder} while it was being started (it stalled for longer than the lock's setup grace), so it ended before doing anything. Follow run ${still.holder}.`,
      );
      return true;
    });
    throw new FailoverInProgress(still.holder);
  }
  runtime.deps.logger.info('failover.accepted', {
    runId,
    mode: request.mode,
    dryRun: request.dryRun,
    requestedBy: request.requestedBy,
    reason: request.reason,
    alertId: request.alertId,
    strategy: request.strategy ?? 'configured',
  });
  await scheduleAdvance(runtime, runId);
  return { run, created: true };
}

/** Takes the failover lock for `runId` (see `RunStore.acquireLock`). Throws `FailoverInProgress` naming the holder. */
async function takeLock(store: RunStore, runId: string, now: Date): Promise<void> {
  const lock = await store.acquireLock(runId, now);
  if (!lock.acquired) throw new FailoverInProgress(lock.holder);
}

/**
 * Retries a run that ended Failed, once its cause is fixed: takes the failover lock again, sets
 * the failed steps (and those skipped because of them) pending, and queues an advance. What
 * succeeded is kept: partitions already copied are not copied again, a promoted server is not
 * promoted again. Two retries at once both get the reopened run. Throws `RunNotFound`,
 * `RunNotRetryable` (the run is running, succeeded or was refused) or `FailoverInProgress`.
 */
export async function retryFailover(
  runtime: FailoverRuntime,
  runId: string,
  retry: RetryRequest,
): Promise<FailoverRun> {
  const { store } = runtime;
  const current = await store.get(runId);
  if (!current) throw new RunNotFound(runId);
  if (current.state !== 'Failed') throw notRetryable(current);
  // As preflight refuses a new run: once another failover of the pair has succeeded, the DR side
  // is the primary, and this run's copy would write the old secondary over it.
  const earlier = await completedFailover(
    { config: await runtime.deps.config(), clients: runtime.deps.clients, store },
    runId,
  );
  if (earlier) {
    throw new RunNotRetryable(
      runId,
      current.state,
      `run ${earlier.runId} has since failed this DR pair over, so the DR side is the primary now and this run's copy would write the old secondary over it.`,
    );
  }
  const now = runtime.deps.clock();
  await takeLock(store, runId, now);
  let reopened = false;
  const run = await store.update(runId, (r) => {
    reopened = r.state === 'Failed';
    if (reopened) reopenForRetry(r, retry, now);
    return reopened;
  });
  if (!reopened) {
    // Another retry reopened it first: both callers follow the same run.
    if (run.state === 'Running') return run;
    throw notRetryable(run);
  }
  const previous = run.retries?.at(-1);
  runtime.deps.logger.info('failover.retried', {
    runId,
    retry: run.retries?.length,
    requestedBy: retry.requestedBy,
    reason: retry.reason,
    failedSteps: previous?.failedSteps,
  });
  await scheduleAdvance(runtime, runId);
  return run;
}

function notRetryable(run: FailoverRun): RunNotRetryable {
  const why: Record<FailoverRun['state'], string> = {
    Running: 'it is still running; follow it, or wait for it to end.',
    Succeeded: 'it succeeded; there is nothing to retry.',
    Refused:
      'it was refused before it changed anything; start a new run (a forced one, if the refusal is accepted).',
    Failed: 'it failed.',
  };
  return new RunNotRetryable(run.runId, run.state, why[run.state]);
}

export type AlertOutcome =
  | { action: 'started' | 'joined'; runId: string; reason: string }
  | { action: 'ignored'; reason: string };

/**
 * Acts on an Azure Monitor alert. A fired alert about one of the pair's resources (or one on the
 * allow-list, see `judgeAlertTargets`) starts a run in the mode the policy allows, or joins the
 * running one. A resolved alert, an alert about anything else, or the policy "off", does nothing.
 *
 * The same alert id always maps to the same run, because action groups retry webhooks: the alert
 * id is bound to a run id first, then the run is started under that id. The two are not one write,
 * so the binding may point to a run that was never created (a transient fault after binding, a
 * crash); such a binding is never answered as it is. Every delivery that finds its bound run
 * missing starts it again under the bound id, which `startRun` allows, and an error meanwhile is
 * thrown so that the action group delivers again.
 */
export async function handleAlert(runtime: FailoverRuntime, alert: AlertNotification): Promise<AlertOutcome> {
  const outcome = await decideAlert(runtime, alert);
  if (outcome.action === 'ignored') {
    runtime.deps.logger.info('failover.alert_ignored', {
      alertId: alert.alertId,
      alertRule: alert.alertRule,
      condition: alert.monitorCondition,
      alertTargetIds: alert.targetIds,
      reason: outcome.reason,
    });
  }
  return outcome;
}

async function decideAlert(runtime: FailoverRuntime, alert: AlertNotification): Promise<AlertOutcome> {
  if (alert.monitorCondition === 'Resolved') {
    return { action: 'ignored', reason: `Alert "${alert.alertRule}" is resolved; no failover is started.` };
  }
  const config = await runtime.deps.config();
  const targets = judgeAlertTargets(alert.targetIds, config);
  if (!targets.matched) return { action: 'ignored', reason: targets.reason };
  if (config.alertFailoverPolicy === 'off') {
    return {
      action: 'ignored',
      reason:
        'The alert failover policy (kyvos-dr-alert-failover-policy) is "off": alerts do not start failovers.',
    };
  }
  const { store } = runtime;
  const runId = await store.bindAlert(alert.alertId, newRunId(runtime.deps.clock()));
  const bound = await store.get(runId);
  if (bound) return { action: 'joined', runId, reason: 'This alert already started a failover run.' };

  const request: FailoverRequest = {
    mode: config.alertFailoverPolicy,
    reason: `Azure Monitor alert "${alert.alertRule}" fired${alert.severity ? ` (${alert.severity})` : ''} on ${targets.targetId}`,
    dryRun: false,
    requestedBy: `alert:${alert.alertRule}`,
    alertId: alert.alertId,
  };
  try {
    const { run, created } = await startRun(runtime, request, runId);
    if (!created) return { action: 'joined', runId, reason: 'This alert already started a failover run.' };
    return {
      action: 'started',
      runId: run.runId,
      reason: `Started a ${config.alertFailoverPolicy} failover.`,
    };
  } catch (error) {
    if (!(error instanceof FailoverInProgress)) throw error;
    return joinRunningRun(runtime, alert, runId, error);
  }
}

/**
 * Another run holds the lock: the alert joins it, but only once its record exists. A holder still
 * writing its record (or one that died doing so) is not returned; the error goes back to the action
 * group, whose next delivery finds the holder's record, or the lock free again.
 */
async function joinRunningRun(
  runtime: FailoverRuntime,
  alert: AlertNotification,
  boundRunId: string,
  inProgress: FailoverInProgress,
): Promise<AlertOutcome> {
  const holder = await runtime.store.get(inProgress.runId);
  if (!holder) {
    throw new Error(
      `Failover run ${inProgress.runId} holds the failover lock but has no run record yet; alert ${alert.alertId} is answered with an error so that the action group delivers it again.`,
      { cause: inProgress },
    );
  }
  await runtime.store.rebindAlert(alert.alertId, boundRunId, holder.runId);
  return {
    action: 'joined',
    runId: holder.runId,
    reason: 'A failover was already running; the alert joins it.',
  };
}

/**
 * Advances a run and, while its copy is in flight, schedules the next check. This is the handler of
 * the failover queue's messages.
 */
export async function advance(
  runtime: FailoverRuntime,
  runId: string,
  workerId?: string,
): Promise<FailoverRun> {
  let config: DrConfig;
  try {
    config = await runtime.deps.config();
  } catch (error) {
    // Nothing can run without the configuration, and after MAX_DEQUEUE_COUNT deliveries the message
    // goes to the poison queue: say so on the run (its store comes from app settings, not Key Vault),
    // so that its status shows why it waits and the sweeper's reason names it.
    await noteAdvanceFailure(
      runtime,
      runId,
      `the configuration could not be loaded: ${describeError(error)}`,
    );
    throw error;
  }
  const result = await advanceRun(
    {
      clients: runtime.deps.clients,
      config,
      logger: runtime.deps.logger,
      clock: runtime.deps.clock,
      store: runtime.store,
      options: runtime.options,
      appStorageAccount: runtime.deps.appStorageAccount,
      settings: runtime.deps.settings,
      ...(runtime.deps.doctorChecks ? { doctorChecks: runtime.deps.doctorChecks } : {}),
    },
    runId,
    workerId,
  );
  if (result.recheckInSeconds !== undefined) await scheduleAdvance(runtime, runId, result.recheckInSeconds);
  return result.run;
}

/**
 * Records on a Running run why its advance failed before any step could run. A note, not progress
 * (`updatedAt` stays); best effort, since the caller rethrows the failure anyway.
 */
async function noteAdvanceFailure(runtime: FailoverRuntime, runId: string, reason: string): Promise<void> {
  const { logger, clock } = runtime.deps;
  logger.error('failover.advance_failed', { runId, reason });
  try {
    await runtime.store.update(
      runId,
      (run) => {
        if (run.state !== 'Running') return false;
        run.watch = { ...run.watch, advanceFailure: { at: clock().toISOString(), reason } };
        return true;
      },
      { progress: false },
    );
  } catch (error) {
    logger.warn('failover.advance_failure_not_recorded', { runId, error: describeError(error) });
  }
}

export { COPY_QUEUE, FAILOVER_QUEUE };
