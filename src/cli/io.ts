/**
 * What the CLI reads and writes: the process's streams and environment when run from a shell, or a
 * test's captured ones. Commands never touch `process.stdout`, `process.env` or signals directly.
 */

/** The part of a writable stream the CLI uses. A TTY gets a progress bar; anything else plain lines. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** The environment the app settings are read from (`KYVOS_DR_…`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C: long operations stop following, and the drill stops its stack. */
  abortSignal?: AbortSignal;
  /** Base of relative paths (the drill's report); default `process.cwd()`. */
  cwd?: string;
}

/** The process's own streams and environment. */
export function processIo(abortSignal?: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    ...(abortSignal ? { abortSignal } : {}),
    cwd: process.cwd(),
  };
}

/** Writes lines, each ending with a newline. */
export function writeLines(stream: OutputStream, lines: string[]): void {
  if (lines.length > 0) stream.write(`${lines.join('\n')}\n`);
}
