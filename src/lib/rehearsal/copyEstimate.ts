/** What the sample's copy measured: blobs and bytes written, and the wall time it took. */
export interface MeasuredCopy {
  blobs: number;
  bytes: number;
  seconds: number;
}

/** The scale the failover's copy runs at, as configured. */
export interface CopyScale {
  /** Copy calls in flight per partition (`FailoverOptions.copyConcurrency`). */
  copyConcurrency: number;
  /** Partitions one instance copies at once (`PARTITIONS_PER_INSTANCE`, host.json). */
  partitionsPerInstance: number;
  /** Function instances the copy is assumed to spread over (at most the Function app's `maximumInstanceCount`). */
  instances: number;
}

/** The copy time of the whole source, extrapolated from the sample. */
export interface CopyEstimate {
  /** Measured on the sample, at one instance's concurrency. */
  blobsPerSecond: number;
  bytesPerSecond: number;
  /** Instances the copy can use: no more than there are groups of `partitionsPerInstance` partitions. */
  instancesUsed: number;
  /** The copy of the whole source, in seconds: an estimate. */
  copySeconds: number;
  /** The model, in a sentence, with its figures. */
  model: string;
}

/**
 * Extrapolates the copy of the whole source from the sample's copy, which ran at one instance's
 * concurrency (`partitionsPerInstance` partitions of `copyConcurrency` calls each):
 *
 *   one instance: max(sourceBlobs / blobsPerSecond, sourceBytes / bytesPerSecond)
 *   copy:         max(listingSeconds, one instance / instancesUsed)
 *
 * Both rates are the sample's: the blob rate carries the per-call cost (latency-bound small blobs),
 * the byte rate the bandwidth (large blobs). The sample over-represents large blobs and directory
 * stubs, so each rate alone is pessimistic for the other kind, and the larger of the two times
 * leans to an upper bound. Instances are assumed to scale linearly (the Flex Consumption plan adds
 * them as the copy queue grows; the RA-GRS secondary may throttle first), and the copy cannot end
 * before the source is listed (the failover lists once, measured by the rehearsal's own listing).
 * Undefined when nothing was measured (no blob copied, or no time elapsed).
 */
export function estimateCopy(
  source: { blobs: number; bytes: number; partitions: number; listingSeconds: number },
  measured: MeasuredCopy,
  scale: CopyScale,
): CopyEstimate | undefined {
  if (measured.blobs <= 0 || measured.seconds <= 0) return undefined;
  const blobsPerSecond = measured.blobs / measured.seconds;
  const bytesPerSecond = measured.bytes / measured.seconds;
  const perInstance = Math.max(
    source.blobs / blobsPerSecond,
    bytesPerSecond > 0 ? source.bytes / bytesPerSecond : 0,
  );
  const groups = Math.ceil(source.partitions / Math.max(1, scale.partitionsPerInstance));
  const instancesUsed = Math.max(1, Math.min(Math.floor(scale.instances), groups));
  const copySeconds = Math.max(source.listingSeconds, perInstance / instancesUsed);
  const model = `max(listing ${round(source.listingSeconds)} s, max(${source.blobs} blobs / ${round(blobsPerSecond)} blobs/s, ${source.bytes} bytes / ${Math.round(bytesPerSecond)} bytes/s) / ${instancesUsed} instance(s)); rates measured on the sample at ${scale.partitionsPerInstance} partitions x ${scale.copyConcurrency} copy calls (one instance), instances assumed to scale linearly`;
  return { blobsPerSecond, bytesPerSecond, instancesUsed, copySeconds, model };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
