import type { Readiness } from '../health/readiness.js';
import { latestFailoverTimings } from './failoverActivity.js';
import type { Rehearsing } from './Rehearsing.js';
import { estimateRecovery, type RecoveryPart } from './recoveryEstimate.js';
import type { RehearsedDataPath } from './rehearseDataPath.js';

/**
 * RPO and RTO now: measured parts, the extrapolated copy, and the latest failover's promote, fence
 * and record steps.
 */
export async function rehearsedRecovery(
  ctx: Rehearsing,
  readiness: Readiness,
  preflightSeconds: number,
  data: RehearsedDataPath,
) {
  const timings = await latestFailoverTimings(
    ctx.runtime.runs,
    ['database.promote', 'database.fence', 'record'],
    ctx.abort,
  );
  const fromHistory = (
    step: 'database.promote' | 'database.fence' | 'record',
    what: string,
  ): RecoveryPart => {
    const seconds = timings?.seconds[step];
    return seconds !== undefined && timings
      ? {
          name: step,
          seconds,
          source: 'earlier failover',
          detail: `${what}, as long as in failover run ${timings.runId}`,
        }
      : {
          name: step,
          seconds: null,
          source: 'unknown',
          detail: `${what}: cannot be rehearsed without promoting, and no failover of this app has succeeded yet`,
        };
  };
  const { source, estimate } = data.report;
  const parts: RecoveryPart[] = [
    {
      name: 'preflight',
      seconds: preflightSeconds,
      source: 'measured',
      detail: 'the health checks and the go/no-go, as just run',
    },
    ...(data.drAccountExists
      ? []
      : [
          {
            name: 'storage.ensureAccount',
            seconds: null,
            source: 'unknown' as const,
            detail: 'the DR storage account is created by the failover; not rehearsed',
          },
        ]),
    estimate
      ? {
          name: 'storage.copy',
          seconds: estimate.copySeconds,
          source: 'extrapolated',
          detail: estimate.model,
        }
      : {
          name: 'storage.copy',
          seconds: null,
          source: 'unknown',
          detail: 'the sample was not copied, so the copy was not measured',
        },
    fromHistory('database.promote', 'the promote of the replica'),
    fromHistory('database.fence', 'the stop of the old primary'),
    fromHistory('record', 'the Key Vault writes of the new names'),
    source
      ? {
          name: 'verify',
          seconds: source.listingSeconds,
          source: 'measured',
          detail:
            'the verification lists the source and the DR container side by side: one listing of the source, as just measured',
        }
      : { name: 'verify', seconds: null, source: 'unknown', detail: 'the source could not be listed' },
  ];
  return estimateRecovery({
    rpoSeconds: readiness.rpoSeconds,
    rpoDetail: readiness.rpoExplanation.join('; '),
    parts,
  });
}
