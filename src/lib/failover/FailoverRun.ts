import type { AccountFailoverType } from '../accountFailover/accountFailoverReadiness.js';
import type { DrConfig, StorageStrategy } from '../config/DrConfig.js';

/**
 * The record of one failover run, kept as JSON in the app's own storage. It is the single source of
 * truth for the status URL, for workers that resume after a crash, and for the final report.
 */

type FailoverMode = 'planned' | 'forced';

/**
 * The runbook's steps. `storage.*` and `database.*` run in parallel after preflight; in a planned
 * run the copy and the promote also wait for `quiesce` (Kyvos stopped, confirmed and checked). A run
 * takes the storage steps of its strategy: `storage.ensureAccount` and `storage.copy` for the copy,
 * `storage.accountFailover` for the account failover; the others end Skipped.
 */
export const STEP_NAMES = [
  'preflight',
  'quiesce',
  'storage.ensureAccount',
  'storage.copy',
  'storage.accountFailover',
  'database.promote',
  'database.fence',
  'record',
  'verify',
  'report',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export type StepStatus = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped';
type RunState = 'Running' | 'Succeeded' | 'Failed' | 'Refused';

interface StepRecord {
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationSeconds?: number;
  /** Worker that holds the step, and until when; an expired claim may be taken over. */
  owner?: string;
  claimedUntil?: string;
  attempts: number;
  /** What the step did, for the status URL (never secrets). */
  detail?: Record<string, unknown>;
  error?: string;
}

/** The figures on which the go/no-go decision was taken, measured by the health checks at preflight. */
export interface FailoverDecision {
  decidedAt: string;
  readiness: 'Healthy' | 'Degraded' | 'Unhealthy';
  /** Combined RPO at decision time: the larger of storage and database, in seconds; null when unknown. */
  rpoSeconds: number | null;
  storageRpoSeconds: number | null;
  /**
   * The storage secondary's `lastSyncTime` the storage RPO was measured from (the older of ARM's and
   * the secondary's own). The copy reads the secondary: a storage write after this time may be
   * missing from it, every one before it is there. Null when unknown; absent in runs recorded before
   * it was kept.
   */
  storageLastSyncTime?: string | null;
  databaseLagSeconds: number | null;
  databaseLagBytes: number | null;
  eligibleForPlannedPromote: boolean;
  reasons: string[];
  /** For a forced failover: the data a failover loses, as far as it can be known. */
  estimatedDataLoss?: string;
  /** With the account failover strategy: the failover type the run asks for, and why. */
  accountFailover?: {
    failoverType: AccountFailoverType;
    reason: string;
    /** The account's SKU before the failover, as preflight read it. */
    skuBefore?: string | null;
  };
}

interface CopyProgress {
  listingComplete: boolean;
  partitionsListed: number;
  partitionsDone: number;
  blobsListed: number;
  bytesListed: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsFailed: number;
  bytesCopied: number;
  copyCalls: number;
  failedBlobs: Array<{ name: string; reason: string }>;
  /**
   * The copy step has replaced the workers' live figures with the sums of the final checkpoints. A
   * worker that reports after that (its checkpoint was already summed) adds nothing.
   */
  totalsFromCheckpoints?: boolean;
}

export interface FailoverRequest {
  mode: FailoverMode;
  reason: string;
  dryRun: boolean;
  requestedBy: string;
  /** Set when an Azure Monitor alert started the run. */
  alertId?: string;
  /**
   * How the run brings the data to the DR region. Absent in the request: the configuration's
   * (`kyvos-dr-storage-strategy`), which preflight records here; a run recorded before the
   * setting existed copied.
   */
  strategy?: StorageStrategy;
}

/**
 * The storage account and container Kyvos uses after the run: the DR account the copy filled, or,
 * with the account failover, the primary account itself, which keeps its name in the DR region.
 */
export function activeStorageOf(
  run: Pick<FailoverRun, 'request'>,
  config: Pick<DrConfig, 'primary' | 'dr'>,
): { storageAccount: string; container: string } {
  const side = strategyOf(run) === 'accountFailover' ? config.primary : config.dr;
  return { storageAccount: side.storageAccount, container: side.container };
}

/** The storage strategy of a run: the request's or, once preflight recorded it, the configuration's. */
export function strategyOf(run: Pick<FailoverRun, 'request'>): StorageStrategy {
  return run.request.strategy ?? 'copy';
}

/**
 * The operator's confirmation that Kyvos is stopped (`POST /api/failover/{runId}/confirm`,
 * `kyvos-dr confirm`): the manual action a planned run pauses at. `confirmedAt` is the quiesce
 * moment: every write Kyvos was told succeeded happened before it.
 */
export interface QuiesceConfirmation {
  confirmedAt: string;
  confirmedBy: string;
}

/** A retry of a run that had ended Failed: who asked, why, and what had failed. */
export interface RunRetry {
  requestedAt: string;
  requestedBy: string;
  reason: string;
  /** When the failed attempt had ended. */
  failedAt: string | null;
  failedSteps: StepName[];
  /** The run's errors when it was retried (the run's own list starts empty again). */
  errors: string[];
}

export interface FailoverRun {
  runId: string;
  request: FailoverRequest;
  state: RunState;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  steps: Record<StepName, StepRecord>;
  decision?: FailoverDecision;
  progress: CopyProgress;
  errors: string[];
  /** Every retry of the run, oldest first; absent when it never was retried. */
  retries?: RunRetry[];
  /** Set when the operator confirmed that Kyvos is stopped (planned runs only). */
  quiesce?: QuiesceConfirmation;
  /** Filled by the report step (or the dry-run plan). */
  report?: Record<string, unknown>;
  /** Notes about a run that waits: written beside its work, never counted as progress (see `RunStore.update`). */
  watch?: RunWatch;
}

/**
 * What the run's watchers saw while it waited: the last delivery of an advance message that failed
 * before any step could run (the configuration could not be loaded), and the sweeper's re-advances.
 * Shown in the status (`waitingFor`); a retry clears it.
 */
interface RunWatch {
  /** The last advance that failed before any step ran: when, and why (redacted). */
  advanceFailure?: { at: string; reason: string };
  /** How many times the sweeper re-advanced the run, and the last time. */
  readvances?: number;
  lastReadvancedAt?: string;
}

export function newRun(runId: string, request: FailoverRequest, now: Date): FailoverRun {
  const steps = Object.fromEntries(
    STEP_NAMES.map((name) => [name, { status: 'Pending', attempts: 0 }]),
  ) as Record<StepName, StepRecord>;
  return {
    runId,
    request,
    state: 'Running',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    steps,
    progress: {
      listingComplete: false,
      partitionsListed: 0,
      partitionsDone: 0,
      blobsListed: 0,
      bytesListed: 0,
      blobsCopied: 0,
      blobsSkipped: 0,
      blobsFailed: 0,
      bytesCopied: 0,
      copyCalls: 0,
      failedBlobs: [],
    },
    errors: [],
  };
}

/** A failover run id: `fo-20261123T201500Z-3f9a1c`. */
export const RUN_ID_PATTERN = /^fo-\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** Who retries a failed run, and why. */
export interface RetryRequest {
  reason: string;
  requestedBy: string;
}

/**
 * Turns a Failed run back into a Running one, in place: the failed steps, and the steps skipped
 * because of them, are pending again; succeeded steps stay done and keep their outcome, so a retry
 * does not copy or promote again what already was. What had failed moves into `retries`. A copy
 * step that failed keeps its plan: it sends again every partition listed and not yet done, then
 * continues the listing if it was cut off; each partition gets as many attempts again as a run
 * gives it.
 */
export function reopenForRetry(run: FailoverRun, retry: RetryRequest, now: Date): void {
  const failedSteps = STEP_NAMES.filter((name) => run.steps[name].status === 'Failed');
  run.retries = [
    ...(run.retries ?? []),
    {
      requestedAt: now.toISOString(),
      requestedBy: retry.requestedBy,
      reason: retry.reason,
      failedAt: run.endedAt ?? null,
      failedSteps,
      errors: run.errors,
    },
  ];
  // A quiesce that failed (writes went on after the confirmation) needs a new confirmation, and its
  // moment is the one the storage must sync past.
  if (run.steps.quiesce?.status === 'Failed') delete run.quiesce;
  for (const name of STEP_NAMES) {
    const step = run.steps[name];
    if (!step || (step.status !== 'Failed' && step.status !== 'Skipped')) continue;
    if (name === 'storage.copy' && step.status === 'Failed' && run.progress.partitionsListed > 0) {
      step.detail = { ...step.detail, requeueUnfinished: true };
    }
    step.status = 'Pending';
    delete step.error;
    delete step.startedAt;
    delete step.endedAt;
    delete step.durationSeconds;
    delete step.owner;
    delete step.claimedUntil;
  }
  // Workers report live figures again; the copy step replaces them with the checkpoints' sums.
  run.progress.totalsFromCheckpoints = false;
  run.state = 'Running';
  run.errors = [];
  delete run.endedAt;
  delete run.report;
  delete run.watch;
}
