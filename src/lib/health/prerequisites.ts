import type { DrConfig } from '../config/DrConfig.js';
import type { Deps } from '../deps.js';
import type { DoctorFinding, DoctorOutcome } from '../doctor/doctorCheck.js';
import { type DoctorReport, doctorContextOf, runDoctor, worstOutcome } from '../doctor/runDoctor.js';
import { type HealthCheckName, type HealthReport, type HealthStatus, worstStatus } from './HealthReport.js';
import type { PromoteCondition } from './plannedPromoteEligibility.js';

/**
 * The failover's prerequisites in the health checks: each health timer also runs the readiness
 * doctor's checks that name it (`DoctorCheck.timer`), so a missing role, a firewall rule or a
 * soft-deleted secret name shows in `GET /api/health` within one timer period, not on the day of the
 * failover.
 */

/** The doctor's checks of one health timer, run with the app's dependencies. Never throws but on abort. */
export function checkPrerequisites(
  check: HealthCheckName,
  config: DrConfig,
  deps: Pick<Deps, 'clients' | 'settings' | 'clock' | 'logger' | 'doctorChecks'>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<DoctorReport> {
  return runDoctor(doctorContextOf(deps, config, options.abortSignal), {
    timer: check,
    ...(deps.doctorChecks ? { checks: deps.doctorChecks } : {}),
  });
}

/** What each outcome makes a health report: a failover would fail (Unhealthy), or needs action (Degraded). */
const STATUS_OF: Record<DoctorOutcome, HealthStatus> = {
  pass: 'Healthy',
  warn: 'Degraded',
  unknown: 'Degraded',
  fail: 'Unhealthy',
};

/**
 * The report with the doctor's findings attached (`prerequisites`): a `fail` makes it Unhealthy, a
 * `warn` or `unknown` Degraded, each with a reason that says what was found and ends with the fix.
 */
export function withPrerequisites<R extends HealthReport>(report: R, doctor: DoctorReport): R {
  const problems = doctor.findings.filter((f) => f.outcome !== 'pass');
  return {
    ...report,
    status: worstStatus(report.status, ...problems.map((f) => STATUS_OF[f.outcome])),
    reasons: [...report.reasons, ...problems.map(prerequisiteReason)],
    prerequisites: doctor,
  };
}

const VERDICT: Record<Exclude<DoctorOutcome, 'pass'>, string> = {
  fail: 'does not hold',
  warn: 'needs attention',
  unknown: 'could not be checked',
};

/** `Prerequisite <id> does not hold: <detail> Fix: <fix>`. */
function prerequisiteReason(finding: DoctorFinding): string {
  const verdict = finding.outcome === 'pass' ? 'holds' : VERDICT[finding.outcome];
  const fix = finding.fix ?? 'run kyvos-dr doctor for the details.';
  return `Prerequisite ${finding.id} ${verdict}: ${sentence(finding.detail)} Fix: ${fix}`;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * The prerequisites in the readiness: the findings of both health checks' latest reports together.
 * A report that carries none (the check could not run, or an older version wrote it) adds nothing,
 * and its `checkedAt` is null.
 */
export interface ReadinessPrerequisites {
  /** The worst outcome of the findings below. */
  outcome: DoctorOutcome;
  counts: Record<DoctorOutcome, number>;
  /** The storage timer's findings, then the replica timer's. */
  findings: DoctorFinding[];
  /** When each health check last ran its part of the doctor's checks (the report's `checkedAt`). */
  checkedAt: Record<HealthCheckName, string | null>;
}

/** Both reports' prerequisites in one; null when neither carries any. */
export function combinePrerequisites(
  storage: HealthReport | undefined,
  replica: HealthReport | undefined,
): ReadinessPrerequisites | null {
  if (!storage?.prerequisites && !replica?.prerequisites) return null;
  const findings = [...(storage?.prerequisites?.findings ?? []), ...(replica?.prerequisites?.findings ?? [])];
  const counts: Record<DoctorOutcome, number> = { pass: 0, fail: 0, warn: 0, unknown: 0 };
  for (const finding of findings) counts[finding.outcome] += 1;
  return {
    outcome: worstOutcome(findings.map((f) => f.outcome)),
    counts,
    findings,
    checkedAt: {
      storage: storage?.prerequisites ? storage.checkedAt : null,
      replica: replica?.prerequisites ? replica.checkedAt : null,
    },
  };
}

/**
 * The prerequisites as conditions of a planned promote: each `fail` finding is one that does not hold,
 * so a planned failover is refused, naming the fix, before it starts instead of failing half-way (a
 * promote refused for a missing role after the copy). A `warn` or `unknown` finding does not refuse
 * it (an expiring SAS still works; an unchecked prerequisite is already a Degraded readiness), and a
 * forced run is never refused for a finding: in a regional outage the doctor cannot read the primary
 * region, and a forced run must still go on.
 */
export function prerequisiteConditions(prerequisites: ReadinessPrerequisites | null): PromoteCondition[] {
  return (prerequisites?.findings ?? [])
    .filter((finding) => finding.outcome === 'fail')
    .map((finding) => ({ name: 'prerequisites', ok: false, detail: prerequisiteReason(finding) }));
}
