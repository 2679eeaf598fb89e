/**
 * The DR drill: a whole failover on the local stack, as an operator would run it on the day, with the
 * figures measured on the way. It starts the stack, seeds a Kyvos-like engine work directory and
 * metadata repository, keeps writing to the primary database, runs the health checks, starts the
 * failover through the Function app's HTTP handler, works it with the Function app's queue handlers in
 * this process (`followRun`, the CLI's break-glass path, on `runQueueHost`), checks the result against
 * what was seeded, and writes the report. `kyvos-dr drill` loads it from a development checkout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { delay } from '@azure/core-util';
import { cliLog } from '../../src/cli/cliDeps.js';
import type { DrillOptions, DrillScenario } from '../../src/cli/commands/drill.js';
import { EXIT, type ExitCode } from '../../src/cli/exitCodes.js';
import { followRun } from '../../src/cli/followRun.js';
import {
  type CopyThroughput,
  copyThroughputOf,
  field,
  formatBytes,
  formatChecklist,
  formatCount,
  formatDeploymentParameters,
  formatHealthReport,
  formatReadiness,
  formatRunSummary,
  formatSeconds,
} from '../../src/cli/format.js';
import { formatRehearsal } from '../../src/cli/formatRehearsal.js';
import type { CliIo, OutputStream } from '../../src/cli/io.js';
import type { StorageStrategy } from '../../src/lib/config/DrConfig.js';
import { createDeps } from '../../src/lib/deps.js';
import type { FailoverRun } from '../../src/lib/failover/FailoverRun.js';
import type { FailoverDeps } from '../../src/lib/failover/FailoverService.js';
import { awaitsOperator } from '../../src/lib/failover/runbook.js';
import { failoverRuntime } from '../../src/lib/failover/runtime.js';
import { combineReadiness, type Readiness } from '../../src/lib/health/readiness.js';
import { runHealthCheck } from '../../src/lib/health/runHealthCheck.js';
import { describeError } from '../../src/lib/redact.js';
import { rehearsalRuntime, startRehearsal } from '../../src/lib/rehearsal/RehearsalService.js';
import { type RehearsalSummary, rehearsalSummary } from '../../src/lib/rehearsal/rehearsalSummary.js';
import { parseRehearsalRequest } from '../../src/lib/rehearsal/requests.js';
import { runRehearsal } from '../../src/lib/rehearsal/runRehearsal.js';
import { buildReport, type FailoverReport } from '../../src/lib/report/failoverReport.js';
import { preProvisionDrStorageAccount } from '../drStorageAccount.js';
import { seedKyvosDataset, seedMetadataRepository, startMetadataWriter } from '../seed.js';
import { type LocalStack, startLocalStack } from '../stack.js';
import { postConfirm, postFailover } from './httpTriggers.js';
import {
  type AcknowledgedWritesAudit,
  auditAcknowledgedWrites,
  auditPromotedRows,
  type MetadataAudit,
  sampleCommittedRows,
} from './metadataAudit.js';

/** Interval of the live metadata writer (`startMetadataWriter`'s default). */
const WRITER_INTERVAL_MS = 100;
/**
 * Small files are at most 4 KiB (`seedKyvosDataset`) and large blobs at least 64 KiB (the command
 * checks `--large-blob-mib`); the threshold lies between them.
 */
const MIN_THRESHOLD_BYTES = 32 * 1024;

/** Everything the drill measured, beside the failover report, in the JSON report under `drill`. */
export interface DrillRecord {
  scenario: DrillScenario;
  ok: boolean;
  exitCode: ExitCode;
  /** Why the drill failed, one sentence each; empty when it passed. */
  problems: string[];
  startedAt: string;
  endedAt: string | null;
  timings: {
    stackStartSeconds: number | null;
    seedSeconds: number | null;
    healthSeconds: number | null;
    /** From the HTTP request to the end of the run, as measured by the drill. */
    failoverSeconds: number | null;
    totalSeconds: number | null;
  };
  dataset: {
    files: number;
    largeBlobs: number;
    largeBlobBytes: number;
    seeded: { blobs: number; bytes: number; directories: number } | null;
    /** The run listed exactly what was seeded. */
    listedAsSeeded: boolean | null;
  };
  metadata: {
    seededRows: number;
    /** Rows the live writer was told were written while the drill ran. */
    rowsWrittenDuringDrill: number | null;
    writerIntervalInMs: number;
    audit: MetadataAudit | null;
    /** Every write the primary acknowledged during the drill, looked up by id on the promoted server. */
    acknowledgedWrites: AcknowledgedWritesAudit | null;
  };
  /**
   * The drill as the operator of a planned run: when the run asked to stop Kyvos, when the writer
   * stopped, and what the confirm endpoint answered.
   */
  operator: {
    askedAt: string;
    writerStoppedAt: string;
    confirmStatus: number;
    confirmedAt: string | null;
  } | null;
  healthBefore: Readiness | null;
  /** The rehearsal run before the failover: what it found and estimated. */
  rehearsal: RehearsalSummary | null;
  outage: { region: 'primary'; at: string } | null;
  request: { status: number; runId: string | null; statusUrl: string | null } | null;
  throughput: CopyThroughput | null;
  failoverOptions: FailoverDeps['options'];
  reportFile: string | null;
  logFile: string | null;
}

/** Runs the drill; returns 0 when every check passed, 1 when one failed, 130 when interrupted. */
export async function runDrill(options: DrillOptions, io: CliIo): Promise<ExitCode> {
  const started = Date.now();
  // With --json, stdout carries the report only.
  const out: OutputStream = options.json ? { write: () => true } : io.stdout;
  const say = (...lines: string[]) => out.write(`${lines.join('\n')}\n`);
  const log = cliLog(io, options.verbose);
  const forced = options.scenario === 'region-outage';
  const largeBlobBytes = Math.round(options.largeBlobMib * 1024 * 1024);
  const failoverOptions: FailoverDeps['options'] = {
    copyPollDelayInSeconds: 1,
    pollIntervalInMs: 200,
    partitionSize: 500,
    // Lowered so that the large blobs take the async Copy Blob path, as blobs over 256 MiB do in Azure.
    largeBlobThresholdInBytes: Math.max(MIN_THRESHOLD_BYTES, Math.floor(largeBlobBytes / 2)),
    stepClaimInMs: 30_000,
    walSteadyIntervalInMs: 1_000,
    storageSyncPollIntervalInMs: 500,
  };
  const drill = newDrillRecord(options, failoverOptions);
  const problem = (text: string) => drill.problems.push(text);
  const abortSignal = io.abortSignal;
  /** Waits for a phase, or for Ctrl-C: the stack is then stopped under it. */
  const phase = async <T>(title: string, work: () => Promise<T>): Promise<{ value: T; seconds: number }> => {
    abortSignal?.throwIfAborted();
    const t0 = Date.now();
    say(`• ${title}...`);
    const value = await abortable(work(), abortSignal);
    const seconds = secondsSince(t0);
    say(`  done in ${formatSeconds(seconds)}`);
    return { value, seconds };
  };

  let stack: LocalStack | undefined;
  let stackStarting: Promise<LocalStack> | undefined;
  let writer: ReturnType<typeof startMetadataWriter> | undefined;
  let sampler: ReturnType<typeof sampleCommittedRows> | undefined;
  let run: FailoverRun | undefined;
  let report: FailoverReport | undefined;

  say(
    `kyvos-dr drill: ${forced ? 'a FORCED failover during a primary region outage' : 'a PLANNED failover'} on the local stack`,
    '',
  );
  try {
    const stackPhase = await phase(
      'Starting the local stack (Azurite, PostgreSQL primary and streaming replica, ARM and Key Vault emulator)',
      () => {
        // Kept, so that a stack still starting when Ctrl-C comes is stopped once it has started.
        stackStarting = startLocalStack(
          options.strategy === 'accountFailover'
            ? // The grant `infra/rbac-primary.json` gives the app for this strategy.
              { rbac: { parameters: { 'rbac-primary.json': { allowAccountFailover: true } } } }
            : {},
        );
        return stackStarting;
      },
    );
    stack = stackPhase.value;
    drill.timings.stackStartSeconds = stackPhase.seconds;
    const liveStack = stack;
    const { names } = liveStack;

    const seeded = await phase(
      `Seeding ${formatCount(options.files)} files and ${options.largeBlobs} large blobs of ${formatBytes(largeBlobBytes)} under ${names.container}/${names.engineWorkDirectory}, and ${formatCount(options.metadataRows)} metadata rows`,
      async () => {
        const [dataset] = await Promise.all([
          seedKyvosDataset(liveStack.clients.blobService(names.primaryStorageAccount), names.container, {
            prefix: names.engineWorkDirectory,
            files: options.files,
            largeBlobs: options.largeBlobs,
            largeBlobBytes,
          }),
          seedMetadataRepository(liveStack.postgres.primary, options.metadataRows),
        ]);
        return dataset;
      },
    );
    drill.timings.seedSeconds = seeded.seconds;
    drill.dataset.seeded = {
      blobs: seeded.value.blobs,
      bytes: seeded.value.bytes,
      directories: seeded.value.directories,
    };
    say(
      `  ${formatCount(seeded.value.blobs)} blobs (directory stubs included), ${formatBytes(seeded.value.bytes)}`,
    );

    // Kyvos keeps writing its metadata while the drill runs; the samples tell afterwards which rows
    // the primary had committed when the failover was decided.
    writer = startMetadataWriter(liveStack.postgres.primary, WRITER_INTERVAL_MS);
    sampler = sampleCommittedRows(liveStack.postgres.primary);
    say(`• Writing to the primary database every ${WRITER_INTERVAL_MS} ms while the drill runs`);

    const deps: FailoverDeps = {
      ...createDeps(liveStack.settings, { clients: liveStack.clients, logger: log.logger }),
      options: failoverOptions,
    };
    const health = await phase('Running the health checks', async () => {
      const storage = await runHealthCheck('storage', deps);
      const replica = await runHealthCheck('replica', deps);
      return combineReadiness(storage, replica, { now: deps.clock() });
    });
    drill.timings.healthSeconds = health.seconds;
    drill.healthBefore = health.value;
    if (health.value.storage) say(...indent(formatHealthReport(health.value.storage)));
    if (health.value.replica) say(...indent(formatHealthReport(health.value.replica)));
    say(...indent(formatReadiness(health.value)));

    if (options.preProvisionDr) {
      await phase(
        `Deploying the DR storage account ${names.drStorageAccount} ahead, as infra/dr-storage-account.json would`,
        () => preProvisionDrStorageAccount(liveStack),
      );
    }
    const rehearsal = await phase(
      'Rehearsing the failover without changing anything (kyvos-dr rehearse: preflight, the source listed, a sample copied to a scratch container and verified, RPO and RTO estimated)',
      async () => {
        const rehearsing = rehearsalRuntime(deps);
        const record = await startRehearsal(rehearsing, parseRehearsalRequest({}, 'kyvos-dr drill'));
        return runRehearsal(rehearsing, record.rehearsalId, abortSignal ? { abortSignal } : {});
      },
    );
    drill.rehearsal = rehearsalSummary(rehearsal.value);
    say(...indent(formatRehearsal(rehearsal.value)));
    if (rehearsal.value.state !== 'Passed') {
      problem(`the rehearsal found a problem: ${rehearsal.value.problems.join('; ')}`);
    }

    if (forced) {
      await sampler.sampleNow();
      await sampler.stop();
      await liveStack.regionDown('primary');
      drill.outage = { region: 'primary', at: new Date().toISOString() };
      say(
        `• The primary region (${names.regions.primary}) is down: its storage endpoint, ARM resources and PostgreSQL server ${names.primaryPostgresServer} no longer answer`,
      );
    }

    const mode = forced ? 'forced' : 'planned';
    say(`• Requesting a ${mode} failover: POST /api/failover through the Function app's HTTP handler`);
    const requestedAt = Date.now();
    const response = await postFailover(
      deps,
      {
        mode,
        reason: forced ? 'drill: primary region outage' : 'drill: planned failover',
        requestedBy: 'kyvos-dr drill',
        strategy: options.strategy,
      },
      log.write,
    );
    drill.request = {
      status: response.status,
      runId: response.body.runId ?? null,
      statusUrl: response.body.statusUrl ?? null,
    };
    const runId = response.body.runId;
    if (response.status !== 202 || !runId) {
      throw new Error(
        `POST /api/failover answered ${response.status}: ${response.body.error?.message ?? JSON.stringify(response.body)}`,
      );
    }
    say(`  ${response.status} Accepted: run ${runId}`);
    say("• Working the run with the Function app's queue handlers in this process", '');
    const runtime = failoverRuntime(deps);
    const liveWriter = writer;
    // A planned run pauses until Kyvos is stopped: the drill stops its writer, then confirms.
    const following = new AbortController();
    const operator = forced
      ? undefined
      : confirmWhenAsked(runtime, runId, following.signal, async () => {
          const acknowledged = await liveWriter.stop();
          say(
            `• The run asks to stop Kyvos: the drill stops its metadata writer (${formatCount(acknowledged)} writes acknowledged) and confirms: POST /api/failover/${runId}/confirm`,
          );
          const at = new Date().toISOString();
          const answer = await postConfirm(
            deps,
            runId,
            { kyvosStopped: true, requestedBy: 'kyvos-dr drill' },
            log.write,
          );
          return { writerStoppedAt: at, answer };
        }).then(
          (outcome) => {
            if (!outcome) return;
            drill.operator = {
              askedAt: outcome.askedAt,
              writerStoppedAt: outcome.writerStoppedAt,
              confirmStatus: outcome.answer.status,
              confirmedAt: outcome.answer.body.quiescedAt ?? null,
            };
            if (outcome.answer.status !== 202) {
              problem(
                `the confirmation was refused (${outcome.answer.status}): ${outcome.answer.body.error?.message ?? 'no reason'}`,
              );
            }
          },
          (error: unknown) =>
            problem(`the drill could not confirm that Kyvos stopped: ${describeError(error)}`),
        );
    try {
      run = await followRun(runtime, runId, io, {
        quiet: options.json,
        timeoutInMs: options.timeoutSeconds * 1000,
      });
    } catch (error) {
      abortSignal?.throwIfAborted();
      problem(describeError(error));
      run = await runtime.store.get(runId);
    } finally {
      drill.timings.failoverSeconds = secondsSince(requestedAt);
      following.abort();
    }
    await operator;
    if (run) {
      report = run.report?.steps
        ? (run.report as unknown as FailoverReport)
        : buildReport(run, await deps.config());
    }

    drill.metadata.rowsWrittenDuringDrill = await writer.stop();
    writer = undefined;
    await sampler.stop();
    drill.metadata.audit = await auditPromotedRows(
      liveStack.postgres.replica,
      sampler.samples,
      run?.decision?.decidedAt,
    );
    drill.metadata.acknowledgedWrites = await auditAcknowledgedWrites(
      liveStack.postgres.replica,
      liveWriter.acknowledgedIds,
    );
    checkOutcome(drill, report, forced, options.strategy, problem);
  } catch (error) {
    if (!abortSignal?.aborted) problem(describeError(error));
  } finally {
    await writer?.stop().catch(() => 0);
    await sampler?.stop().catch(() => {});
    stack ??= await stackStarting?.catch(() => undefined);
    if (stack) {
      say(abortSignal?.aborted ? '• Interrupted: stopping the local stack' : '• Stopping the local stack');
      await stack.stop();
    }
  }

  const interrupted = abortSignal?.aborted === true;
  if (interrupted) problem('interrupted (Ctrl-C) before the drill ended');
  drill.ok = drill.problems.length === 0;
  drill.exitCode = interrupted ? EXIT.interrupted : drill.ok ? EXIT.ok : EXIT.failed;
  drill.endedAt = new Date().toISOString();
  drill.timings.totalSeconds = secondsSince(started);
  if (report) drill.throughput = copyThroughputOf(report);

  const reportFile = path.resolve(
    io.cwd ?? process.cwd(),
    options.report ??
      path.join('reports', `drill-${run?.runId ?? drill.startedAt.replace(/[:.]/g, '')}.json`),
  );
  const logFile = reportFile.replace(/(\.json)?$/, '.log');
  drill.reportFile = reportFile;
  drill.logFile = logFile;
  const document = { ...(report ?? { runId: run?.runId ?? null, state: run?.state ?? null }), drill };
  try {
    await mkdir(path.dirname(reportFile), { recursive: true });
    await writeFile(reportFile, `${JSON.stringify(document, null, 2)}\n`);
    await writeFile(logFile, log.lines.length > 0 ? `${log.lines.join('\n')}\n` : '');
  } catch (error) {
    drill.problems.push(`the report could not be written to ${reportFile}: ${describeError(error)}`);
    drill.ok = false;
    if (drill.exitCode === EXIT.ok) drill.exitCode = EXIT.failed;
  }

  if (options.json) io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else say('', ...summary(drill, report, options));
  if (!drill.ok) io.stderr.write(`kyvos-dr drill: FAILED: ${drill.problems.join(' ')}\n`);
  return drill.exitCode;
}

function newDrillRecord(options: DrillOptions, failoverOptions: FailoverDeps['options']): DrillRecord {
  return {
    scenario: options.scenario,
    ok: false,
    exitCode: EXIT.failed,
    problems: [],
    startedAt: new Date().toISOString(),
    endedAt: null,
    timings: {
      stackStartSeconds: null,
      seedSeconds: null,
      healthSeconds: null,
      failoverSeconds: null,
      totalSeconds: null,
    },
    dataset: {
      files: options.files,
      largeBlobs: options.largeBlobs,
      largeBlobBytes: Math.round(options.largeBlobMib * 1024 * 1024),
      seeded: null,
      listedAsSeeded: null,
    },
    metadata: {
      seededRows: options.metadataRows,
      rowsWrittenDuringDrill: null,
      writerIntervalInMs: WRITER_INTERVAL_MS,
      audit: null,
      acknowledgedWrites: null,
    },
    operator: null,
    healthBefore: null,
    rehearsal: null,
    outage: null,
    request: null,
    throughput: null,
    failoverOptions,
    reportFile: null,
    logFile: null,
  };
}

/** The drill's own checks of the run's outcome, against what it seeded and wrote. */
function checkOutcome(
  drill: DrillRecord,
  report: FailoverReport | undefined,
  forced: boolean,
  strategy: StorageStrategy,
  problem: (text: string) => void,
): void {
  if (!report) {
    problem('the failover run has no record to check.');
    return;
  }
  if (report.state === 'Running') problem('the failover run did not end (it is still Running).');
  else if (report.state !== 'Succeeded') {
    problem(
      `the failover run ended ${report.state}${report.errors.length ? `: ${report.errors.join('; ')}` : '.'}`,
    );
  }
  if (report.mode !== (forced ? 'forced' : 'planned')) problem(`the run's mode is ${report.mode}.`);
  if (!report.verification) {
    if (report.state === 'Succeeded') problem('verification did not run.');
  } else if (!report.verification.ok) {
    problem(
      `verification failed: ${report.verification.missing} missing, ${report.verification.mismatched} mismatched.`,
    );
  }
  if (report.blobs.failed > 0) problem(`${report.blobs.failed} blobs failed to copy.`);
  // An account failover copies nothing (the account itself moves; verification samples it instead).
  const seeded = strategy === 'copy' ? drill.dataset.seeded : undefined;
  if (seeded) {
    drill.dataset.listedAsSeeded =
      report.blobs.listed === seeded.blobs && report.bytes.listed === seeded.bytes;
    if (!drill.dataset.listedAsSeeded) {
      problem(
        `the run listed ${report.blobs.listed} blobs (${report.bytes.listed} bytes) but the drill seeded ${seeded.blobs} (${seeded.bytes} bytes).`,
      );
    }
    if (report.blobs.copied + report.blobs.skipped !== seeded.blobs && report.state === 'Succeeded') {
      problem(
        `copied ${report.blobs.copied} and skipped ${report.blobs.skipped} of ${seeded.blobs} seeded blobs.`,
      );
    }
  }
  if (!report.promotedServer) problem('no server was promoted.');
  const audit = drill.metadata.audit;
  if (audit?.error) problem(`the promoted server's rows could not be read: ${audit.error}`);
  // A planned failover must not lose what was committed before it was decided; a forced one may.
  if (!forced && audit?.missing) {
    problem(
      `the promoted server lacks ${audit.missing} of the ${audit.basis?.rows} metadata rows committed before the decision.`,
    );
  }
  // Nor any write the primary acknowledged: the run waited for Kyvos to stop and for the replica.
  const acknowledged = drill.metadata.acknowledgedWrites;
  if (!forced && acknowledged?.error) {
    problem(`the acknowledged writes could not be looked up on the promoted server: ${acknowledged.error}`);
  }
  if (!forced && acknowledged?.missing) {
    problem(
      `the promoted server lacks ${acknowledged.missing} of the ${acknowledged.acknowledged} writes the primary acknowledged (ids ${acknowledged.missingIds.join(', ')}): a planned failover must lose none.`,
    );
  }
  if (!forced && report.state === 'Succeeded' && !drill.operator) {
    problem('the planned run never asked for Kyvos to be stopped.');
  }
  if (!forced && report.decision && !audit?.basis) {
    problem('no sample of the primary was taken before the decision: the metadata could not be checked.');
  }
}

function summary(drill: DrillRecord, report: FailoverReport | undefined, options: DrillOptions): string[] {
  const forced = options.scenario === 'region-outage';
  const lines = [`Drill summary: ${forced ? 'forced failover, primary region down' : 'planned failover'}`];
  if (report) lines.push(...formatRunSummary(report));
  const server = report?.promotedServer ?? 'the replica';
  const m = drill.metadata;
  lines.push(
    ...field(
      'metadata writes',
      m.rowsWrittenDuringDrill === null
        ? `${formatCount(m.seededRows)} rows seeded; the live writer did not finish`
        : `${formatCount(m.seededRows)} rows seeded, then ${formatCount(m.rowsWrittenDuringDrill)} written during the drill (one every ${m.writerIntervalInMs} ms, acknowledged by the primary)`,
    ),
  );
  const audit = m.audit;
  if (audit?.basis && audit.missing !== null) {
    const when = `${formatCount(audit.basis.rows)} rows committed on the primary by ${audit.basis.at} (${formatSeconds(audit.basis.secondsBeforeDecision)} before the decision${drill.outage ? ', last reading before the outage' : ''})`;
    lines.push(
      ...field(
        'rows at decision',
        audit.missing === 0
          ? `all ${when} are on ${server}`
          : `${formatCount(audit.missing)} of the ${when} are NOT on ${server}${forced ? ': the data this forced failover lost' : ': a planned failover must not lose them'}`,
      ),
    );
  } else if (audit?.error) {
    lines.push(...field('rows at decision', `not checked: ${audit.error}`));
  }
  const acknowledged = m.acknowledgedWrites;
  if (acknowledged) {
    const total = `${formatCount(acknowledged.acknowledged)} ${acknowledged.acknowledged === 1 ? 'write' : 'writes'} acknowledged by the primary during the drill`;
    let text = `${total}: not checked: ${acknowledged.error ?? 'unknown'}`;
    if (acknowledged.missing === 0) text = `${total}: all are on ${server}; 0 lost`;
    else if (acknowledged.missing !== null) {
      text = `${total}: ${formatCount(acknowledged.missing)} are NOT on ${server} (ids ${acknowledged.missingIds.join(', ')}), ${
        forced
          ? 'written just before the outage and not replicated'
          : 'lost by a planned failover, which must lose none'
      }`;
    }
    lines.push(...field('acknowledged', text));
  }
  const seeded = drill.dataset.seeded;
  if (seeded) {
    lines.push(
      ...field(
        'dataset',
        `seeded ${formatCount(seeded.blobs)} blobs, ${formatBytes(seeded.bytes)}; ${drill.dataset.listedAsSeeded ? 'the run listed exactly that' : drill.dataset.listedAsSeeded === false ? 'the run listed something else' : 'not compared'}`,
      ),
    );
  }
  const t = drill.timings;
  lines.push(
    ...field(
      'drill timings',
      `stack start ${formatSeconds(t.stackStartSeconds)}, seeding ${formatSeconds(t.seedSeconds)}, health checks ${formatSeconds(t.healthSeconds)}, failover ${formatSeconds(t.failoverSeconds)} (request to end of run), total ${formatSeconds(t.totalSeconds)}`,
    ),
  );
  if (report) lines.push('', ...formatDeploymentParameters(report), '', ...formatChecklist(report));
  lines.push('', `Report: ${drill.reportFile}`, `Log:    ${drill.logFile}`, '');
  if (drill.ok) lines.push('Drill PASSED.');
  else lines.push('Drill FAILED:', ...drill.problems.map((p) => `  - ${p}`));
  return lines;
}

/**
 * The drill as the operator of a planned run: waits until the run pauses at its quiesce, then does
 * what an operator does (`act`: stop Kyvos, confirm). Resolves with when it was asked and what `act`
 * returned, or undefined when the run ended, or the drill stopped following it, without asking.
 */
async function confirmWhenAsked<T>(
  runtime: ReturnType<typeof failoverRuntime>,
  runId: string,
  following: AbortSignal,
  act: () => Promise<T>,
): Promise<(T & { askedAt: string }) | undefined> {
  while (!following.aborted) {
    const current = await runtime.store.get(runId);
    if (current?.state !== 'Running') return undefined;
    if (awaitsOperator(current, 'quiesce')) {
      const askedAt = new Date().toISOString();
      return { ...(await act()), askedAt };
    }
    await delay(200);
  }
  return undefined;
}

function indent(lines: string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

function secondsSince(t0: number): number {
  return Math.round((Date.now() - t0) / 100) / 10;
}

/** Resolves with `work`, or rejects as soon as `signal` aborts (the work itself goes on unobserved). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    // A rejection after the abort is expected (the stack stops under it) and must not be unhandled.
    work.catch(() => {});
  });
}
