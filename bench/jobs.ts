/**
 * What the benchmark asks of a copy child process, and what it answers. Every copy the benchmark
 * times runs in a child of its own (`copyRunner.ts`), so that its peak RSS is the copy's alone (the
 * storage front and the control-plane emulator stay in the parent, Azurite in its own process), and
 * so that the resume measurement can kill it with SIGKILL, as a crash would.
 *
 * Messages travel over the fork's IPC channel. The source SAS travels in the job message only: never
 * in argv or the environment, where `ps` would show it.
 */
import type { EngineCopyResult, EngineSettings } from './engineCopy.js';

/** The copy source, as the failover reads it: a container through the RA-GRS secondary endpoint. */
export interface SourceSpec {
  account: string;
  container: string;
  /** Subtree to copy (the engine work directory). */
  prefix: string;
  /** Source SAS query string (read, list), from the stack's Key Vault. */
  sas: string;
}

export interface DestinationSpec {
  account: string;
  container: string;
}

interface JobBase {
  /** The local stack descriptor file (`LocalStack.descriptorPath`). */
  descriptorPath: string;
  source: SourceSpec;
}

/** (a) The copy engine end to end: plan, queue, copy with checkpoints, verify. */
export interface EngineJob extends JobBase {
  kind: 'engine';
  destination: DestinationSpec;
  runId: string;
  settings: EngineSettings;
  /** kyvos-dr's own storage account: checkpoints (`kyvos-dr` container) and the partition queue. */
  appStorageAccount: string;
  /** Send a `progress` message every this many blobs done (the resume measurement watches them). */
  progressEvery?: number;
  /** Return the names of the blobs this run copied (not skipped), to prove what a resume copied again. */
  recordCopiedNames?: boolean;
}

/** (b) One Copy Blob From URL at a time, over the listing. */
interface NaiveJob extends JobBase {
  kind: 'naive';
  destination: DestinationSpec;
  /** Stop after this many blobs of the listing (0: all). */
  maxBlobs: number;
}

/** (c) Bare concurrent Copy Blob From URL loops over a name list built before the clock starts. */
interface BareLoopJob extends JobBase {
  kind: 'bare';
  runs: Array<{
    concurrency: number;
    /** The first this many blobs of the listing (0: all). */
    maxBlobs: number;
    destination: DestinationSpec;
    /**
     * After the copy, list the source and this run's destination once each, as the engine lists
     * (`listBlobPages`, pages of 5,000), and time both: what one listing costs on this stack.
     */
    timeListings?: boolean;
  }>;
}

export type CopyJob = EngineJob | NaiveJob | BareLoopJob;

/** A timed copy: what was copied, and how long it took. */
export interface TimedCopy {
  blobs: number;
  bytes: number;
  durationInMs: number;
}

export interface BareLoopRun extends TimedCopy {
  concurrency: number;
  /** Calls sent again after an error. */
  retries: number;
  /** With `timeListings`: one listing of each side after the copy, as the engine lists. */
  listings?: { source: TimedListing; destination: TimedListing };
}

/** One whole listing of a subtree, page after page. */
export interface TimedListing {
  blobs: number;
  pages: number;
  durationInMs: number;
}

export type JobResult =
  | { kind: 'engine'; engine: EngineCopyResult; copiedNames?: string[] }
  | { kind: 'naive'; copy: TimedCopy }
  | { kind: 'bare'; runs: BareLoopRun[] };

/** The child's memory over the job. RSS of the child only: Azurite and the storage front run elsewhere. */
export interface ChildMemory {
  /** RSS once the child had loaded its code and built its clients, before the job. */
  baselineRssBytes: number;
  /** Highest RSS sampled every 50 ms during the job. */
  peakSampledRssBytes: number;
  /** `process.resourceUsage().maxRSS`: the kernel's high-water mark over the child's life. */
  maxRssBytes: number;
  peakHeapUsedBytes: number;
  /**
   * Highest heap in use just after a mark-compact (major GC) during the job: the nearest measure of
   * what the process keeps alive. 0 when no major GC ran.
   */
  peakHeapAfterMajorGcBytes: number;
  /** Mark-compacts during the job. */
  majorGcs: number;
  /** Highest sampled RSS and heap in each phase of an engine copy (`copy`: planning and copying; `verify`). */
  phases: Record<string, { peakRssBytes: number; peakHeapUsedBytes: number }>;
}

/** Log lines of the engine in the child, by event, for warnings and errors (retries, failed blobs). */
export type LogCounts = Record<string, number>;

export type ChildMessage =
  | { type: 'started' }
  | { type: 'progress'; blobsDone: number }
  | { type: 'result'; result: JobResult; memory: ChildMemory; warnings: LogCounts }
  | { type: 'error'; message: string };
