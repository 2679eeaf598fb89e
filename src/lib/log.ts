import { redactDeep } from './redact.js';

/** Flat fields of a structured log line. Values are redacted before they are written. */
type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

/**
 * A structured logger: one event name and a flat JSON object per line, so that Application Insights
 * queries can filter on fields (`customDimensions`).
 */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export type LogLevel = 'info' | 'warn' | 'error';

/** Formats one log line: `{"event":"…","level":"…",…fields}` with secrets redacted. */
function formatLogLine(level: LogLevel, event: string, fields: LogFields = {}): string {
  return JSON.stringify(redactDeep({ event, level, ...fields }));
}

/** A logger writing JSON lines to a sink (the Functions `InvocationContext`, stderr, a test array). */
export function createLogger(sink: (level: LogLevel, line: string) => void): Logger {
  return {
    info: (event, fields) => sink('info', formatLogLine('info', event, fields)),
    warn: (event, fields) => sink('warn', formatLogLine('warn', event, fields)),
    error: (event, fields) => sink('error', formatLogLine('error', event, fields)),
  };
}

/** A logger that writes to stderr, for the CLI and the local stack. */
export const stderrLogger: Logger = createLogger((_level, line) => process.stderr.write(`${line}\n`));

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger(() => {});

/** Minimal shape of the Functions `InvocationContext` logging methods. */
export interface ContextLike {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** A logger writing through a Functions `InvocationContext`. */
export function contextLogger(context: ContextLike): Logger {
  return createLogger((level, line) => {
    if (level === 'error') context.error(line);
    else if (level === 'warn') context.warn(line);
    else context.log(line);
  });
}
