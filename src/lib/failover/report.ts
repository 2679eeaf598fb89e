import type { DrConfig } from '../config/DrConfig.js';
import { copyScopeOf, type OutsideScope } from '../copy/copyScope.js';
import { redactDeep } from '../redact.js';
import type { FailoverDecision, FailoverRun, RunRetry, StepName, StepStatus } from './FailoverRun.js';
import {
  type ChecklistItem,
  drChecklist,
  type KeyVaultNames,
  keyVaultNamesOf,
  kyvosDeploymentParameters,
} from './kyvosDeployment.js';

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
  decision: FailoverDecision | null;
  /** Request to DR ready: from the request until verification ended (seconds), measured. */
  rtoSeconds: number | null;
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
  const inputs = {
    drStorageAccount: config.dr.storageAccount,
    drContainer: config.dr.container,
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
    decision: run.decision ?? null,
    rtoSeconds: readyAt ? secondsBetween(run.createdAt, readyAt) : null,
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

function secondsBetween(start: string, end: string): number {
  return Math.round((new Date(end).getTime() - new Date(start).getTime()) / 100) / 10;
}
