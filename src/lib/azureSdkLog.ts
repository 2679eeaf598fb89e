/**
 * The Azure SDK's own log (`AZURE_LOG_LEVEL`, or `setLogLevel` from `@azure/logger`), redacted.
 *
 * Every Azure SDK package logs through one `AzureLogger` (its client loggers call the parent's
 * `log`), which writes to stderr, where the Functions host and the CLI's operator read it. The SDK
 * sanitises what it knows of a request (core-rest-pipeline's `logPolicy` redacts the headers and
 * query parameters not on its allow-lists, `sig` and `Authorization` included, see
 * `@typespec/ts-http-runtime` `src/util/sanitizer.ts`), but it JSON-serialises every other property
 * of the request and formats objects passed to it as they are (core-lro logs its whole
 * configuration at verbose). Routing the sink through `redact` makes what slips past it safe too.
 * Overriding `AzureLogger.log` is the documented way to redirect the SDK's log:
 * https://learn.microsoft.com/javascript/api/overview/azure/logger-readme
 */
import { format } from 'node:util';
import { AzureLogger } from '@azure/logger';
import { redact } from './redact.js';

/** Marks the installed sink, so that building the dependencies twice does not wrap it twice. */
const REDACTING = Symbol.for('kyvos-dr.redactingAzureSdkLog');

type LogSink = (...args: unknown[]) => void;

/** One line of the SDK's log as `util.format` would print it (the SDK's own sink does), redacted. */
function redactSdkLogLine(...args: unknown[]): string {
  return redact(format(...args));
}

/**
 * Routes the Azure SDK's log through `redact`, once per process. The composition root calls it
 * (`createDeps`, the CLI's `main`), so the Function app, the CLI and the drill all log through it,
 * at any level. The level itself is left to `AZURE_LOG_LEVEL`.
 */
export function redactAzureSdkLog(logger: { log: LogSink } = AzureLogger): void {
  const current = logger.log as LogSink & { [REDACTING]?: true };
  if (current[REDACTING]) return;
  // '%s': the line is already formatted; a `%` in it must not be read as a placeholder again.
  const redacting: LogSink = (...args) => current('%s', redactSdkLogLine(...args));
  logger.log = Object.assign(redacting, { [REDACTING]: true as const });
}
