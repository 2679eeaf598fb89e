import { localAccountSas } from '../../local/accountSas.js';
import { waitFor as waitUntil } from '../../local/postgres.js';
import type { LocalStack } from '../../local/stack.js';
import type { DrConfig } from '../../src/lib/config/DrConfig.js';
import { createDeps, type Deps } from '../../src/lib/deps.js';
import type { DoctorContext } from '../../src/lib/doctor/doctorCheck.js';
import { doctorContextOf } from '../../src/lib/doctor/runDoctor.js';
import { createLogger, type Logger, type LogLevel } from '../../src/lib/log.js';

/** One parsed log line, as Application Insights would index it. */
export type LogLine = { event: string; level: LogLevel } & Record<string, unknown>;

/** A logger that keeps every line, parsed, for assertions. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = createLogger((_level, line) => {
    raw.push(line);
    lines.push(JSON.parse(line) as LogLine);
  });
  return { logger, lines, raw };
}

/**
 * Dependencies wired to a running local stack: its app settings (Key Vault, app storage account), its
 * clients (short retry delays, so fault tests stay fast) and, unless overridden, a capturing logger.
 */
export function stackDeps(stack: LocalStack, overrides: Partial<Deps> = {}): Deps {
  return createDeps(stack.settings, { clients: stack.clients, logger: captureLogger().logger, ...overrides });
}

/** What the doctor's checks get on a running local stack: the app's configuration (or `config`), clients and settings. */
export async function stackDoctorContext(stack: LocalStack, config?: DrConfig): Promise<DoctorContext> {
  const deps = stackDeps(stack);
  return doctorContextOf(deps, config ?? (await deps.config()));
}

/** A configuration with some thresholds replaced, for a test that needs small ones. */
export function withThresholds(config: DrConfig, thresholds: Partial<DrConfig['thresholds']>): DrConfig {
  return { ...config, thresholds: { ...config.thresholds, ...thresholds } };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until `done` holds for its value, or fails after `timeoutInMs` with the last value. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutInMs?: number; intervalInMs?: number; what?: string } = {},
): Promise<T> {
  let last: T | undefined;
  const waited = await waitUntil(
    async () => {
      last = await probe();
      return done(last) && { value: last };
    },
    {
      timeoutInMs: options.timeoutInMs ?? 20_000,
      ...(options.intervalInMs !== undefined ? { intervalInMs: options.intervalInMs } : {}),
      description: options.what ?? 'a condition',
    },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last value: ${JSON.stringify(last)}`, { cause: error });
  });
  return waited.value;
}

/**
 * An account SAS of the stack's primary storage account, signed with its real key as an operator
 * would issue it, with the given permissions and expiry.
 */
export function primaryAccountSas(
  stack: LocalStack,
  options: { permissions: string; expiresOn: Date },
): string {
  const account = stack.accounts.find((a) => a.name === stack.names.primaryStorageAccount);
  if (!account) throw new Error('The stack has no primary storage account');
  return localAccountSas(account, options.permissions, options.expiresOn.getTime() - Date.now());
}

/** The `sig` of a SAS, to assert that it appears nowhere. */
export function signatureOf(sas: string): string {
  return new URLSearchParams(sas).get('sig') ?? '';
}

/** Waits until the stack's storage secondary holds every write made up to `time` (its `lastSyncTime` is later). */
export function storageSyncedPast(stack: LocalStack, time: number): Promise<number> {
  return waitFor(
    async () => stack.storageLastSyncTime().getTime(),
    (lastSync) => lastSync > time,
    { what: `lastSyncTime past ${new Date(time).toISOString()}`, timeoutInMs: 60_000 },
  );
}
