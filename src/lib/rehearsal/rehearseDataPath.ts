import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import type { ListedBlob } from '../copy/ListedBlob.js';
import type { CopyDeps } from '../copy/types.js';
import { PARTITIONS_PER_INSTANCE } from '../copy/types.js';
import type { CopyVerification } from '../copy/verifyCopy.js';
import { verifyCopy } from '../copy/verifyCopy.js';
import { statusOf } from '../errors.js';
import { copyDepsFor } from '../failover/copyContext.js';
import { describeError } from '../redact.js';
import { estimateCopy } from './copyEstimate.js';
import { runningFailover } from './failoverActivity.js';
import type { RehearsalCheck, RehearsalReport, SampleCopy } from './Rehearsal.js';
import { scratchContainerOf } from './Rehearsal.js';
import type { Rehearsing } from './Rehearsing.js';
import { enterPhase, stepDeps } from './Rehearsing.js';
import type { SampleCandidates } from './sampleCandidates.js';
import { copySample, deleteSampleCheckpoints } from './sampleCopy.js';
import { selectSample } from './sampleSelection.js';
import type { ScratchCleanup } from './scratchContainer.js';
import { withScratchContainer } from './scratchContainer.js';
import type { SourceInventory } from './sourceInventory.js';
import { inventorySource } from './sourceInventory.js';

/** What the data path found: its part of the report, and whether the DR account exists. */
export interface RehearsedDataPath {
  report: Pick<RehearsalReport, 'source' | 'sample' | 'copy' | 'verification' | 'estimate' | 'cleanup'>;
  drAccountExists: boolean;
}

/** The data path: the whole source listed, a sample copied to a scratch container and verified. */
export async function rehearseDataPath(ctx: Rehearsing): Promise<RehearsedDataPath> {
  const { runtime, config } = ctx;
  const { options: failover } = runtime;
  const listed = await listSource(ctx);
  if (!listed) return { report: {}, drAccountExists: true };
  const { copyDeps, source, candidates } = listed;
  await enterPhase(ctx, 'copy');
  const drAccount = await drAccountState(runtime.deps.clients, config, ctx.abort);
  if (drAccount !== 'exists') {
    ctx.checks.push({
      id: 'copy.sample',
      outcome: drAccount === 'missing' ? 'warn' : 'fail',
      detail:
        drAccount === 'missing'
          ? `the DR storage account "${config.dr.storageAccount}" does not exist yet (the failover's storage.ensureAccount step creates it), and a rehearsal changes nothing on the DR side, so the copy was not rehearsed; pre-provision it (infra/dr-storage-account.json) to rehearse the copy and measure its throughput`
          : `the DR storage account "${config.dr.storageAccount}" cannot be read: ${drAccount.error}`,
    });
    return { report: { source }, drAccountExists: drAccount !== 'missing' };
  }
  const sample = selectSample(candidates, ctx.record.request.sample);
  const { blobs: _sampled, ...sampleFigures } = sample;
  if (sample.blobs.length === 0) {
    ctx.checks.push({ id: 'copy.sample', outcome: 'skipped', detail: 'the source holds no blob to copy' });
    return { report: { source, sample: sampleFigures }, drAccountExists: true };
  }
  const running = await runningFailover(runtime.runs, runtime.deps.clock());
  if (running) {
    ctx.checks.push({
      id: 'copy.sample',
      outcome: 'fail',
      detail: `a failover started during the rehearsal (run ${running}); the sample was not copied`,
    });
    return { report: { source, sample: sampleFigures }, drAccountExists: true };
  }
  const container = scratchContainerOf(ctx.record.rehearsalId);
  const { result, cleanup } = await copyAndVerifyInScratch(ctx, copyDeps, sample.blobs, container);
  ctx.options.abortSignal?.throwIfAborted();
  ctx.checks.push(...scratchChecks(config.dr.storageAccount, cleanup, result, sample.blobs.length));
  if (!result.ok) return { report: { source, sample: sampleFigures, cleanup }, drAccountExists: true };
  const { copy, verification } = result.value;
  const estimate = estimateCopy(
    source,
    { blobs: copy.blobsCopied, bytes: copy.bytesCopied, seconds: copy.seconds },
    {
      copyConcurrency: failover.copyConcurrency,
      partitionsPerInstance: PARTITIONS_PER_INSTANCE,
      instances: ctx.record.request.instances,
    },
  );
  return {
    report: { source, sample: sampleFigures, copy, verification, ...(estimate ? { estimate } : {}), cleanup },
    drAccountExists: true,
  };
}

/** Whether the DR storage account exists (ARM), without creating it. */
async function drAccountState(
  clients: ClientFactory,
  config: DrConfig,
  abort: { abortSignal?: AbortSignal },
): Promise<'exists' | 'missing' | { error: string }> {
  try {
    await clients
      .storageManagement(config.subscriptionId)
      .storageAccounts.getProperties(config.dr.resourceGroup, config.dr.storageAccount, abort);
    return 'exists';
  } catch (error) {
    return statusOf(error) === 404 ? 'missing' : { error: describeError(error) };
  }
}

/** The whole source listed with the copy's access; undefined, with the failed check, when it cannot be. */
async function listSource(
  ctx: Rehearsing,
): Promise<{ copyDeps: CopyDeps; source: SourceInventory; candidates: SampleCandidates } | undefined> {
  const failover = ctx.runtime.options;
  let copyDeps: CopyDeps;
  try {
    copyDeps = await copyDepsFor(stepDeps(ctx));
  } catch (error) {
    ctx.checks.push({ id: 'source.access', outcome: 'fail', detail: describeError(error) });
    return undefined;
  }
  let listed: Awaited<ReturnType<typeof inventorySource>>;
  try {
    listed = await inventorySource(copyDeps, {
      partitionSize: failover.partitionSize,
      largeBlobThresholdInBytes: failover.largeBlobThresholdInBytes,
      candidates: ctx.record.request.sample.maxBlobs,
      ...(ctx.options.random ? { random: ctx.options.random } : {}),
      now: ctx.now,
      ...ctx.abort,
    });
  } catch (error) {
    ctx.options.abortSignal?.throwIfAborted();
    ctx.checks.push({ id: 'source.listing', outcome: 'fail', detail: describeError(error) });
    return undefined;
  }
  const { inventory: source, candidates } = listed;
  ctx.checks.push({
    id: 'source.listing',
    outcome: 'pass',
    detail: `${source.blobs} blobs, ${source.bytes} bytes listed through ${source.endpoint} in ${source.listingSeconds.toFixed(1)} s`,
  });
  return { copyDeps, source, candidates };
}

/**
 * The sample copied with the copy engine into the scratch container, then verified, the container
 * deleted whatever happened (`withScratchContainer`), and the copy's checkpoints deleted.
 */
async function copyAndVerifyInScratch(
  ctx: Rehearsing,
  copyDeps: CopyDeps,
  blobs: ListedBlob[],
  container: string,
) {
  const { runtime, config } = ctx;
  const failover = runtime.options;
  const scratch: CopyDeps = { ...copyDeps, destination: { account: config.dr.storageAccount, container } };
  const outcome = await withScratchContainer(
    runtime.deps.clients.blobService(config.dr.storageAccount).getContainerClient(container),
    async () => {
      const copy = await copySample(scratch, blobs, {
        rehearsalId: ctx.record.rehearsalId,
        partitions: PARTITIONS_PER_INSTANCE,
        copyConcurrency: failover.copyConcurrency,
        largeBlobThresholdInBytes: failover.largeBlobThresholdInBytes,
        now: ctx.now,
        ...ctx.abort,
      });
      await enterPhase(ctx, 'verify');
      const verification = await verifyCopy(
        {
          clients: scratch.clients,
          source: scratch.source,
          destination: scratch.destination,
          logger: runtime.deps.logger,
          ...(scratch.accessControl ? { accessControl: true } : {}),
        },
        { sourceBlobs: blobs, ...ctx.abort },
      );
      return { copy, verification };
    },
    ctx.abort,
  );
  await deleteSampleCheckpoints(runtime.runs.documents, ctx.record.rehearsalId).catch((error: unknown) =>
    runtime.deps.logger.warn('rehearsal.checkpoints_not_deleted', {
      rehearsalId: ctx.record.rehearsalId,
      reason: describeError(error),
    }),
  );
  return outcome;
}

/**
 * The checks of the scratch copy: the container deleted (a container left behind is a problem,
 * named with the command that deletes it), every sampled blob copied, and the copies equal to their
 * source.
 */
export function scratchChecks(
  account: string,
  cleanup: ScratchCleanup,
  result:
    | { ok: true; value: { copy: SampleCopy; verification: CopyVerification } }
    | { ok: false; error: unknown },
  sampled: number,
): RehearsalCheck[] {
  const { container } = cleanup;
  const checks: RehearsalCheck[] = [
    cleanup.deleted
      ? {
          id: 'cleanup.scratchContainer',
          outcome: 'pass',
          detail: `the scratch container "${container}" was deleted`,
        }
      : {
          id: 'cleanup.scratchContainer',
          outcome: 'fail',
          detail: `the scratch container "${container}" of ${account} could not be deleted (${cleanup.error}): delete it by hand (az storage container delete --account-name ${account} --name ${container} --auth-mode login)`,
        },
  ];
  if (!result.ok)
    return [...checks, { id: 'copy.sample', outcome: 'fail', detail: describeError(result.error) }];
  const { copy, verification } = result.value;
  const firstFive = (items: Array<{ name: string; reason: string }>) =>
    items
      .slice(0, 5)
      .map((item) => `${item.name}: ${item.reason}`)
      .join('; ');
  checks.push(
    copy.blobsFailed > 0
      ? {
          id: 'copy.sample',
          outcome: 'fail',
          detail: `${copy.blobsFailed} of ${sampled} sampled blobs could not be copied: ${firstFive(copy.failures)}`,
        }
      : {
          id: 'copy.sample',
          outcome: 'pass',
          detail: `${copy.blobsCopied} blobs, ${copy.bytesCopied} bytes copied server-side in ${copy.seconds.toFixed(1)} s`,
        },
    verification.ok
      ? {
          id: 'copy.verify',
          outcome: 'pass',
          detail: `${verification.matched} sampled blobs match their source`,
        }
      : {
          id: 'copy.verify',
          outcome: 'fail',
          detail: `${verification.missingCount} missing, ${verification.mismatchedCount} mismatched: ${firstFive(verification.mismatched)}`,
        },
  );
  return checks;
}
