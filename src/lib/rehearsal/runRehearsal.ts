import { setMaxListeners } from 'node:events';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import type { CopyDeps } from '../copy/types.js';
import { PARTITIONS_PER_INSTANCE } from '../copy/types.js';
import { verifyCopy } from '../copy/verifyCopy.js';
import { type DoctorReport, runDoctor } from '../doctor/runDoctor.js';
import { statusOf } from '../errors.js';
import { copyDepsFor } from '../failover/copyContext.js';
import { proveRunCanFinish, type RunCanFinish, refusalOf } from '../failover/runCanFinish.js';
import { completedFailover } from '../failover/steps/preflight.js';
import type { Readiness } from '../health/readiness.js';
import { checkReadinessNow } from '../health/readinessNow.js';
import { describeError } from '../redact.js';
import { estimateCopy } from './copyEstimate.js';
import { latestFailoverTimings, runningFailover } from './failoverActivity.js';
import type {
  RehearsalCheck,
  RehearsalPhase,
  RehearsalRecord,
  RehearsalReport,
  RehearsedDecision,
} from './Rehearsal.js';
import { scratchContainerOf } from './Rehearsal.js';
import type { RehearsalRuntime } from './RehearsalService.js';
import { estimateRecovery, type RecoveryPart } from './recoveryEstimate.js';
import { copySample, deleteSampleCheckpoints } from './sampleCopy.js';
import { selectSample } from './sampleSelection.js';
import { withScratchContainer } from './scratchContainer.js';
import { inventorySource } from './sourceInventory.js';

export interface RunRehearsalOptions {
  /** Told when each phase starts (the CLI's progress on stderr). */
  onPhase?: (phase: RehearsalPhase, record: RehearsalRecord) => void;
  /** For the sample's random spread; tests pass a seeded one. */
  random?: () => number;
  /** Milliseconds, for measured durations. Default `performance.now`. */
  now?: () => number;
  abortSignal?: AbortSignal;
}

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
    options.abortSignal?.throwIfAborted();
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

/** What the phases of one rehearsal share. */
interface Rehearsing {
  runtime: RehearsalRuntime;
  record: RehearsalRecord;
  config: DrConfig;
  options: RunRehearsalOptions;
  now: () => number;
  abort: { abortSignal?: AbortSignal };
  checks: RehearsalCheck[];
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
  const readiness = preflight.readiness;
  const replicaReport = readiness.replica?.report;
  const lagBytes = replicaReport?.facts.lagBytes;
  ctx.checks.push(
    readiness.forcedPromoteBlockers.length > 0
      ? {
          id: 'replica.promotePrerequisites',
          outcome: 'fail',
          detail: `Azure would refuse the promote: ${readiness.forcedPromoteBlockers.join('; ')}`,
        }
      : {
          id: 'replica.promotePrerequisites',
          outcome: 'pass',
          detail: `the promote's prerequisites hold; replica lag ${readiness.databaseRpoSeconds ?? 'unknown'} s`,
        },
  );
  return {
    checks: ctx.checks,
    preflight: {
      readiness: readiness.status,
      decisions: preflight.decisions,
      warnings: preflight.warnings,
      seconds: preflight.seconds,
    },
    doctor: preflight.doctor,
    ...data.report,
    replica: {
      server: config.dr.replicaServer,
      lagSeconds: readiness.databaseRpoSeconds,
      lagBytes: typeof lagBytes === 'number' ? lagBytes : null,
      eligibleForPlannedPromote: readiness.eligibleForPlannedPromote,
      promoteConditions: Array.isArray(replicaReport?.promoteConditions)
        ? replicaReport.promoteConditions
        : [],
      forcedPromoteBlockers: readiness.forcedPromoteBlockers,
    },
    recovery: await recoveryOf(ctx, readiness, preflight.seconds, data),
  };
}

async function enterPhase(ctx: Rehearsing, phase: RehearsalPhase): Promise<void> {
  ctx.options.abortSignal?.throwIfAborted();
  ctx.record = await ctx.runtime.rehearsals.update(ctx.record.rehearsalId, (r) => {
    r.phase = phase;
    return true;
  });
  ctx.runtime.deps.logger.info('rehearsal.phase', { rehearsalId: ctx.record.rehearsalId, phase });
  ctx.options.onPhase?.(phase, ctx.record);
}

/** The dependencies of preflight's checks, as a failover step has them. */
function stepDeps(ctx: Rehearsing) {
  const { deps } = ctx.runtime;
  return {
    clients: deps.clients,
    config: ctx.config,
    logger: deps.logger,
    clock: deps.clock,
    appStorageAccount: deps.appStorageAccount,
    settings: deps.settings,
    ...ctx.abort,
  };
}

/**
 * Preflight without a run: the health checks and the go/no-go decision of each mode, the record of
 * an earlier failover, and the doctor.
 */
async function rehearsePreflight(ctx: Rehearsing) {
  const { runtime, config } = ctx;
  const started = ctx.now();
  const [earlier, readiness, runCanFinish, doctor] = await Promise.all([
    completedFailover(
      { config, clients: runtime.deps.clients, store: runtime.runs },
      ctx.record.rehearsalId,
    ).then(
      (found) => ({ found }),
      (error: unknown) => ({ error: describeError(error) }),
    ),
    checkReadinessNow(runtime.deps, config, ctx.abort),
    proveRunCanFinish(stepDeps(ctx)),
    runDoctor({
      config,
      clients: runtime.deps.clients,
      settings: runtime.deps.settings,
      clock: runtime.deps.clock,
      logger: runtime.deps.logger,
      ...ctx.abort,
    }),
  ]);
  const decisions = (['planned', 'forced'] as const).map((mode) => decisionOf(mode, readiness, runCanFinish));
  ctx.checks.push(...decisionChecks(decisions, runCanFinish));
  if ('error' in earlier) {
    ctx.checks.push({
      id: 'preflight.earlierFailover',
      outcome: 'warn',
      detail: `Key Vault's record of an earlier failover could not be read: ${earlier.error}`,
    });
  } else {
    ctx.checks.push(
      earlier.found
        ? {
            id: 'preflight.earlierFailover',
            outcome: 'fail',
            detail: `this DR pair already failed over (run ${earlier.found.runId}): a failover would be refused`,
          }
        : {
            id: 'preflight.earlierFailover',
            outcome: 'pass',
            detail: 'no earlier failover of this pair is recorded',
          },
    );
  }
  ctx.checks.push(doctorCheck(doctor));
  return {
    readiness,
    decisions,
    doctor,
    warnings: runCanFinish.warnings ?? [],
    seconds: (ctx.now() - started) / 1000,
  };
}

function decisionOf(
  mode: 'planned' | 'forced',
  readiness: Readiness,
  runCanFinish: RunCanFinish,
): RehearsedDecision {
  const refusal = refusalOf({ mode }, readiness, runCanFinish);
  return refusal
    ? { mode, verdict: 'refuse', reasons: refusal.reasons }
    : { mode, verdict: 'proceed', reasons: [] };
}

/**
 * A forced failover that would be refused is a problem; a planned one refused while a forced one
 * would proceed is a warning (the replica or the storage secondary is behind now, which may pass).
 */
export function decisionChecks(decisions: RehearsedDecision[], runCanFinish: RunCanFinish): RehearsalCheck[] {
  const forced = decisions.find((d) => d.mode === 'forced');
  return decisions.map((d): RehearsalCheck => {
    const id = `preflight.${d.mode}`;
    if (d.verdict === 'proceed') return { id, outcome: 'pass', detail: `a ${d.mode} failover would proceed` };
    const soft = d.mode === 'planned' && forced?.verdict === 'proceed' && runCanFinish.canFinish;
    return {
      id,
      outcome: soft ? 'warn' : 'fail',
      detail: `a ${d.mode} failover would be refused: ${d.reasons.join('; ')}`,
    };
  });
}

/** The doctor's worst outcome as one check: `fail` fails the rehearsal, `warn` and `unknown` warn. */
export function doctorCheck(doctor: DoctorReport): RehearsalCheck {
  const counts = `${doctor.counts.pass} pass, ${doctor.counts.warn} warn, ${doctor.counts.unknown} unknown, ${doctor.counts.fail} fail`;
  if (doctor.findings.length === 0)
    return { id: 'doctor', outcome: 'pass', detail: 'no doctor check found anything to report' };
  const outcome = doctor.outcome === 'pass' ? 'pass' : doctor.outcome === 'fail' ? 'fail' : 'warn';
  const named = doctor.findings
    .filter((f) => f.outcome !== 'pass')
    .map((f) => `${f.id} (${f.outcome}): ${f.fix ?? f.detail}`);
  return { id: 'doctor', outcome, detail: named.length > 0 ? `${counts}: ${named.join('; ')}` : counts };
}

/** The data path: the whole source listed, a sample copied to a scratch container and verified. */
async function rehearseDataPath(ctx: Rehearsing): Promise<{
  report: Pick<RehearsalReport, 'source' | 'sample' | 'copy' | 'verification' | 'estimate' | 'cleanup'>;
  drAccountExists: boolean;
}> {
  const { runtime, config } = ctx;
  const { options: failover } = runtime;
  let copyDeps: CopyDeps;
  try {
    copyDeps = await copyDepsFor(stepDeps(ctx));
  } catch (error) {
    ctx.checks.push({ id: 'source.access', outcome: 'fail', detail: describeError(error) });
    return { report: {}, drAccountExists: true };
  }
  let listed: Awaited<ReturnType<typeof inventorySource>>;
  try {
    listed = await inventorySource(copyDeps, {
      partitionSize: failover.partitionSize,
      largeBlobThresholdInBytes: failover.largeBlobThresholdInBytes,
      candidates: ctx.record.request.sample.maxBlobs,
      ...(ctx.options.random ? { random: ctx.options.random } : {}),
      now: ctx.now,
      ...ctx.abort,
    });
  } catch (error) {
    ctx.options.abortSignal?.throwIfAborted();
    ctx.checks.push({ id: 'source.listing', outcome: 'fail', detail: describeError(error) });
    return { report: {}, drAccountExists: true };
  }
  const { inventory: source, candidates } = listed;
  ctx.checks.push({
    id: 'source.listing',
    outcome: 'pass',
    detail: `${source.blobs} blobs, ${source.bytes} bytes listed through ${source.endpoint} in ${source.listingSeconds.toFixed(1)} s`,
  });
  await enterPhase(ctx, 'copy');
  const drAccount = await drAccountState(runtime.deps.clients, config, ctx.abort);
  if (drAccount !== 'exists') {
    ctx.checks.push({
      id: 'copy.sample',
      outcome: drAccount === 'missing' ? 'warn' : 'fail',
      detail:
        drAccount === 'missing'
          ? `the DR storage account "${config.dr.storageAccount}" does not exist yet (the failover's storage.ensureAccount step creates it), and a rehearsal changes nothing on the DR side, so the copy was not rehearsed; pre-provision it (infra/dr-storage-account.json) to rehearse the copy and measure its throughput`
          : `the DR storage account "${config.dr.storageAccount}" cannot be read: ${drAccount.error}`,
    });
    return { report: { source }, drAccountExists: drAccount !== 'missing' };
  }
  const sample = selectSample(candidates, ctx.record.request.sample);
  const { blobs: _sampled, ...sampleFigures } = sample;
  if (sample.blobs.length === 0) {
    ctx.checks.push({ id: 'copy.sample', outcome: 'skipped', detail: 'the source holds no blob to copy' });
    return { report: { source, sample: sampleFigures }, drAccountExists: true };
  }
  const running = await runningFailover(runtime.runs, runtime.deps.clock());
  if (running) {
    ctx.checks.push({
      id: 'copy.sample',
      outcome: 'fail',
      detail: `a failover started during the rehearsal (run ${running}); the sample was not copied`,
    });
    return { report: { source, sample: sampleFigures }, drAccountExists: true };
  }
  const container = scratchContainerOf(ctx.record.rehearsalId);
  const scratch: CopyDeps = { ...copyDeps, destination: { account: config.dr.storageAccount, container } };
  const { result, cleanup } = await withScratchContainer(
    runtime.deps.clients.blobService(config.dr.storageAccount).getContainerClient(container),
    async () => {
      const copy = await copySample(scratch, sample.blobs, {
        rehearsalId: ctx.record.rehearsalId,
        partitions: PARTITIONS_PER_INSTANCE,
        copyConcurrency: failover.copyConcurrency,
        largeBlobThresholdInBytes: failover.largeBlobThresholdInBytes,
        now: ctx.now,
        ...ctx.abort,
      });
      await enterPhase(ctx, 'verify');
      const verification = await verifyCopy(
        {
          clients: scratch.clients,
          source: scratch.source,
          destination: scratch.destination,
          logger: runtime.deps.logger,
          ...(scratch.accessControl ? { accessControl: true } : {}),
        },
        { sourceBlobs: sample.blobs, ...ctx.abort },
      );
      return { copy, verification };
    },
    ctx.abort,
  );
  await deleteSampleCheckpoints(runtime.runs.documents, ctx.record.rehearsalId).catch((error: unknown) =>
    runtime.deps.logger.warn('rehearsal.checkpoints_not_deleted', {
      rehearsalId: ctx.record.rehearsalId,
      reason: describeError(error),
    }),
  );
  ctx.options.abortSignal?.throwIfAborted();
  ctx.checks.push(
    cleanup.deleted
      ? {
          id: 'cleanup.scratchContainer',
          outcome: 'pass',
          detail: `the scratch container "${container}" was deleted`,
        }
      : {
          id: 'cleanup.scratchContainer',
          outcome: 'fail',
          detail: `the scratch container "${container}" of ${config.dr.storageAccount} could not be deleted (${cleanup.error}): delete it by hand (az storage container delete --account-name ${config.dr.storageAccount} --name ${container} --auth-mode login)`,
        },
  );
  if (!result.ok) {
    ctx.checks.push({ id: 'copy.sample', outcome: 'fail', detail: describeError(result.error) });
    return { report: { source, sample: sampleFigures, cleanup }, drAccountExists: true };
  }
  const { copy, verification } = result.value;
  ctx.checks.push(
    copy.blobsFailed > 0
      ? {
          id: 'copy.sample',
          outcome: 'fail',
          detail: `${copy.blobsFailed} of ${sample.blobs.length} sampled blobs could not be copied: ${copy.failures
            .slice(0, 5)
            .map((f) => `${f.name}: ${f.reason}`)
            .join('; ')}`,
        }
      : {
          id: 'copy.sample',
          outcome: 'pass',
          detail: `${copy.blobsCopied} blobs, ${copy.bytesCopied} bytes copied server-side in ${copy.seconds.toFixed(1)} s`,
        },
    verification.ok
      ? {
          id: 'copy.verify',
          outcome: 'pass',
          detail: `${verification.matched} sampled blobs match their source`,
        }
      : {
          id: 'copy.verify',
          outcome: 'fail',
          detail: `${verification.missingCount} missing, ${verification.mismatchedCount} mismatched: ${verification.mismatched
            .slice(0, 5)
            .map((m) => `${m.name}: ${m.reason}`)
            .join('; ')}`,
        },
  );
  const estimate = estimateCopy(
    source,
    { blobs: copy.blobsCopied, bytes: copy.bytesCopied, seconds: copy.seconds },
    {
      copyConcurrency: failover.copyConcurrency,
      partitionsPerInstance: PARTITIONS_PER_INSTANCE,
      instances: ctx.record.request.instances,
    },
  );
  return {
    report: { source, sample: sampleFigures, copy, verification, ...(estimate ? { estimate } : {}), cleanup },
    drAccountExists: true,
  };
}

/** Whether the DR storage account exists (ARM), without creating it. */
async function drAccountState(
  clients: ClientFactory,
  config: DrConfig,
  abort: { abortSignal?: AbortSignal },
): Promise<'exists' | 'missing' | { error: string }> {
  try {
    await clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.getProperties(config.dr.resourceGroup, config.dr.storageAccount, abort);
    return 'exists';
  } catch (error) {
    return statusOf(error) === 404 ? 'missing' : { error: describeError(error) };
  }
}

/** RPO and RTO now: measured parts, the extrapolated copy, and the latest failover's promote and record. */
async function recoveryOf(
  ctx: Rehearsing,
  readiness: Readiness,
  preflightSeconds: number,
  data: Awaited<ReturnType<typeof rehearseDataPath>>,
) {
  const timings = await latestFailoverTimings(ctx.runtime.runs, ['database.promote', 'record'], ctx.abort);
  const fromHistory = (step: 'database.promote' | 'record', what: string): RecoveryPart => {
    const seconds = timings?.seconds[step];
    return seconds !== undefined && timings
      ? {
          name: step,
          seconds,
          source: 'earlier failover',
          detail: `${what}, as long as in failover run ${timings.runId}`,
        }
      : {
          name: step,
          seconds: null,
          source: 'unknown',
          detail: `${what}: cannot be rehearsed without promoting, and no failover of this app has succeeded yet`,
        };
  };
  const { source, estimate } = data.report;
  const parts: RecoveryPart[] = [
    {
      name: 'preflight',
      seconds: preflightSeconds,
      source: 'measured',
      detail: 'the health checks and the go/no-go, as just run',
    },
    ...(data.drAccountExists
      ? []
      : [
          {
            name: 'storage.ensureAccount',
            seconds: null,
            source: 'unknown' as const,
            detail: 'the DR storage account is created by the failover; not rehearsed',
          },
        ]),
    estimate
      ? {
          name: 'storage.copy',
          seconds: estimate.copySeconds,
          source: 'extrapolated',
          detail: estimate.model,
        }
      : {
          name: 'storage.copy',
          seconds: null,
          source: 'unknown',
          detail: 'the sample was not copied, so the copy was not measured',
        },
    fromHistory('database.promote', 'the promote of the replica'),
    fromHistory('record', 'the Key Vault writes of the new names'),
    source
      ? {
          name: 'verify',
          seconds: source.listingSeconds,
          source: 'measured',
          detail:
            'the verification lists the source and the DR container side by side: one listing of the source, as just measured',
        }
      : { name: 'verify', seconds: null, source: 'unknown', detail: 'the source could not be listed' },
  ];
  return estimateRecovery({
    rpoSeconds: readiness.rpoSeconds,
    rpoDetail: readiness.rpoExplanation.join('; '),
    parts,
  });
}
