import type { DrConfig } from '../config/DrConfig.js';
import { ACTIVE_SECRETS, APP_SETTINGS } from '../config/secretNames.js';
import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { type RecordedFailover, readRecordedFailover } from '../failover/steps/record.js';
import { stopOldPrimary } from '../promote/stopOldPrimary.js';
import { describeError } from '../redact.js';
import {
  APP_CONTAINER,
  type HealthHistory,
  healthHistoryOf,
  type RecordedHealth,
} from '../state/HealthHistory.js';
import { type HealthCheckName, type HealthReport, worstStatus } from './HealthReport.js';
import { observeOldPrimary, watchOldPrimary, withOldPrimary } from './OldPrimaryWatch.js';
import { checkPromotedReplica } from './PromotedReplicaHealth.js';
import { checkPrerequisites, withPrerequisites } from './prerequisites.js';
import { checkReplicaHealth, type ReplicaHealthReport } from './ReplicaHealth.js';
import { checkStorageGeoReplication } from './StorageGeoReplication.js';

export interface RunHealthCheckOptions {
  abortSignal?: AbortSignal;
  /** The timer run is late (`Timer.isPastDue`): the check still runs, and the log line says so. */
  pastDue?: boolean;
}

/**
 * One scheduled health check, end to end: reads the configuration, runs the check and, alongside it,
 * the readiness doctor's checks of this timer (`prerequisites.ts`; the replica timer's only until the
 * pair has failed over), stores the result in the health history and writes one structured log line
 * (`health.storage` / `health.replica`).
 *
 * Bad configuration or a check that throws does not end in a stack trace: it becomes an Unhealthy
 * report whose reason says what is wrong, and is stored and logged like any other. Only a failure to
 * store the result is thrown (after the log line), so the Functions host records the run as failed.
 */
export function runHealthCheck(
  check: 'replica',
  deps: Deps,
  options?: RunHealthCheckOptions,
): Promise<RecordedHealth<ReplicaHealthReport>>;
export function runHealthCheck(
  check: HealthCheckName,
  deps: Deps,
  options?: RunHealthCheckOptions,
): Promise<RecordedHealth>;
export async function runHealthCheck(
  check: HealthCheckName,
  deps: Deps,
  options: RunHealthCheckOptions = {},
): Promise<RecordedHealth> {
  const startedAt = deps.clock();
  if (options.pastDue) deps.logger.warn('health.pastDue', { check, startedAt: startedAt.toISOString() });
  let history: HealthHistory | undefined;
  let historyError: unknown;
  try {
    history = healthHistoryOf(deps);
  } catch (error) {
    // Without the app storage account the check still runs and logs; the run then fails.
    historyError = error;
  }
  let report: HealthReport;
  try {
    const config = await deps.config();
    report = await runCheck(check, config, deps, history, options);
  } catch (error) {
    report = failedCheckReport(check, error, startedAt);
  }

  let recorded: RecordedHealth | undefined;
  try {
    recorded = await history?.record(report, options);
  } catch (error) {
    historyError = error;
  }
  const level = report.status === 'Healthy' ? 'info' : report.status === 'Degraded' ? 'warn' : 'error';
  deps.logger[level](`health.${check}`, {
    ...report.facts,
    status: report.status,
    rpoSeconds: report.rpoSeconds,
    checkedAt: report.checkedAt,
    ...('eligibleForPlannedPromote' in report
      ? { eligibleForPlannedPromote: report.eligibleForPlannedPromote as boolean }
      : {}),
    consecutiveNonHealthy: recorded?.consecutiveNonHealthy ?? null,
    nonHealthySince: recorded?.nonHealthySince ?? null,
    pastDue: options.pastDue ?? false,
    prerequisites: report.prerequisites?.outcome ?? null,
    reasons: report.reasons.join(' | '),
    ...(recorded?.pruneError ? { historyPruneError: recorded.pruneError } : {}),
    ...(historyError ? { historyError: describeError(historyError) } : {}),
  });
  if (!recorded) {
    throw new Error(
      `The ${check} health result could not be stored in the app storage account (${APP_SETTINGS.appStorageAccount}, container ${APP_CONTAINER}): ${describeError(historyError)}`,
      { cause: historyError },
    );
  }
  return recorded;
}

async function runCheck(
  check: HealthCheckName,
  config: DrConfig,
  deps: Deps,
  history: HealthHistory | undefined,
  options: RunHealthCheckOptions,
): Promise<HealthReport> {
  const checkOptions = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (check === 'storage') {
    const [report, prerequisites] = await Promise.all([
      checkStorageGeoReplication(config, deps, checkOptions),
      checkPrerequisites('storage', config, deps, checkOptions),
    ]);
    return withPrerequisites(report, prerequisites);
  }
  let failover: RecordedFailover | undefined;
  let failoverUnknown: unknown;
  try {
    failover = await readRecordedFailover(config, deps.clients, checkOptions);
  } catch (error) {
    failoverUnknown = error;
  }
  // After a failover the replica is the primary: it is checked as such, and the old primary is watched.
  // Its prerequisites are those of a failover from the old primary to it, which cannot happen again:
  // the doctor's checks of this timer apply to a pair that has not failed over.
  const [checked, prerequisites] = await Promise.all([
    failover
      ? checkPromotedReplica(config, deps, failover, checkOptions)
      : replicaReport(config, deps, history, checkOptions),
    failover ? undefined : checkPrerequisites('replica', config, deps, checkOptions),
  ]);
  let report = prerequisites ? withPrerequisites(checked, prerequisites) : checked;
  if (failoverUnknown !== undefined) report = withFailoverUnknown(report, failoverUnknown);
  const watch = await watchOldPrimary(config, failover, {
    observe: () => observeOldPrimary(config, deps.clients, checkOptions),
    fence: () => stopOldPrimary(deps.clients, config, { timeoutInMs: AUTO_FENCE_TIMEOUT_IN_MS }),
    clock: deps.clock,
    logger: deps.logger,
  });
  return watch ? withOldPrimary(report, watch) : report;
}

/** The replica of a pair that has not failed over, with the storage condition of a planned promote. */
async function replicaReport(
  config: DrConfig,
  deps: Deps,
  history: HealthHistory | undefined,
  checkOptions: { abortSignal?: AbortSignal },
): Promise<ReplicaHealthReport> {
  // The storage condition comes from the latest storage result, if it can be read.
  const storage = await history?.latest('storage', checkOptions).catch(() => undefined);
  return checkReplicaHealth(config, deps, {
    ...checkOptions,
    ...(storage ? { storage: storage.report } : {}),
  });
}

/** How long the split-brain watch waits for the stop of the old primary, as the fence step does at most. */
const AUTO_FENCE_TIMEOUT_IN_MS = 10 * 60_000;

/** Whether a failover happened could not be read: the old primary is not watched, and the report says so. */
function withFailoverUnknown(report: ReplicaHealthReport, error: unknown): ReplicaHealthReport {
  return {
    ...report,
    status: worstStatus(report.status, 'Degraded'),
    reasons: [
      ...report.reasons,
      `Whether this pair has failed over could not be read from Key Vault (${ACTIVE_SECRETS.lastFailoverRunId}: ${describeError(error)}): the old primary is not watched for split brain until it can.`,
    ],
    facts: { ...report.facts, failoverRecordError: describeError(error) },
  };
}

/**
 * An Unhealthy report for a check that could not run, saying why. A replica report keeps its shape,
 * with a promote condition that does not hold, so readiness never finds a planned promote eligible.
 */
function failedCheckReport(check: HealthCheckName, error: unknown, checkedAt: Date): HealthReport {
  const isConfig = error instanceof ConfigError;
  const reason = isConfig
    ? `The DR configuration is not usable, so nothing could be checked: ${describeError(error)}`
    : `The ${check} check failed: ${describeError(error)}`;
  const report: HealthReport = {
    check,
    status: 'Unhealthy',
    rpoSeconds: null,
    facts: {
      checkFailed: true,
      configError: isConfig,
      ...(isConfig && error.setting ? { setting: error.setting } : {}),
      rpoNote: isConfig ? 'the configuration is not usable' : 'the check could not run',
    },
    reasons: [reason],
    checkedAt: checkedAt.toISOString(),
  };
  if (check === 'storage') return report;
  const detail = 'the replica is unverified: the replica check could not run';
  const replica: ReplicaHealthReport = {
    ...report,
    check: 'replica',
    eligibleForPlannedPromote: false,
    eligibilityReasons: [detail],
    promoteConditions: [{ name: 'replicaRole', ok: false, detail }],
  };
  return replica;
}
