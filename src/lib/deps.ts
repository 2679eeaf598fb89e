/**
 * The composition root: the one place that turns app settings into clients, the cached configuration,
 * a logger and a clock (and routes the Azure SDK's own log through `redact`). Library code takes a
 * `Deps` (or the part it needs), so the same code runs against Azure, the local stack and the tests.
 * Nothing is built until it is first used, so importing a function module creates no client.
 */
import { redactAzureSdkLog } from './azureSdkLog.js';
import {
  type ClientFactory,
  clientEnvironmentFromSettings,
  createClientFactory,
} from './clients/ClientFactory.js';
import {
  type AppSettings,
  configSourceFromSettings,
  unresolvedReferenceReason,
} from './config/ConfigSource.js';
import { configCacheSeconds, createConfigLoader } from './config/configLoader.js';
import type { DrConfig } from './config/DrConfig.js';
import { APP_SETTINGS } from './config/secretNames.js';
import type { DoctorCheck } from './doctor/doctorCheck.js';
import { ConfigError } from './errors.js';
import { type Logger, stderrLogger } from './log.js';

export interface Deps {
  /** The app settings everything else was built from. */
  readonly settings: AppSettings;
  readonly clients: ClientFactory;
  /** The DR configuration, cached for `KYVOS_DR_CONFIG_CACHE_SECONDS` (default 300). */
  readonly config: () => Promise<DrConfig>;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** The storage account of kyvos-dr itself (health history, run records): `KYVOS_DR_APP_STORAGE_ACCOUNT`. */
  readonly appStorageAccount: string;
  /**
   * The readiness doctor's checks that `kyvos-dr doctor` and the health timers run; unset, every
   * registered check (`DOCTOR_CHECKS`). Tests on fake clients pass their own, or none.
   */
  readonly doctorChecks?: readonly DoctorCheck[];
}

/**
 * Builds the dependencies from app settings. Each part is built on first use and then kept; an
 * override replaces that part (tests pass the stack's clients, a clock, a capturing logger).
 */
export function createDeps(settings: AppSettings = process.env, overrides: Partial<Deps> = {}): Deps {
  // Before any client exists: whatever the SDK logs at AZURE_LOG_LEVEL passes through `redact`.
  redactAzureSdkLog();
  const clients = lazy(
    () => overrides.clients ?? createClientFactory(clientEnvironmentFromSettings(settings)),
  );
  const clock = overrides.clock ?? (() => new Date());
  const config = lazy(
    () =>
      overrides.config ??
      createConfigLoader(() => configSourceFromSettings(settings, clients), {
        ttlInSeconds: configCacheSeconds(
          settings[APP_SETTINGS.configCacheSeconds],
          APP_SETTINGS.configCacheSeconds,
        ),
        clock,
      }),
  );
  const appStorageAccount = lazy(
    () => overrides.appStorageAccount ?? requiredSetting(settings, APP_SETTINGS.appStorageAccount),
  );
  return {
    settings,
    get clients() {
      return clients();
    },
    // async: a bad cache setting rejects like any other configuration problem, never throws synchronously.
    config: async () => config()(),
    logger: overrides.logger ?? stderrLogger,
    clock,
    get appStorageAccount() {
      return appStorageAccount();
    },
    ...(overrides.doctorChecks ? { doctorChecks: overrides.doctorChecks } : {}),
  };
}

let processDeps: Deps | undefined;

/** The process's dependencies from `process.env`, built once (on first call, never at import). */
export function getDeps(): Deps {
  processDeps ??= createDeps(process.env);
  return processDeps;
}

/**
 * The same dependencies with another logger (a Functions invocation's), sharing the clients and the
 * configuration cache.
 */
export function withLogger(deps: Deps, logger: Logger): Deps {
  const descriptors = Object.getOwnPropertyDescriptors(deps);
  return Object.defineProperties({}, { ...descriptors, logger: { value: logger, enumerable: true } }) as Deps;
}

function requiredSetting(settings: AppSettings, name: string): string {
  const value = settings[name]?.trim();
  if (!value)
    throw new ConfigError(`App setting ${name} is not set: it names kyvos-dr's own storage account.`, name);
  if (value.startsWith('@Microsoft.KeyVault(')) {
    throw new ConfigError(`App setting ${name} ${unresolvedReferenceReason()}`, name);
  }
  return value;
}

function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
