import type { RehearsalRecord } from './Rehearsal.js';

/** A rehearsal in a few figures: a row of the history (`GET /api/rehearsal`, `kyvos-dr rehearsals`). */
export interface RehearsalSummary {
  rehearsalId: string;
  state: RehearsalRecord['state'];
  requestedBy: string;
  requestedAt: string;
  endedAt: string | null;
  problems: string[];
  sourceBlobs: number | null;
  sourceBytes: number | null;
  sampleBlobs: number | null;
  bytesPerSecond: number | null;
  blobsPerSecond: number | null;
  copySeconds: number | null;
  rpoSeconds: number | null;
  rtoSeconds: number | null;
  /** The known part of the RTO: a lower bound while `rtoSeconds` is null. */
  rtoKnownSeconds: number | null;
}

export function rehearsalSummary(record: RehearsalRecord): RehearsalSummary {
  const report = record.report;
  return {
    rehearsalId: record.rehearsalId,
    state: record.state,
    requestedBy: record.request.requestedBy,
    requestedAt: record.requestedAt,
    endedAt: record.endedAt ?? null,
    problems: record.problems,
    sourceBlobs: report?.source?.blobs ?? null,
    sourceBytes: report?.source?.bytes ?? null,
    sampleBlobs: report?.copy?.blobsCopied ?? null,
    bytesPerSecond: report?.estimate?.bytesPerSecond ?? null,
    blobsPerSecond: report?.estimate?.blobsPerSecond ?? null,
    copySeconds: report?.estimate?.copySeconds ?? null,
    rpoSeconds: report?.recovery.rpoSeconds ?? null,
    rtoSeconds: report?.recovery.rtoSeconds ?? null,
    rtoKnownSeconds: report?.recovery.rtoKnownSeconds ?? null,
  };
}
