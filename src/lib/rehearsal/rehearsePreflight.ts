import type { DoctorReport } from '../doctor/runDoctor.js';
import { proveRunCanFinish, type RunCanFinish, refusalOf } from '../failover/runCanFinish.js';
import { completedFailover } from '../failover/steps/preflight.js';
import type { Readiness } from '../health/readiness.js';
import { checkReadinessNow } from '../health/readinessNow.js';
import { describeError } from '../redact.js';
import type { RehearsalCheck, RehearsalReport, RehearsedDecision } from './Rehearsal.js';
import type { Rehearsing } from './Rehearsing.js';
import { stepDeps } from './Rehearsing.js';

/**
 * Preflight without a run: the health checks and the go/no-go decision of each mode, the record of
 * an earlier failover, and the doctor (whose checks the two health checks run, each those of its
 * timer: their findings are the readiness's prerequisites).
 */
export async function rehearsePreflight(ctx: Rehearsing) {
  const { runtime, config } = ctx;
  const started = ctx.now();
  const [earlier, readiness, runCanFinish] = await Promise.all([
    completedFailover(
      { config, clients: runtime.deps.clients, store: runtime.runs },
      ctx.record.rehearsalId,
    ).then(
      (found) => ({ found }),
      (error: unknown) => ({ error: describeError(error) }),
    ),
    checkReadinessNow(runtime.deps, config, ctx.abort),
    proveRunCanFinish(stepDeps(ctx)),
  ]);
  const doctor = doctorOf(readiness);
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
/** The doctor's findings of both health checks just run, as one report. */
function doctorOf(readiness: Readiness): DoctorReport {
  const prerequisites = readiness.prerequisites;
  return {
    outcome: prerequisites?.outcome ?? 'unknown',
    findings: prerequisites?.findings ?? [],
    counts: prerequisites?.counts ?? { pass: 0, fail: 0, warn: 0, unknown: 0 },
    checkedAt: prerequisites?.checkedAt.storage ?? prerequisites?.checkedAt.replica ?? readiness.evaluatedAt,
  };
}

export function doctorCheck(doctor: DoctorReport): RehearsalCheck {
  const counts = `${doctor.counts.pass} pass, ${doctor.counts.warn} warn, ${doctor.counts.unknown} unknown, ${doctor.counts.fail} fail`;
  if (doctor.findings.length === 0) {
    return {
      id: 'doctor',
      outcome: 'warn',
      detail:
        "the doctor's checks did not run: neither health check got as far as them (see the readiness reasons); run kyvos-dr doctor",
    };
  }
  const outcome = doctor.outcome === 'pass' ? 'pass' : doctor.outcome === 'fail' ? 'fail' : 'warn';
  const named = doctor.findings
    .filter((f) => f.outcome !== 'pass')
    .map((f) => `${f.id} (${f.outcome}): ${f.fix ?? f.detail}`);
  return { id: 'doctor', outcome, detail: named.length > 0 ? `${counts}: ${named.join('; ')}` : counts };
}

/** The replica as the readiness shows it, and whether Azure would refuse its promote (without promoting). */
export function rehearsedReplica(
  readiness: Readiness,
  server: string,
): { check: RehearsalCheck; figures: RehearsalReport['replica'] } {
  const report = readiness.replica?.report;
  const lagBytes = report?.facts.lagBytes;
  const blockers = readiness.forcedPromoteBlockers;
  return {
    check:
      blockers.length > 0
        ? {
            id: 'replica.promotePrerequisites',
            outcome: 'fail',
            detail: `Azure would refuse the promote: ${blockers.join('; ')}`,
          }
        : {
            id: 'replica.promotePrerequisites',
            outcome: 'pass',
            detail: `the promote's prerequisites hold; replica lag ${readiness.databaseRpoSeconds ?? 'unknown'} s`,
          },
    figures: {
      server,
      lagSeconds: readiness.databaseRpoSeconds,
      lagBytes: typeof lagBytes === 'number' ? lagBytes : null,
      eligibleForPlannedPromote: readiness.eligibleForPlannedPromote,
      promoteConditions: Array.isArray(report?.promoteConditions) ? report.promoteConditions : [],
      forcedPromoteBlockers: blockers,
    },
  };
}
