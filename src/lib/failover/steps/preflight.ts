import { describeConfigOrigin, isVaultUnreachable } from '../../config/ConfigSource.js';
import { ACTIVE_SECRETS } from '../../config/secretNames.js';
import { listBlobPage } from '../../copy/blobListing.js';
import { copyScopeOf, countBlobsOutsideScope } from '../../copy/copyScope.js';
import { planPartitions } from '../../copy/planPartitions.js';
import { PreconditionFailed } from '../../errors.js';
import { type Readiness, storageLastSyncTimeOf } from '../../health/readiness.js';
import { checkReadinessNow } from '../../health/readinessNow.js';
import { describeError } from '../../redact.js';
import { RehearsalStore } from '../../rehearsal/RehearsalStore.js';
import { assessStorageStrategies } from '../../report/storageStrategies.js';
import { copyDepsFor } from '../copyContext.js';
import type { FailoverDecision } from '../FailoverRun.js';
import { keyVaultUnreadable, proveRunCanFinish, refusalOf } from '../runCanFinish.js';
import { promotedInRunHistory } from '../runHistory.js';
import type { StepContext, StepOutcome } from '../StepContext.js';
import { NO_FAILOVER_RECORDED, type RecordedFailover, readRecordedFailover } from './record.js';

/**
 * Checks configuration and health now, and takes the go/no-go decision.
 *
 * Both health checks run afresh (and are recorded in the history like the timer's). A planned
 * failover is refused, with the reasons, unless the replica is eligible for a planned promote
 * (Active, Ready, lag and storage RPO within their thresholds). Those thresholds only say that both
 * copies keep up: the copy reads the storage secondary, which lacks every write after its
 * `lastSyncTime`, and the replica lacks what it has not replayed. A planned run loses no
 * acknowledged write because of the `quiesce` step that follows (Kyvos stopped and confirmed, the
 * WAL still and replayed, the secondary synced past that moment), not because of this gate. A
 * forced failover proceeds and records the data it may lose. A dry run records the verdict
 * either way and lists the source to give the plan; it changes nothing.
 *
 * Whatever the mode, the run is refused while a promote prerequisite that Azure enforces even for a
 * forced promote does not hold (server symmetry outside a regional outage, a switchover's virtual
 * endpoint: `promotePrerequisites.ts`), naming the fix.
 *
 * Whatever the mode, the run is refused, before anything is changed, unless it has proved that it
 * can finish: Key Vault can be read, and the copy can list and read its source through the
 * `-secondary` endpoint with the access it will use (`proveRunCanFinish`); with the account
 * failover strategy instead, the account can fail over (geo-redundant SKU, `canFailover`, the
 * identity's failover action), and the failover type is decided (`judgeAccountFailover`) and
 * recorded in the decision, with the storage RPO from `lastSyncTime` as for the copy. The run's
 * strategy (the request's, else the configuration's) is recorded in the run. The irreversible steps
 * (promote, fence, the record step's Key Vault writes) run only after this step and
 * `storage.ensureAccount` have succeeded (runbook.ts).
 */
export async function preflight(ctx: StepContext): Promise<StepOutcome> {
  const { run } = ctx;
  const vaultWarnings: string[] = [];
  const earlier = await completedFailover(ctx, run.runId).catch(async (error: unknown) => {
    if (!isVaultUnreachable(error)) {
      throw keyVaultUnreadable(ctx.config.keyVault?.name ?? 'of the configuration', error);
    }
    // The vault cannot be reached at all (a region without Key Vault failover, or one failing over):
    // the app's own run history stands in for its record of an earlier failover.
    vaultWarnings.push(keyVaultUnreachableWarning(ctx, error));
    return promotedInRunHistory(ctx.store, ctx.config, run.runId, abortOf(ctx));
  });
  if (earlier && !run.request.dryRun) {
    throw new PreconditionFailed(
      `This DR pair has already failed over (run ${earlier.runId}${earlier.at ? ` at ${earlier.at}` : ''}): ${ctx.config.dr.storageAccount} and ${ctx.config.dr.replicaServer} are the primary now, and another failover would copy the old secondary over them. Build a new DR pair, update the configuration secrets, and set the secret ${ACTIVE_SECRETS.lastFailoverRunId} to "${NO_FAILOVER_RECORDED}" before the next failover (overwrite it: do not delete it, since a deleted secret's name stays soft-deleted and the next failover could not record itself).`,
      [`an earlier failover (run ${earlier.runId}) made the DR side the primary`],
    );
  }
  const readiness = await checkReadinessNow(ctx, ctx.config, abortOf(ctx));
  const decision = decisionOf(readiness, run.request.mode, ctx.clock());
  // The run's strategy is recorded with the decision: the runbook takes its storage steps from it.
  const strategy = run.request.strategy ?? ctx.config.storageStrategy;
  await ctx.store.update(run.runId, (r) => {
    r.decision = decision;
    r.request.strategy = strategy;
    return true;
  });
  // Before anything irreversible may run: the copy must be able to read its source, or the account
  // must be able to fail over (runCanFinish.ts).
  const runCanFinish = await proveRunCanFinish(ctx, { strategy, mode: run.request.mode });
  const accountFailover = runCanFinish.canFinish ? runCanFinish.accountFailover : undefined;
  if (accountFailover) {
    decision.accountFailover = {
      failoverType: accountFailover.failoverType,
      reason: accountFailover.failoverTypeReason,
      skuBefore: accountFailover.sku,
    };
    await ctx.store.update(run.runId, (r) => {
      r.decision = decision;
      return true;
    });
  }
  const allWarnings = [...vaultWarnings, ...(runCanFinish.warnings ?? [])];
  for (const warning of allWarnings) {
    ctx.logger.warn('failover.preflight.warning', { runId: run.runId, warning });
  }
  const warnings = allWarnings.length > 0 ? { warnings: allWarnings } : {};
  const configuration = describeConfigOrigin(ctx.config);
  const refusal = refusalOf(run.request, readiness, runCanFinish);
  // A dry run reports an ineligible planned run as its verdict, but cannot plan a copy it cannot list.
  if (refusal && (!run.request.dryRun || !runCanFinish.canFinish)) throw refusal;
  const sourceAccess = runCanFinish.canFinish ? runCanFinish.sourceAccess : undefined;
  const verdict = earlier
    ? `refuse (this DR pair already failed over in run ${earlier.runId})`
    : run.request.mode === 'forced'
      ? readiness.forcedPromoteBlockers.length > 0
        ? 'refuse (forced: Azure would refuse the promote, its prerequisites do not hold)'
        : 'proceed (forced)'
      : readiness.eligibleForPlannedPromote
        ? 'proceed (planned: no data loss once Kyvos is stopped and the quiesce is confirmed)'
        : 'refuse (planned failover would not be safe)';

  if (run.request.dryRun) {
    const plan = await dryRunPlan(ctx);
    const report = {
      dryRun: true,
      mode: run.request.mode,
      verdict,
      decision,
      storageStrategies: await dryRunStorageStrategies(ctx, decision),
      plan: {
        ...plan,
        source: `${ctx.config.primary.storageAccount}-secondary/${ctx.config.primary.container}`,
        destination: `${ctx.config.dr.storageAccount}/${ctx.config.dr.container}`,
        serverToPromote: ctx.config.dr.replicaServer,
        promote: { promoteMode: ctx.config.promoteMode, promoteOption: promoteOptionOf(run.request.mode) },
        oldPrimary: ctx.config.primary.postgresServer,
      },
    };
    await ctx.store.update(run.runId, (r) => {
      r.report = report;
      r.progress.blobsListed = plan.blobs;
      r.progress.bytesListed = plan.bytes;
      r.progress.partitionsListed = plan.partitions;
      r.progress.listingComplete = true;
      return true;
    });
    return { detail: { verdict, dryRun: true, configuration, sourceAccess, ...warnings, ...plan } };
  }

  return {
    detail: {
      verdict,
      configuration,
      sourceAccess,
      readiness: readiness.status,
      rpoSeconds: readiness.rpoSeconds,
      eligibleForPlannedPromote: readiness.eligibleForPlannedPromote,
      strategy,
      ...(accountFailover ? { accountFailover: decision.accountFailover } : {}),
      ...(strategy === 'accountFailover' ? await listSample(ctx) : {}),
      ...warnings,
    },
  };
}

/** How many blobs preflight lists, with the account failover strategy, for verify to find after it. */
const VERIFY_SAMPLE_SIZE = 20;

/**
 * The first blobs of the source container (through the `-secondary` endpoint, readable during a
 * primary outage), name and size, listed before the failover: verify finds them in the failed-over
 * account. Blobs written after the secondary's last sync may be absent from both.
 */
async function listSample(
  ctx: StepContext,
): Promise<{ sample: Array<{ name: string; size: number }> } | { sampleProblem: string }> {
  try {
    return { sample: await listFirstBlobs(ctx) };
  } catch (error) {
    // No source SAS is needed by the account failover itself: without one, verify has no sample.
    return { sampleProblem: `no sample listed for verify: ${describeError(error)}` };
  }
}

async function listFirstBlobs(ctx: StepContext): Promise<Array<{ name: string; size: number }>> {
  const deps = await copyDepsFor(ctx);
  const { blobs } = await listBlobPage(deps.source.listable(), deps.source.prefix, {
    pageSize: VERIFY_SAMPLE_SIZE,
    ...abortOf(ctx),
  });
  const sample = blobs
    .filter((blob) => !blob.isDirectoryStub)
    .map((blob) => ({ name: blob.name, size: blob.contentLength }));
  return sample;
}

/**
 * Key Vault could not be reached for the record of an earlier failover: the run goes on, but its
 * record step cannot write the new names until the vault takes writes again.
 */
function keyVaultUnreachableWarning(ctx: Pick<StepContext, 'config' | 'run'>, error: unknown): string {
  const vault = ctx.config.keyVault?.name ?? 'of the configuration';
  return `Key Vault ${vault} could not be reached (${describeError(error)}); the configuration came from ${describeConfigOrigin(ctx.config)}, and the record of an earlier failover was looked up in this app's run history instead. The record step will fail until the vault takes writes: then resume this run (kyvos-dr retry ${ctx.run.runId}), or set the names it reports by hand.`;
}

function abortOf(ctx: Pick<StepContext, 'abortSignal'>): { abortSignal?: AbortSignal } {
  return ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {};
}

/**
 * The completed failover recorded in Key Vault by an earlier run, if any. Its presence means the
 * configured DR side is the primary now: failing over "again" would overwrite live data.
 */
export async function completedFailover(
  ctx: Pick<StepContext, 'config' | 'clients' | 'store'>,
  runId: string,
): Promise<RecordedFailover | undefined> {
  const recorded = await readRecordedFailover(ctx.config, ctx.clients);
  if (!recorded || recorded.runId === runId) return undefined;
  // A run that failed after recording the names (at verify, say) is being retried: allow that.
  // One this app has no record of is treated as completed, the safe side.
  const earlierRun = await ctx.store.get(recorded.runId);
  if (earlierRun && earlierRun.state !== 'Succeeded') return undefined;
  return recorded;
}

export function promoteOptionOf(mode: 'planned' | 'forced'): 'Planned' | 'Forced' {
  return mode === 'planned' ? 'Planned' : 'Forced';
}

function decisionOf(readiness: Readiness, mode: 'planned' | 'forced', now: Date): FailoverDecision {
  const replicaFacts = readiness.replica?.report.facts ?? {};
  const numberFact = (key: string): number | null => {
    const v = replicaFacts[key];
    return typeof v === 'number' ? v : null;
  };
  const decision: FailoverDecision = {
    decidedAt: now.toISOString(),
    readiness: readiness.status,
    rpoSeconds: readiness.rpoSeconds,
    storageRpoSeconds: readiness.storageRpoSeconds,
    storageLastSyncTime: storageLastSyncTimeOf(readiness),
    databaseLagSeconds: readiness.databaseRpoSeconds,
    databaseLagBytes: numberFact('lagBytes'),
    eligibleForPlannedPromote: readiness.eligibleForPlannedPromote,
    reasons: [...readiness.eligibilityReasons, ...readiness.reasons, ...readiness.rpoExplanation],
  };
  if (mode === 'forced') {
    const parts: string[] = [];
    parts.push(
      readiness.storageRpoSeconds !== null
        ? `storage writes of the last ${readiness.storageRpoSeconds} s (since the secondary's last sync${decision.storageLastSyncTime ? ` at ${decision.storageLastSyncTime}` : ''})`
        : 'storage: unknown (no last sync time could be read)',
    );
    parts.push(
      readiness.databaseRpoSeconds !== null
        ? `database changes of the last ${readiness.databaseRpoSeconds} s not yet replayed on the replica`
        : 'database: unknown (the replica lag could not be measured)',
    );
    decision.estimatedDataLoss = `Up to: ${parts.join('; ')}.`;
  }
  return decision;
}

/**
 * Both storage strategies, as the dry run can judge them: it measures no copy, so the copy's figure
 * is the latest rehearsal's, or unknown.
 */
async function dryRunStorageStrategies(ctx: StepContext, decision: FailoverDecision) {
  const rehearsals = new RehearsalStore(ctx.store.documents);
  return assessStorageStrategies({
    config: ctx.config,
    storageRpoSeconds: decision.storageRpoSeconds,
    storageLastSyncTime: decision.storageLastSyncTime ?? null,
    copy: await rehearsals.latestCopyEstimate(abortOf(ctx)),
  });
}

async function dryRunPlan(ctx: StepContext) {
  const deps = await copyDepsFor(ctx);
  const scope = copyScopeOf(deps.source.prefix);
  const plan = {
    scope: scope.description,
    blobsOutsideScope: await countBlobsOutsideScope(deps.source.listable(), scope, {
      ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
    }),
    partitions: 0,
    blobs: 0,
    bytes: 0,
    largeBlobs: 0,
    directoryStubs: 0,
  };
  for await (const planned of planPartitions(deps, ctx.run.runId, {
    pageSize: ctx.options.partitionSize,
    largeBlobThresholdInBytes: ctx.options.largeBlobThresholdInBytes,
    ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
  })) {
    plan.partitions += 1;
    plan.blobs += planned.blobCount;
    plan.bytes += planned.bytes;
    plan.largeBlobs += planned.largeBlobCount;
    plan.directoryStubs += planned.directoryStubCount;
  }
  return plan;
}
