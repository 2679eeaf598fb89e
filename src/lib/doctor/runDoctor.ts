import type { DrConfig } from '../config/DrConfig.js';
import type { Deps } from '../deps.js';
import { describeError } from '../redact.js';
import { DOCTOR_CHECKS } from './checks.js';
import type { DoctorArea, DoctorCheck, DoctorContext, DoctorFinding, DoctorOutcome } from './doctorCheck.js';

export interface DoctorReport {
  /** The worst outcome of all findings: `pass` only when every prerequisite was checked and holds. */
  outcome: DoctorOutcome;
  findings: DoctorFinding[];
  /** How many findings of each outcome. */
  counts: Record<DoctorOutcome, number>;
  /** ISO time the checks started. */
  checkedAt: string;
}

export interface RunDoctorOptions {
  /** Only the checks of these areas (default: all). */
  areas?: readonly DoctorArea[];
  /** Only the checks the given health timer runs. */
  timer?: DoctorCheck['timer'];
  /** The checks to run instead of `DOCTOR_CHECKS` (tests). */
  checks?: readonly DoctorCheck[];
}

/**
 * The context the checks read through: the app's own clients, settings, clock and logger (so they see
 * Azure exactly as a failover would), and the configuration already read.
 */
export function doctorContextOf(
  deps: Pick<Deps, 'clients' | 'settings' | 'clock' | 'logger'>,
  config: DrConfig,
  abortSignal?: AbortSignal,
): DoctorContext {
  return {
    config,
    clients: deps.clients,
    settings: deps.settings,
    clock: deps.clock,
    logger: deps.logger,
    ...(abortSignal ? { abortSignal } : {}),
  };
}

const ORDER: Record<DoctorOutcome, number> = { pass: 0, unknown: 1, warn: 2, fail: 3 };

/** The worst of `outcomes`: fail over warn over unknown over pass. */
export function worstOutcome(outcomes: readonly DoctorOutcome[]): DoctorOutcome {
  return outcomes.reduce<DoctorOutcome>((worst, o) => (ORDER[o] > ORDER[worst] ? o : worst), 'pass');
}

/**
 * Runs the doctor's checks concurrently. A check that throws does not stop the others: it becomes one
 * `unknown` finding that says what could not be read.
 */
export async function runDoctor(
  context: DoctorContext,
  options: RunDoctorOptions = {},
): Promise<DoctorReport> {
  const checkedAt = context.clock().toISOString();
  const shared: DoctorContext = { ...context, reads: new Map() };
  const selected = (options.checks ?? DOCTOR_CHECKS).filter(
    (check) =>
      (!options.areas || options.areas.includes(check.area)) &&
      (!options.timer || check.timer === options.timer),
  );
  const results = await Promise.all(
    selected.map(async (check): Promise<DoctorFinding[]> => {
      try {
        return await check.run(shared);
      } catch (error) {
        context.abortSignal?.throwIfAborted();
        return [
          {
            area: check.area,
            id: `${check.area}.checkFailed.${camelCase(check.name)}`,
            outcome: 'unknown',
            detail: `The ${check.name} check could not run: ${describeError(error)}`,
            fix: 'Fix what the error names (access, network, configuration), then run kyvos-dr doctor again.',
          },
        ];
      }
    }),
  );
  const findings = results.flat();
  const counts: Record<DoctorOutcome, number> = { pass: 0, fail: 0, warn: 0, unknown: 0 };
  for (const finding of findings) counts[finding.outcome] += 1;
  return { outcome: worstOutcome(findings.map((f) => f.outcome)), findings, counts, checkedAt };
}

/** `storage network rules` → `storageNetworkRules`: a check's name as the last part of a finding id. */
function camelCase(name: string): string {
  const words = name.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  return words.map((word, i) => (i === 0 ? word : word[0]?.toUpperCase() + word.slice(1))).join('');
}
