/**
 * The few errors a caller acts on differently. Everything else is a plain `Error` with a message an
 * operator can act on and the underlying `cause`.
 */

/** Configuration is missing or invalid. The message names the setting or secret, never its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly isConfigError = true;
  constructor(
    message: string,
    /** The app setting or Key Vault secret at fault. */
    readonly setting?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A precondition for a DR operation does not hold (for example the replica is not Active). */
export class PreconditionFailed extends Error {
  override readonly name = 'PreconditionFailed';
  readonly isPreconditionFailed = true;
  constructor(
    message: string,
    readonly reasons: string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Another failover run holds the lock. */
export class FailoverInProgress extends Error {
  override readonly name = 'FailoverInProgress';
  readonly isFailoverInProgress = true;
  constructor(
    readonly runId: string,
    options?: ErrorOptions,
  ) {
    super(`A failover is already running: run ${runId}. Follow it, or wait for it to end.`, options);
  }
}

/** No failover run has this id. */
export class RunNotFound extends Error {
  override readonly name = 'RunNotFound';
  readonly isRunNotFound = true;
  constructor(readonly runId: string) {
    super(`No failover run ${runId}.`);
  }
}

/** A run that cannot be retried: only a run that ended Failed can. */
export class RunNotRetryable extends Error {
  override readonly name = 'RunNotRetryable';
  readonly isRunNotRetryable = true;
  constructor(
    readonly runId: string,
    readonly state: string,
    reason: string,
  ) {
    super(`Failover run ${runId} is ${state}: ${reason}`);
  }
}

/** A confirmation for a run that is not paused waiting for one. */
export class RunNotWaiting extends Error {
  override readonly name = 'RunNotWaiting';
  readonly isRunNotWaiting = true;
  constructor(
    readonly runId: string,
    readonly state: string,
    reason: string,
  ) {
    super(`Failover run ${runId} is not waiting for a confirmation: ${reason}`);
  }
}

/** Input from a caller (HTTP body, CLI flag) is invalid. The message names the field. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly isInputError = true;
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The HTTP status of an Azure SDK error (`RestError.statusCode`), when there is one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The service error code of an Azure SDK error (`RestError.code`), when there is one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The status the copy source answered the destination service with, for a failed Copy Blob (From
 * URL). Azure reports it in `x-ms-copy-source-status-code` (the SDK puts it in `details`).
 */
export function copySourceStatusOf(error: unknown): number | undefined {
  const details = (error as { details?: { copySourceStatusCode?: unknown } } | undefined)?.details;
  const fromDetails = details?.copySourceStatusCode;
  if (typeof fromDetails === 'number') return fromDetails;
  const header = (
    error as { response?: { headers?: { get(name: string): string | undefined } } } | undefined
  )?.response?.headers?.get?.('x-ms-copy-source-status-code');
  return header && /^\d+$/.test(header) ? Number(header) : undefined;
}
