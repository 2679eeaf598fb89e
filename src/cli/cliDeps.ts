import type { Command } from 'commander';
import type { AppSettings } from '../lib/config/ConfigSource.js';
import { APP_SETTINGS } from '../lib/config/secretNames.js';
import { createDeps, type Deps } from '../lib/deps.js';
import { createLogger, type Logger } from '../lib/log.js';
import type { CliIo } from './io.js';

/** The options every command takes, naming where kyvos-dr finds its configuration and state. */
export interface GlobalOptions {
  keyVaultUrl?: string;
  appStorageAccount?: string;
  localStack?: string;
  verbose?: boolean;
}

/** The flag that sets each locating app setting; the environment variable of the same name also does. */
export const SETTING_FLAGS: Readonly<Record<string, string>> = {
  [APP_SETTINGS.keyVaultUrl]: '--key-vault-url',
  [APP_SETTINGS.appStorageAccount]: '--app-storage-account',
  [APP_SETTINGS.localStack]: '--local-stack',
};

/**
 * The app settings a command runs with: the environment, overridden by the flags. The same settings
 * the Function app reads, so the CLI runs the same library code against Azure
 * (`DefaultAzureCredential`: `az login`, a managed identity, …) or the local stack (`--local-stack`).
 */
function appSettingsOf(env: CliIo['env'], globals: GlobalOptions): AppSettings {
  return {
    ...env,
    ...(globals.keyVaultUrl ? { [APP_SETTINGS.keyVaultUrl]: globals.keyVaultUrl } : {}),
    ...(globals.appStorageAccount ? { [APP_SETTINGS.appStorageAccount]: globals.appStorageAccount } : {}),
    ...(globals.localStack ? { [APP_SETTINGS.localStack]: globals.localStack } : {}),
  };
}

/** Structured log lines of the library code: kept in memory, and streamed to stderr with `--verbose`. */
export interface CliLog {
  logger: Logger;
  /** The latest lines (at most `MAX_KEPT_LINES`), already redacted. */
  lines: string[];
  /** Adds a line already formatted by a `Logger` (a Functions invocation context's). */
  write(line: string): void;
}

const MAX_KEPT_LINES = 5_000;

export function cliLog(io: CliIo, verbose: boolean): CliLog {
  const lines: string[] = [];
  const write = (line: string) => {
    lines.push(line);
    if (lines.length > MAX_KEPT_LINES) lines.shift();
    if (verbose) io.stderr.write(`${line}\n`);
  };
  return { logger: createLogger((_level, line) => write(line)), lines, write };
}

/** The dependencies of a command, from the environment and its global flags. */
export function cliDeps(io: CliIo, command: Command): { deps: Deps; log: CliLog; settings: AppSettings } {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const settings = appSettingsOf(io.env, globals);
  const log = cliLog(io, globals.verbose === true);
  return { deps: createDeps(settings, { logger: log.logger }), log, settings };
}

/** How an operator sets a locating app setting: ` (set it with --flag or VARIABLE)`, or nothing. */
export function settingHint(setting: string | undefined): string {
  const flag = setting ? SETTING_FLAGS[setting] : undefined;
  return flag ? ` Set it with ${flag} or the environment variable ${setting}.` : '';
}
