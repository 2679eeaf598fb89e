import type { DrConfig } from '../config/DrConfig.js';
import type { RehearsalCheck, RehearsalPhase, RehearsalRecord } from './Rehearsal.js';
import type { RehearsalRuntime } from './RehearsalService.js';

/**
 * One rehearsal under way, as its phases (`rehearsePreflight`, `rehearseDataPath`,
 * `rehearsedRecovery`) share it: the record, the configuration read once, the checks so far.
 */

/** How `runRehearsal` reports and measures. */
export interface RunRehearsalOptions {
  /** Told when each phase starts (the CLI's progress on stderr). */
  onPhase?: (phase: RehearsalPhase, record: RehearsalRecord) => void;
  /** For the sample's random spread; tests pass a seeded one. */
  random?: () => number;
  /** Milliseconds, for measured durations. Default `performance.now`. */
  now?: () => number;
  abortSignal?: AbortSignal;
}

/** What the phases of one rehearsal share. */
export interface Rehearsing {
  runtime: RehearsalRuntime;
  record: RehearsalRecord;
  config: DrConfig;
  options: RunRehearsalOptions;
  now: () => number;
  abort: { abortSignal?: AbortSignal };
  checks: RehearsalCheck[];
}

/** Records that a phase starts (the status URL shows it), logs it, and tells `onPhase`; stops here when aborted. */
export async function enterPhase(ctx: Rehearsing, phase: RehearsalPhase): Promise<void> {
  ctx.options.abortSignal?.throwIfAborted();
  ctx.record = await ctx.runtime.rehearsals.update(ctx.record.rehearsalId, (r) => {
    r.phase = phase;
    return true;
  });
  ctx.runtime.deps.logger.info('rehearsal.phase', { rehearsalId: ctx.record.rehearsalId, phase });
  ctx.options.onPhase?.(phase, ctx.record);
}

/** The dependencies of preflight's checks, as a failover step has them. */
export function stepDeps(ctx: Rehearsing) {
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
