import type { GeoRedundancyOutcome } from '../accountFailover/restoreGeoRedundancy.js';
import type { DrConfig } from '../config/DrConfig.js';
import { copyScopeOf, type OutsideScope } from '../copy/copyScope.js';
import {
  activeStorageOf,
  type FailoverDecision,
  type FailoverRun,
  type RunRetry,
  type StepName,
  type StepStatus,
  strategyOf,
} from '../failover/FailoverRun.js';
import { IRREVERSIBLE_STEPS } from '../failover/runCanFinish.js';
import { redactDeep } from '../redact.js';
import {
  type ChecklistItem,
  drChecklist,
  type KeyVaultNames,
  type KyvosDeploymentInputs,
  keyVaultNamesOf,
  kyvosDeploymentParameters,
} from './kyvosDeployment.js';

/**
 * One step that cannot be undone, and when it ran (from its step record). It runs only after
 * preflight proved the run can finish and the DR account exists; a Pending or Skipped one never ran.
 */
export interface IrreversibleStep {
  step: (typeof IRREVERSIBLE_STEPS)[number];
  /** What the step does, and to what when the run knows it. */
  action: string;
  status: StepStatus;
  startedAt: string | null;
  endedAt: string | null;
}

/** The failover report: what an operator reads after the run, and what the drill prints. */
export interface FailoverReport {
  runId: string;
  state: FailoverRun['state'];
  mode: FailoverRun['request']['mode'];
  reason: string;
  requestedBy: string;
  requestedAt: string;
  endedAt: string | null;
  /** Combined RPO at decision time (seconds), as measured by the health checks; null when unknown. */
  rpoSeconds: number | null;
  /**
   * Where the run's configuration came from, as preflight read it: `Key Vault kv-kyvos`, or the app
   * settings because the vault could not be reached. Null when preflight did not get that far.
   */
  configuration: string | null;
  decision: FailoverDecision | null;
  /** Request to DR ready: from the request until verification ended (seconds), measured. */
  rtoSeconds: number | null;
  /** The steps that cannot be undone (promote, fence, the Key Vault writes): whether and when they ran. */
  irreversible: IrreversibleStep[];
  steps: Array<{
    name: StepName;
    status: StepStatus;
    startedAt: string | null;
    endedAt: string | null;
    durationSeconds: number | null;
    error?: string;
  }>;
  /**
   * What was copied: the whole container, or a prefix. `blobsOutsideScope` counts the source blobs a
   * prefix left behind (counted by the verify step; 0 for the whole container; null when the verify
   * step did not count them).
   */
  scope: { description: string; prefix: string; blobsOutsideScope: OutsideScope | null };
  blobs: { listed: number; copied: number; skipped: number; failed: number; failedNames: string[] };
  bytes: { listed: number; copied: number };
  verification: { ok: boolean; missing: number; mismatched: number; details?: unknown } | null;
  /**
   * The quiesce of a planned run: when Kyvos was confirmed stopped and by whom, the WAL positions
   * and the storage sync checked before the promote and the copy. A forced run says it had none.
   */
  quiesce: Record<string, unknown> | null;
  promotedServer: string | null;
  oldPrimaryFenced: boolean | null;
  kyvosDeploymentParameters: Record<string, unknown>;
  /** The vault behind `KeyVaultName`: its DNS name (the parameter's value) and its bare name. */
  keyVault: KeyVaultNames;
  checklist: ChecklistItem[];
  errors: string[];
  /** The run's retries after it had failed, oldest first: who, why, and what had failed. */
  retries: RunRetry[];
}

export function buildReport(run: FailoverRun, config: DrConfig): FailoverReport {
  const verifyStep = run.steps.verify;
  const verification = verifyStep.detail?.storage as
    | {
        ok: boolean;
        missing?: unknown[];
        missingCount?: number;
        mismatched?: unknown[];
        mismatchedCount?: number;
      }
    | undefined;
  const scope = copyScopeOf(config.copyPrefix);
  const counted = (verifyStep.detail?.scope as { blobsOutside?: OutsideScope } | undefined)?.blobsOutside;
  const blobsOutsideScope = scope.wholeContainer ? { count: 0, examples: [] } : (counted ?? null);
  const readyAt = verifyStep.endedAt ?? null;
  const promoteDetail = run.steps['database.promote'].detail as { server?: string } | undefined;
  const fenceDetail = run.steps['database.fence'].detail as { oldPrimaryFenced?: boolean } | undefined;
  const active = activeStorageOf(run, config);
  const failedOver = run.steps['storage.accountFailover'].detail as
    | { failoverType?: 'Planned' | 'Unplanned'; sku?: string | null; geoRedundancy?: GeoRedundancyOutcome }
    | undefined;
  const inputs: KyvosDeploymentInputs = {
    drStorageAccount: active.storageAccount,
    drContainer: active.container,
    ...(strategyOf(run) === 'accountFailover'
      ? {
          accountFailover: {
            failoverType:
              failedOver?.failoverType ?? run.decision?.accountFailover?.failoverType ?? 'Unplanned',
            sku: failedOver?.sku ?? null,
            ...(failedOver?.geoRedundancy ? { geoRedundancy: failedOver.geoRedundancy } : {}),
          },
        }
      : {}),
    keyVault: keyVaultNamesOf(config.keyVault),
    promotedPostgresServer: promoteDetail?.server ?? config.dr.replicaServer,
    engineWorkDirectory: config.engineWorkDirectory,
  };
  const report: FailoverReport = {
    runId: run.runId,
    state: run.state,
    mode: run.request.mode,
    reason: run.request.reason,
    requestedBy: run.request.requestedBy,
    requestedAt: run.createdAt,
    endedAt: run.endedAt ?? null,
    rpoSeconds: run.decision?.rpoSeconds ?? null,
    configuration:
      (run.steps.preflight.detail as { configuration?: string } | undefined)?.configuration ?? null,
    decision: run.decision ?? null,
    rtoSeconds: readyAt ? secondsBetween(run.createdAt, readyAt) : null,
    irreversible: irreversibleSteps(run),
    steps: stepTimings(run),
    scope: { description: scope.description, prefix: scope.prefix, blobsOutsideScope },
    blobs: {
      listed: run.progress.blobsListed,
      copied: run.progress.blobsCopied,
      skipped: run.progress.blobsSkipped,
      failed: run.progress.blobsFailed,
      failedNames: run.progress.failedBlobs.map((f) => f.name),
    },
    bytes: { listed: run.progress.bytesListed, copied: run.progress.bytesCopied },
    verification: verification
      ? {
          ok: verification.ok,
          missing: verification.missingCount ?? verification.missing?.length ?? 0,
          mismatched: verification.mismatchedCount ?? verification.mismatched?.length ?? 0,
          details: verification,
        }
      : null,
    quiesce: run.steps.quiesce?.detail ?? null,
    promotedServer:
      run.steps['database.promote'].status === 'Succeeded' ? inputs.promotedPostgresServer : null,
    oldPrimaryFenced: fenceDetail?.oldPrimaryFenced ?? null,
    kyvosDeploymentParameters: kyvosDeploymentParameters(inputs),
    keyVault: inputs.keyVault,
    // Unknown (the record step did not get that far) counts as not fenced.
    checklist: drChecklist(inputs, fenceDetail?.oldPrimaryFenced === true, { scope, blobsOutsideScope }),
    errors: run.errors,
    retries: run.retries ?? [],
  };
  return redactDeep(report);
}

/** Each step's status and timings, in runbook order, with its error when it failed. */
export function stepTimings(run: FailoverRun): FailoverReport['steps'] {
  return (Object.keys(run.steps) as StepName[]).map((name) => {
    const s = run.steps[name];
    return {
      name,
      status: s.status,
      startedAt: s.startedAt ?? null,
      endedAt: s.endedAt ?? null,
      durationSeconds: s.durationSeconds ?? null,
      ...(s.error ? { error: s.error } : {}),
    };
  });
}

/** The irreversible steps of a run, in the order they run, with what they did and when. */
export function irreversibleSteps(run: FailoverRun): IrreversibleStep[] {
  const detail = (name: StepName) => (run.steps[name].detail ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const promote = detail('database.promote');
  const fence = detail('database.fence');
  const record = detail('record');
  const failover = detail('storage.accountFailover');
  const actions: Record<IrreversibleStep['step'], string> = {
    'storage.accountFailover': `fail the storage account over to the DR region ${text(failover.failoverType) ? ` (${failover.failoverType})` : ''}: it is the primary there, and failing it back is another failover`,
    'database.promote': `promote the DR replica${text(promote.server) ? ` ${promote.server}` : ''} to a standalone server: it leaves replication for good`,
    'database.fence': `fence the old primary${text(fence.oldPrimary) ? ` ${fence.oldPrimary}` : ''} so that one server takes writes${text(fence.fencing) ? ` (${fence.fencing})` : ''}`,
    record: `write the names Kyvos must use (kyvos-dr-active-*) to Key Vault${text(record.recordedIn) ? ` (recorded in ${record.recordedIn})` : ''}`,
  };
  // A step of the other storage strategy never runs: it is not listed.
  const taken = IRREVERSIBLE_STEPS.filter(
    (step) => step !== 'storage.accountFailover' || strategyOf(run) === 'accountFailover',
  );
  return taken.map((step) => ({
    step,
    action: actions[step],
    status: run.steps[step].status,
    startedAt: run.steps[step].startedAt ?? null,
    endedAt: run.steps[step].endedAt ?? null,
  }));
}

function secondsBetween(start: string, end: string): number {
  return Math.round((new Date(end).getTime() - new Date(start).getTime()) / 100) / 10;
}
