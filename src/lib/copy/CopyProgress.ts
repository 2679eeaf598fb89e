import type { PlannedPartition } from './planPartitions.js';

/** What became of one blob. `skipped`: already identical at the destination (resume). */
export type BlobOutcome = 'copied' | 'skipped' | 'failed';

/** One blob done, reported as it happens (for a progress bar or the run's status). */
export interface CopyProgressEvent {
  runId: string;
  partitionIndex: number;
  blobName: string;
  outcome: BlobOutcome;
  bytes: number;
}

/**
 * Called for every blob done. If it throws, the partition stops as a crashed worker would (its
 * checkpoint stays `started`) and `copyPartition` rejects with that error.
 */
export type CopyProgressCallback = (event: CopyProgressEvent) => void;

export interface CopyProgressSnapshot {
  /** Listed so far by the planner: the denominator, which grows while the listing runs. */
  blobsListed: number;
  bytesListed: number;
  blobsDone: number;
  bytesDone: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsFailed: number;
}

/**
 * Totals for "blobs and bytes done of those listed so far". Feed it the planner's partitions and
 * the copy's progress events; read `snapshot()` whenever the display refreshes.
 */
export class CopyProgress {
  private totals: CopyProgressSnapshot = {
    blobsListed: 0,
    bytesListed: 0,
    blobsDone: 0,
    bytesDone: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsFailed: 0,
  };

  readonly onPlanned = (planned: PlannedPartition): void => {
    this.totals.blobsListed += planned.blobCount;
    this.totals.bytesListed += planned.bytes;
  };

  readonly onBlob: CopyProgressCallback = (event) => {
    this.totals.blobsDone += 1;
    this.totals.bytesDone += event.outcome === 'failed' ? 0 : event.bytes;
    if (event.outcome === 'copied') this.totals.blobsCopied += 1;
    else if (event.outcome === 'skipped') this.totals.blobsSkipped += 1;
    else this.totals.blobsFailed += 1;
  };

  snapshot(): CopyProgressSnapshot {
    return { ...this.totals };
  }
}
