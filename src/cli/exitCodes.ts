import { ConfigError, FailoverInProgress, InputError, PreconditionFailed } from '../lib/errors.js';

/**
 * The exit codes of every `kyvos-dr` command, so that scripts and runbooks can act on them. The same
 * table is printed by `--help`.
 */
export const EXIT = {
  /**
   * Healthy; the run Succeeded (or was accepted, with `--no-wait`); the configuration is valid; every
   * prerequisite of a failover holds (`doctor`).
   */
  ok: 0,
  /**
   * Not Healthy; the run Failed; a drill check failed; a prerequisite fails, warns or could not be
   * checked (`doctor`); an unexpected error.
   */
  failed: 1,
  /** Unknown command or option, a bad or missing value. */
  usage: 2,
  /** An app setting or Key Vault secret is missing or invalid. */
  config: 3,
  /**
   * The run was refused (or its dry run says it would be): a planned failover would lose data, or
   * preflight could not prove the run can finish (the copy cannot read its source, Key Vault cannot
   * be read).
   */
  refused: 4,
  /** Another failover run holds the lock. */
  inProgress: 5,
  /** Interrupted (Ctrl-C), as shells report SIGINT. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0    success: Healthy; the run Succeeded (or, with --no-wait, was accepted); the configuration is valid;
       every prerequisite holds (doctor)
  1    not Healthy (Degraded or Unhealthy); the run Failed; a drill check failed; a prerequisite fails,
       warns or could not be checked (doctor); an unexpected error
  2    usage error: unknown command or option, bad or missing value
  3    configuration error: an app setting or Key Vault secret is missing or invalid
  4    refused: a planned failover would lose data, or the run could not finish (e.g. the copy cannot
       read its source); the run was refused and changed nothing, or the dry run says it would be
  5    another failover run is in progress
  130  interrupted (Ctrl-C)`;

/** The error, or the first of its causes, that is a `type`. */
export function causeOfType<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof type) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * The exit code an error stands for, looking through its causes: a `ConfigError` wrapped by a health
 * check or a failed store still means "fix the configuration".
 */
export function exitCodeOf(error: unknown, abortSignal?: AbortSignal): ExitCode {
  if (abortSignal?.aborted) return EXIT.interrupted;
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof InputError) return EXIT.usage;
    if (current instanceof ConfigError) return EXIT.config;
    if (current instanceof PreconditionFailed) return EXIT.refused;
    if (current instanceof FailoverInProgress) return EXIT.inProgress;
    current = current.cause;
  }
  return EXIT.failed;
}
