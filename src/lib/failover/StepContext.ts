import type { ClientFactory } from '../clients/ClientFactory.js';
import type { AppSettings } from '../config/ConfigSource.js';
import type { DrConfig } from '../config/DrConfig.js';
import type { DoctorCheck } from '../doctor/doctorCheck.js';
import type { Logger } from '../log.js';
import type { FailoverRun, StepName } from './FailoverRun.js';
import type { RunStore } from './RunStore.js';

/** Tunables of a failover run. Durations carry their unit. */
export interface FailoverOptions {
  /** How long a worker's claim on a step lasts without a heartbeat before another may take over. */
  stepClaimInMs: number;
  /** Delay before the next progress check while partitions are being copied by the queue workers. */
  copyPollDelayInSeconds: number;
  /** Longest wait for the promote long-running operation. */
  promoteTimeoutInMs: number;
  /**
   * Longest wait for a storage account failover's long-running operation. Azure's disaster-recovery
   * guidance for storage says a failover typically completes within an hour; the run allows twice that.
   */
  storageFailoverTimeoutInMs: number;
  /** Poll interval of long-running ARM operations. */
  pollIntervalInMs: number;
  /** Listing page size = blobs per copy partition (queue message). */
  partitionSize: number;
  /** Concurrent Copy Blob calls per partition. */
  copyConcurrency: number;
  /** Blobs above this size use async Copy Blob instead of Copy Blob From URL (max 256 MiB). */
  largeBlobThresholdInBytes: number;
  /** Upper bound on the wait for the copy to finish before the step fails. */
  copyTimeoutInMs: number;
  /**
   * In-process workers (local stack, CLI): how long a received copy message stays invisible. A
   * worker that dies leaves its partition to reappear after this long, as the Functions host does.
   */
  copyMessageVisibilityInSeconds: number;
  /**
   * Planned runs, after the operator confirmed Kyvos stopped: the primary's WAL position must stay
   * the same over this interval to count as quiesced.
   */
  walSteadyIntervalInMs: number;
  /** Longest wait, after the confirmation, for the WAL to stay still and the replica to replay it. */
  walQuiesceTimeoutInMs: number;
  /** Longest wait for the storage secondary's `lastSyncTime` to pass the quiesce moment. */
  storageSyncTimeoutInMs: number;
  /** Interval between two readings of `lastSyncTime` while waiting for it. */
  storageSyncPollIntervalInMs: number;
}

export const DEFAULT_FAILOVER_OPTIONS: FailoverOptions = {
  stepClaimInMs: 5 * 60_000,
  copyPollDelayInSeconds: 15,
  promoteTimeoutInMs: 30 * 60_000,
  storageFailoverTimeoutInMs: 2 * 60 * 60_000,
  pollIntervalInMs: 5_000,
  partitionSize: 5_000,
  copyConcurrency: 32,
  largeBlobThresholdInBytes: 256 * 1024 * 1024,
  copyTimeoutInMs: 7 * 24 * 3600_000,
  copyMessageVisibilityInSeconds: 600,
  walSteadyIntervalInMs: 5_000,
  walQuiesceTimeoutInMs: 5 * 60_000,
  // Azure gives no bound on geo-replication lag; it is usually under 15 minutes.
  storageSyncTimeoutInMs: 60 * 60_000,
  storageSyncPollIntervalInMs: 15_000,
};

/** What a step gets: clients, the validated config, the run as it stood when the step was claimed. */
export interface StepContext {
  clients: ClientFactory;
  config: DrConfig;
  logger: Logger;
  clock: () => Date;
  store: RunStore;
  run: FailoverRun;
  options: FailoverOptions;
  /** The app's own storage account (run state, queues). */
  appStorageAccount: string;
  /** App settings (the source SAS when configuration comes from app settings). */
  settings: AppSettings;
  abortSignal?: AbortSignal;
  /** The doctor's checks that preflight's health checks run (`Deps.doctorChecks`); default: all. */
  doctorChecks?: readonly DoctorCheck[];
  /** Replaces the runbook's step functions, by name: for fast tests of the runbook's decisions only. */
  steps?: Partial<Record<StepName, (ctx: StepContext) => Promise<StepOutcome>>>;
}

/** What a step returns: its detail for the status URL; `waiting` keeps the step Running without a claim. */
export interface StepOutcome {
  detail?: Record<string, unknown>;
  /** The step is not finished but has nothing to do now (the copy while partitions are in flight). */
  waiting?: boolean;
}
