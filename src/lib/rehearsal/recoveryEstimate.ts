/** Where a figure of the recovery estimate comes from. */
type FigureSource = 'measured' | 'extrapolated' | 'earlier failover' | 'unknown';

/** One part of the time a failover would take. */
export interface RecoveryPart {
  name: string;
  seconds: number | null;
  source: FigureSource;
  detail: string;
}

/** Estimated RPO and RTO of a failover now, from measured inputs only. */
export interface RecoveryEstimate {
  /** The data a failover would lose now (the readiness's combined RPO); null when unknown. */
  rpoSeconds: number | null;
  rpoDetail: string;
  /** The sum of the parts; null while any part is unknown (then see `rtoKnownSeconds`). */
  rtoSeconds: number | null;
  /** The sum of the parts that are known: a lower bound when `rtoSeconds` is null. */
  rtoKnownSeconds: number;
  parts: RecoveryPart[];
  /** What the RTO leaves out. */
  excludes: string;
}

/**
 * Puts the RTO together from its parts, each with where it comes from: preflight (measured now), the
 * copy (extrapolated from the sample), the verification (measured: a listing of the source, as the
 * verification makes), and the promote and record steps (measured by the latest successful
 * failover of this app, when there is one; unknown otherwise, since they cannot be rehearsed
 * without promoting). Pure.
 */
export function estimateRecovery(input: {
  rpoSeconds: number | null;
  rpoDetail: string;
  parts: RecoveryPart[];
}): RecoveryEstimate {
  const known = input.parts.filter((p) => p.seconds !== null);
  const rtoKnownSeconds = known.reduce((sum, p) => sum + (p.seconds as number), 0);
  return {
    rpoSeconds: input.rpoSeconds,
    rpoDetail: input.rpoDetail,
    rtoSeconds: known.length === input.parts.length ? rtoKnownSeconds : null,
    rtoKnownSeconds,
    parts: input.parts,
    excludes:
      "a planned failover's wait for the operator to stop Kyvos and for the quiesce, and the Kyvos DR deployment after the failover",
  };
}
