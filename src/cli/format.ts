/**
 * Human-readable views of health results and failover runs, for a terminal. Every figure comes from a
 * report or a run record as measured; nothing is estimated here. `--json` prints the records instead.
 */
import type { DoctorArea, DoctorOutcome } from '../lib/doctor/doctorCheck.js';
import type { DoctorReport } from '../lib/doctor/runDoctor.js';
import type { FailoverDecision, FailoverRun, RunRetry, StepName } from '../lib/failover/FailoverRun.js';
import { waitingFor } from '../lib/failover/waitingFor.js';
import type { FactValue, HealthReport } from '../lib/health/HealthReport.js';
import type { ReadinessPrerequisites } from '../lib/health/prerequisites.js';
import type { Readiness } from '../lib/health/readiness.js';
import {
  type FailoverReport,
  type IrreversibleStep,
  irreversibleSteps,
} from '../lib/report/failoverReport.js';
import { STORAGE_STRATEGY_CHOICE, type StorageStrategyAssessment } from '../lib/report/storageStrategies.js';
import type { LatestHealth } from '../lib/state/HealthHistory.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return 'unknown';
  if (s < 120) return `${Math.round(s * 10) / 10} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 120) return `${minutes} min ${Math.round(s - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const WIDTH = 110;
const LABEL_WIDTH = 19;

/**
 * `prefix` then `text`, word-wrapped at `width` columns, continuation lines aligned under the text:
 * the prefix (a label, a bullet, a table's fixed columns) keeps its own spacing.
 */
export function hang(prefix: string, text: string, width = WIDTH): string[] {
  const room = Math.max(30, width - prefix.length);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  const pad = ' '.repeat(prefix.length);
  return lines.map((l, i) => `${i === 0 ? prefix : pad}${l}`.trimEnd());
}

/** `  label              value`, the value wrapped under itself. */
export function field(label: string, value: string): string[] {
  return hang(`  ${label.padEnd(LABEL_WIDTH)}`, value);
}

/** A step as a table row: name, status, duration, and the error wrapped after them. */
const STEP_NAME_WIDTH = 25;

function stepRow(
  name: string,
  status: string,
  durationSeconds: number | null | undefined,
  error?: string,
): string[] {
  const duration =
    durationSeconds !== null && durationSeconds !== undefined ? formatSeconds(durationSeconds) : '';
  // Wide enough for the longest step name (storage.accountFailover) and a space.
  return hang(
    `    ${name.padEnd(STEP_NAME_WIDTH)}${status.padEnd(10)}${duration.padStart(9)}  `,
    error ?? '',
  );
}

// ---- health ----------------------------------------------------------------------------------

/** The facts an operator looks at first, per check; `--json` has all of them. */
const KEY_FACTS: Record<HealthReport['check'], string[]> = {
  storage: [
    'account',
    'sku',
    'geoStatus',
    'lastSyncTime',
    'secondaryLocation',
    'sasExpiresOn',
    'sasCanListSecondary',
  ],
  replica: [
    'server',
    'role',
    'state',
    'replicationState',
    'lagBytes',
    'lagSeconds',
    'lagBasis',
    // After a failover: the old primary, watched for split brain.
    'failoverRunId',
    'oldPrimary',
    'oldPrimaryFinding',
    'splitBrain',
    'autoFenced',
  ],
};

const CHECK_TITLES: Record<HealthReport['check'], string> = {
  storage: 'Storage geo-replication',
  replica: 'PostgreSQL read replica',
};

export function formatHealthReport(latest: LatestHealth): string[] {
  const { report } = latest;
  const lines = [
    `${CHECK_TITLES[report.check]}: ${report.status}, RPO ${formatSeconds(report.rpoSeconds)} (checked ${report.checkedAt})`,
  ];
  const facts = KEY_FACTS[report.check]
    .filter((key) => report.facts[key] !== undefined && report.facts[key] !== null)
    .map((key) => `${key} ${factText(report.facts[key] ?? null)}`);
  if (facts.length > 0) lines.push(...hang('  ', facts.join(' · ')));
  if (typeof report.facts.rpoNote === 'string') lines.push(...hang('  RPO: ', report.facts.rpoNote));
  for (const reason of report.reasons) lines.push(...hang('  - ', reason));
  if (latest.consecutiveNonHealthy > 1) {
    lines.push(
      `  not Healthy ${latest.consecutiveNonHealthy} checks in a row, since ${latest.nonHealthySince}`,
    );
  }
  return lines;
}

function factText(value: FactValue): string {
  return typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(1) : String(value);
}

export function formatReadiness(readiness: Readiness): string[] {
  const lines = [`Readiness: ${readiness.status}, RPO ${formatSeconds(readiness.rpoSeconds)}`];
  for (const explanation of readiness.rpoExplanation) lines.push(...hang('  RPO: ', explanation));
  if (readiness.eligibleForPlannedPromote) {
    lines.push('  planned failover: eligible (a planned failover would not lose data)');
  } else {
    lines.push('  planned failover: NOT eligible (use a forced failover and accept the data loss, or fix:)');
    for (const reason of readiness.eligibilityReasons) lines.push(...hang('  - ', reason));
  }
  const { sourceAccess } = readiness;
  if (sourceAccess.auth) {
    const proven =
      sourceAccess.proven === true
        ? 'proven on the secondary'
        : sourceAccess.proven === false
          ? 'NOT proven: a failover would be refused'
          : 'not proven (the secondary did not answer)';
    lines.push(
      ...hang(
        '  source access: ',
        `${sourceAccess.access ?? sourceAccess.auth} (${sourceAccess.auth}), ${proven}`,
      ),
    );
  }
  if (readiness.configuration) lines.push(...hang('  configuration: ', readiness.configuration));
  if (readiness.prerequisites) {
    lines.push(...hang('  prerequisites: ', prerequisitesSummary(readiness.prerequisites)));
  }
  return lines;
}

/** One line on the doctor's findings of both timers; the fixes are among the reports' reasons. */
function prerequisitesSummary(prerequisites: ReadinessPrerequisites): string {
  const { counts } = prerequisites;
  const total = counts.pass + counts.fail + counts.warn + counts.unknown;
  const checked = `checked with storage ${prerequisites.checkedAt.storage ?? 'never'}, replica ${prerequisites.checkedAt.replica ?? 'never'}`;
  if (prerequisites.outcome === 'pass') return `all ${total} hold (${checked})`;
  return `${total - counts.pass} of ${total} do not hold (${countsText(counts)}; ${checked}); each fix is among the reasons above, or run kyvos-dr doctor`;
}

// ---- doctor ------------------------------------------------------------------------------------

const AREA_TITLES: Record<DoctorArea, string> = {
  permissions: 'Effective permissions',
  network: 'Network',
  keyVault: 'Key Vault',
  postgres: 'PostgreSQL',
  storage: 'Storage',
};

/** Problems stand out; a pass does not. */
const OUTCOME_LABELS: Record<DoctorOutcome, string> = {
  pass: 'pass',
  fail: 'FAIL',
  warn: 'WARN',
  unknown: 'UNKNOWN',
};

function countsText(counts: Record<DoctorOutcome, number>): string {
  return `${counts.fail} fail, ${counts.warn} warn, ${counts.unknown} unknown, ${counts.pass} pass`;
}

/**
 * The doctor's findings grouped by area (in the order of the checks), each problem with its fix, and
 * a summary line that says what the findings mean for a failover.
 */
export function formatDoctorReport(report: DoctorReport): string[] {
  const lines = [`Failover prerequisites (checked ${report.checkedAt})`];
  const areas = [...new Set(report.findings.map((f) => f.area))];
  for (const area of areas) {
    lines.push('', `${AREA_TITLES[area]}:`);
    for (const finding of report.findings.filter((f) => f.area === area)) {
      const label = `  ${OUTCOME_LABELS[finding.outcome].padEnd(9)}`;
      lines.push(...hang(label, `${finding.id}: ${finding.detail}`));
      if (finding.outcome !== 'pass' && finding.fix)
        lines.push(...hang(`${' '.repeat(label.length)}fix: `, finding.fix));
    }
  }
  lines.push('', doctorSummary(report));
  return lines;
}

function doctorSummary(report: DoctorReport): string {
  const { counts } = report;
  if (report.findings.length === 0) return 'No check ran: no check is registered for the areas asked.';
  const figures = `${report.findings.length} checked: ${countsText(counts)}`;
  switch (report.outcome) {
    case 'pass':
      return `Every prerequisite holds (${figures}).`;
    case 'fail':
      return `A failover would fail (${figures}). Apply the fixes above, then run kyvos-dr doctor again.`;
    case 'warn':
      return `A failover would work, but ${counts.warn} finding(s) need action (${figures}). Apply the fixes above.`;
    case 'unknown':
      return `Not every prerequisite could be checked (${figures}). Let the doctor read what the fixes name, then run it again.`;
  }
}

// ---- failover runs -----------------------------------------------------------------------------

/** What decided the RPO at decision time, from the figures the decision recorded. */
function rpoAtDecision(decision: FailoverDecision | null | undefined): string {
  if (!decision) return 'not measured: no go/no-go decision was taken (yet)';
  const storage = decision.storageRpoSeconds;
  const database = decision.databaseLagSeconds;
  let text: string;
  if (decision.rpoSeconds !== null && storage !== null && database !== null) {
    const decider = storage >= database ? 'storage' : 'database';
    text = `${formatSeconds(decision.rpoSeconds)}, ${decider} decides (storage ${formatSeconds(storage)}, database ${formatSeconds(database)})`;
  } else {
    const unknown = decision.reasons.filter((r) => r.includes('RPO unknown'));
    text = `unknown: ${unknown.join('; ') || 'a part could not be measured'}`;
  }
  return `${text}; readiness ${decision.readiness}, planned promote ${decision.eligibleForPlannedPromote ? 'eligible' : 'not eligible'}, decided ${decision.decidedAt}`;
}

export interface CopyThroughput {
  bytesPerSecond: number;
  blobsPerSecond: number;
  /** The duration of the storage.copy step (listing, queued partitions and the final check included). */
  copySeconds: number;
}

/** Copy throughput as measured by the run: bytes and blobs copied over the copy step's duration. */
export function copyThroughputOf(report: FailoverReport): CopyThroughput | null {
  const copy = report.steps.find((s) => s.name === 'storage.copy');
  const copySeconds = copy?.durationSeconds;
  if (!copySeconds || copySeconds <= 0) return null;
  return {
    bytesPerSecond: Math.round(report.bytes.copied / copySeconds),
    blobsPerSecond: Math.round(((report.blobs.copied + report.blobs.skipped) / copySeconds) * 10) / 10,
    copySeconds,
  };
}

function formatVerification(verification: FailoverReport['verification']): string {
  if (!verification) return 'not run';
  const counts = `${formatCount(verification.missing)} missing, ${formatCount(verification.mismatched)} mismatched`;
  return verification.ok ? `ok (${counts})` : `FAILED (${counts})`;
}

/** The figures of a finished run, readable at a glance: what the drill, `failover` and `status` print. */
export function formatRunSummary(report: FailoverReport): string[] {
  const lines: string[] = [];
  lines.push(
    ...field(
      'run',
      `${report.runId} ${report.state} (${report.mode}, requested by ${report.requestedBy}: "${report.reason}")`,
    ),
  );
  lines.push(...field('RPO at decision', rpoAtDecision(report.decision)));
  if (report.decision?.estimatedDataLoss) {
    lines.push(...field('estimated loss', report.decision.estimatedDataLoss));
  }
  lines.push(
    ...field(
      'RTO',
      report.rtoSeconds !== null
        ? `${formatSeconds(report.rtoSeconds)} from the request to DR ready (verification ended)`
        : 'not reached: verification did not end',
    ),
  );
  for (const step of report.steps)
    lines.push(...stepRow(step.name, step.status, step.durationSeconds, step.error));
  lines.push(...formatIrreversible(report.irreversible ?? []));
  const { blobs, bytes } = report;
  if (report.scope) {
    const outside = report.scope.blobsOutsideScope;
    lines.push(
      ...field(
        'copy scope',
        `${report.scope.description}${report.scope.prefix && outside ? ` (${formatCount(outside.count)} blob(s) outside it, not copied)` : ''}`,
      ),
    );
  }
  lines.push(
    ...field(
      'blobs',
      `${formatCount(blobs.listed)} listed, ${formatCount(blobs.copied)} copied, ${formatCount(blobs.skipped)} skipped (already there), ${formatCount(blobs.failed)} failed`,
    ),
  );
  if (blobs.failedNames.length > 0) {
    lines.push(...field('failed blobs', blobs.failedNames.slice(0, 5).join(', ')));
  }
  lines.push(...field('bytes', `${formatBytes(bytes.listed)} listed, ${formatBytes(bytes.copied)} copied`));
  const throughput = copyThroughputOf(report);
  lines.push(
    ...field(
      'copy throughput',
      throughput
        ? `${formatBytes(throughput.bytesPerSecond)}/s, ${throughput.blobsPerSecond} blobs/s (copied over the storage.copy step's ${formatSeconds(throughput.copySeconds)})`
        : 'not measured: the copy step did not end',
    ),
  );
  lines.push(...field('verification', formatVerification(report.verification)));
  if (report.quiesce) lines.push(...field('quiesce', quiesceSummary(report.quiesce)));
  lines.push(...field('promoted server', report.promotedServer ?? 'none: the promote did not succeed'));
  lines.push(
    ...field(
      'old primary',
      report.oldPrimaryFenced === null
        ? 'not reached'
        : report.oldPrimaryFenced
          ? 'fenced (stopped)'
          : 'NOT fenced: stop it as soon as its region answers (first checklist item)',
    ),
  );
  for (const error of report.errors) lines.push(...field('error', error));
  lines.push(...retryRows(report.retries ?? []));
  return lines;
}

/**
 * The steps that cannot be undone, and when each ran; one line when none did, the case an operator
 * most needs to be sure of after a refusal or an early failure.
 */
function formatIrreversible(steps: IrreversibleStep[]): string[] {
  const ran = steps.filter((s) => s.status !== 'Pending' && s.status !== 'Skipped');
  if (ran.length === 0) {
    return field(
      'irreversible',
      `nothing irreversible was done (${steps.map((s) => s.step).join(', ')} did not start)`,
    );
  }
  return steps.flatMap((s) => {
    const when =
      s.status === 'Pending' || s.status === 'Skipped'
        ? 'did not start'
        : `${s.status}, started ${s.startedAt ?? 'unknown'}${s.endedAt ? `, ended ${s.endedAt}` : ''}`;
    return field('irreversible', `${s.step}: ${when}: ${s.action}`);
  });
}

/** One row per retry of a failed run. */
function retryRows(retries: RunRetry[]): string[] {
  return retries.flatMap((retry) =>
    field(
      'retried',
      `${retry.requestedAt} by ${retry.requestedBy}: "${retry.reason}"; had failed: ${retry.failedSteps.join(', ') || 'no step'}`,
    ),
  );
}

export function formatDeploymentParameters(report: FailoverReport): string[] {
  const parameters =
    (report.kyvosDeploymentParameters as { parameters?: Record<string, { value: unknown }> }).parameters ??
    {};
  return [
    'Kyvos DR deployment parameters (ARM parameters file; full file in the JSON report):',
    ...Object.entries(parameters).map(([name, p]) => `  ${name.padEnd(28)} ${String(p.value)}`),
    ...(report.keyVault
      ? [
          `  (KeyVaultName is the vault's DNS name ${report.keyVault.dnsName}; its bare name is ${report.keyVault.name})`,
        ]
      : []),
  ];
}

export function formatChecklist(report: FailoverReport): string[] {
  const lines = ['Checklist after the failover:'];
  report.checklist.forEach((item, i) => {
    const prefix = `  ${String(i + 1).padStart(2)}. `;
    lines.push(...hang(prefix, item.text));
  });
  return lines;
}

/**
 * Both storage strategies side by side, the configured one first: the storage part of the RTO and
 * where it comes from, the RPO, and what each changes, each claim with its source.
 */
export function formatStorageStrategies(strategies: readonly StorageStrategyAssessment[]): string[] {
  const lines = ['', '  Storage strategies'];
  for (const s of strategies) {
    lines.push(`    ${s.strategy}${s.configured ? ' (configured)' : ''}`);
    lines.push(
      ...hang(
        `      ${'storage RTO'.padEnd(13)}`,
        `${s.rto.basis === 'documented' ? 'typically under ' : ''}${formatSeconds(s.rto.seconds)}, ${s.rto.basis}: ${s.rto.claim} [${s.rto.source}]`,
      ),
      ...hang(
        `      ${'storage RPO'.padEnd(13)}`,
        `${formatSeconds(s.rpo.seconds)}: ${s.rpo.claim} [${s.rpo.source}]`,
      ),
    );
    for (const change of s.changes) lines.push(...hang('      - ', `${change.claim} [${change.source}]`));
  }
  lines.push(...hang('    ', STORAGE_STRATEGY_CHOICE));
  return lines;
}

/** The plan of a dry run (the report `preflight` writes), with its verdict. */
function formatDryRun(run: FailoverRun): string[] {
  const report = run.report as
    | {
        verdict: string;
        decision: FailoverDecision;
        storageStrategies?: StorageStrategyAssessment[];
        plan: {
          blobs: number;
          bytes: number;
          partitions: number;
          largeBlobs: number;
          directoryStubs: number;
          source: string;
          destination: string;
          serverToPromote: string;
          promote: { promoteMode: string; promoteOption: string };
          oldPrimary: string;
        };
      }
    | undefined;
  const lines = [`Dry run ${run.runId} (${run.request.mode}): ${run.state}; nothing was changed.`];
  if (!report?.plan) {
    lines.push(...run.errors.flatMap((e) => field('error', e)));
    return lines;
  }
  const { plan } = report;
  lines.push(...field('verdict', report.verdict));
  lines.push(...field('RPO at decision', rpoAtDecision(report.decision)));
  if (report.decision.estimatedDataLoss)
    lines.push(...field('estimated loss', report.decision.estimatedDataLoss));
  for (const reason of report.decision.eligibleForPlannedPromote ? [] : report.decision.reasons.slice(0, 8)) {
    lines.push(...field('', `- ${reason}`));
  }
  lines.push(...field('copy from', plan.source));
  lines.push(...field('copy to', plan.destination));
  lines.push(
    ...field(
      'would copy',
      `${formatCount(plan.blobs)} blobs (${formatCount(plan.largeBlobs)} large, ${formatCount(plan.directoryStubs)} directory stubs), ${formatBytes(plan.bytes)}, in ${formatCount(plan.partitions)} partitions`,
    ),
  );
  lines.push(
    ...field(
      'would promote',
      `${plan.serverToPromote} (promoteMode ${plan.promote.promoteMode}, promoteOption ${plan.promote.promoteOption}); old primary ${plan.oldPrimary}`,
    ),
  );
  if (report.storageStrategies) lines.push(...formatStorageStrategies(report.storageStrategies));
  return lines;
}

/**
 * A run as it stands (running, or ended without a report): state, what it is waiting for, steps, copy
 * progress, errors.
 */
export function formatRunState(run: FailoverRun, now: Date = new Date()): string[] {
  const lines = [
    `Failover run ${run.runId}: ${run.state}${run.request.dryRun ? ' (dry run)' : ''}`,
    ...field('mode', run.request.mode),
    ...field('storage strategy', run.request.strategy ?? "the configuration's (decided at preflight)"),
    ...field('requested by', `${run.request.requestedBy}: "${run.request.reason}"`),
    ...field('created', run.createdAt),
    ...field('updated', run.updatedAt),
  ];
  if (run.endedAt) lines.push(...field('ended', run.endedAt));
  const waiting = waitingFor(run, now);
  if (waiting) lines.push(...field('waiting for', waiting));
  lines.push(...field('RPO at decision', rpoAtDecision(run.decision)));
  for (const name of Object.keys(run.steps) as StepName[]) {
    const step = run.steps[name];
    lines.push(...stepRow(name, step.status, step.durationSeconds, step.error));
  }
  lines.push(...formatIrreversible(irreversibleSteps(run)));
  const p = run.progress;
  lines.push(
    ...field(
      'copy',
      `${formatCount(p.blobsCopied + p.blobsSkipped + p.blobsFailed)} of ${formatCount(p.blobsListed)} blobs done${p.listingComplete ? '' : ' (listing not complete)'}: ${formatCount(p.blobsCopied)} copied, ${formatCount(p.blobsSkipped)} skipped, ${formatCount(p.blobsFailed)} failed; ${formatBytes(p.bytesCopied)} of ${formatBytes(p.bytesListed)}`,
    ),
  );
  for (const error of run.errors) lines.push(...field('error', error));
  lines.push(...retryRows(run.retries ?? []));
  return lines;
}

/** Everything about a run an operator needs: its summary, parameters and checklist when it has a report. */
export function formatRun(run: FailoverRun): string[] {
  if (run.state === 'Running') return formatRunState(run);
  if (run.request.dryRun) return formatDryRun(run);
  const report = run.report as FailoverReport | undefined;
  if (!report?.steps) {
    return [...formatRunState(run), ...(run.state === 'Failed' ? ['', ...retryHint(run)] : [])];
  }
  return [
    `Failover run ${run.runId}: ${run.state}`,
    ...formatRunSummary(report),
    ...(run.state === 'Failed' ? ['', ...retryHint(run)] : []),
    '',
    ...formatDeploymentParameters(report),
    '',
    ...formatChecklist(report),
  ];
}

/** What to do about a failed run: fix the cause, then retry it, keeping what succeeded. */
function retryHint(run: FailoverRun): string[] {
  return [
    'Once the cause is fixed, retry the run: what succeeded is kept (copied partitions, the promotion):',
    `  kyvos-dr retry ${run.runId} --reason "<what was fixed>"`,
  ];
}

/** One line on the quiesce: not required (forced), or when Kyvos stopped and what was checked. */
export function quiesceSummary(detail: Record<string, unknown> | undefined | null): string {
  if (!detail) return 'not run';
  if (detail.required === false) return `not required: ${String(detail.reason ?? '')}`;
  const db = detail.database as { finalLsn?: string; replicaReplayLsn?: string | null } | null;
  const storage = detail.storage as { lastSyncTime?: string } | null;
  const parts = [
    `Kyvos stopped at ${String(detail.quiescedAt ?? 'unconfirmed')} (confirmed by ${String(detail.confirmedBy ?? 'nobody')})`,
  ];
  if (db?.finalLsn)
    parts.push(`WAL still at ${db.finalLsn}, replayed by the replica (${db.replicaReplayLsn ?? 'unknown'})`);
  if (storage?.lastSyncTime) parts.push(`storage secondary synced to ${storage.lastSyncTime}`);
  return parts.join('; ');
}
