import type { CopyVerification } from '../copy/verifyCopy.js';
import type { DoctorReport } from '../doctor/runDoctor.js';
import type { HealthStatus } from '../health/HealthReport.js';
import type { PromoteCondition } from '../health/plannedPromoteEligibility.js';
import type { StorageStrategyAssessment } from '../report/storageStrategies.js';
import type { CopyEstimate } from './copyEstimate.js';
import type { RecoveryEstimate } from './recoveryEstimate.js';
import type { RehearsalSample, SampleLimits } from './sampleSelection.js';
import type { SourceInventory } from './sourceInventory.js';

/**
 * A rehearsal: a failover rehearsed on the real subscription without changing it. It takes
 * preflight's decision without a run, lists the whole source, copies a sample into a scratch
 * container of the DR account, verifies it, measures the copy and extrapolates it, reads the
 * replica's lag and promote prerequisites, and deletes the scratch container. Its record is the
 * evidence, kept in the app's storage like a failover run's.
 *
 * - `Queued`: accepted (`POST /api/rehearsal`), waiting for the rehearsal queue's worker;
 * - `Running`: under way (`phase` says where);
 * - `Passed`: nothing it checked would stop a failover (warnings may remain);
 * - `Failed`: it found a problem (`problems`), or could not finish (`error`).
 */
type RehearsalState = 'Queued' | 'Running' | 'Passed' | 'Failed';

export type RehearsalPhase = 'preflight' | 'listing' | 'copy' | 'verify' | 'cleanup' | 'report';

export const REHEARSAL_ID_PATTERN = /^rh-\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** What is asked of a rehearsal. */
export interface RehearsalRequest {
  sample: SampleLimits;
  /**
   * Function instances the copy estimate assumes (default 1: what one instance, or the CLI's
   * break-glass path, copies). At most the Function app's `maximumInstanceCount`.
   */
  instances: number;
  requestedBy: string;
}

/** One thing the rehearsal checked. `fail` makes the rehearsal Failed; `warn` and `skipped` do not. */
export interface RehearsalCheck {
  id: string;
  outcome: 'pass' | 'fail' | 'warn' | 'skipped';
  detail: string;
}

/** The go/no-go preflight would decide now, for each mode. */
export interface RehearsedDecision {
  mode: 'planned' | 'forced';
  verdict: 'proceed' | 'refuse';
  reasons: string[];
}

/** The sample's copy into the scratch container, as measured. */
export interface SampleCopy {
  account: string;
  container: string;
  partitions: number;
  copyConcurrency: number;
  blobsCopied: number;
  bytesCopied: number;
  blobsFailed: number;
  failures: Array<{ name: string; reason: string }>;
  seconds: number;
}

/** The evidence a rehearsal leaves: what was checked and every figure. */
export interface RehearsalReport {
  checks: RehearsalCheck[];
  preflight: {
    readiness: HealthStatus;
    decisions: RehearsedDecision[];
    warnings: string[];
    seconds: number;
  };
  doctor: DoctorReport;
  source?: SourceInventory;
  sample?: Omit<RehearsalSample, 'blobs'>;
  copy?: SampleCopy;
  verification?: CopyVerification;
  estimate?: CopyEstimate;
  replica: {
    server: string;
    lagSeconds: number | null;
    lagBytes: number | null;
    eligibleForPlannedPromote: boolean;
    promoteConditions: PromoteCondition[];
    forcedPromoteBlockers: string[];
  };
  recovery: RecoveryEstimate;
  /**
   * Both storage strategies for this data, the configured one first: the storage part of the RTO,
   * the RPO and what each changes (absent from rehearsals recorded before the comparison existed).
   */
  storageStrategies?: StorageStrategyAssessment[];
  cleanup?: { container: string; deleted: boolean; error?: string };
}

export interface RehearsalRecord {
  rehearsalId: string;
  state: RehearsalState;
  request: RehearsalRequest;
  requestedAt: string;
  startedAt?: string;
  endedAt?: string;
  updatedAt: string;
  phase?: RehearsalPhase;
  /** Every check that failed, in a sentence each. */
  problems: string[];
  /** Why the rehearsal could not finish, when it could not. */
  error?: string;
  report?: RehearsalReport;
}

/** The scratch container of a rehearsal in the DR account: a valid container name (lowercase, ≤ 63). */
export function scratchContainerOf(rehearsalId: string): string {
  return `kyvos-dr-rehearsal-${rehearsalId.toLowerCase()}`;
}

/** A new record, Queued. */
export function newRehearsal(rehearsalId: string, request: RehearsalRequest, now: Date): RehearsalRecord {
  const at = now.toISOString();
  return { rehearsalId, state: 'Queued', request, requestedAt: at, updatedAt: at, problems: [] };
}
