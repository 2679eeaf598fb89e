import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerClient } from '@azure/storage-blob';
import { BlobCheckpointStore } from '../src/lib/copy/BlobCheckpointStore.js';
import type { PartitionStatus } from '../src/lib/copy/CheckpointStore.js';
import { STATE_CONTAINER } from '../src/lib/failover/RunStore.js';
import {
  type BenchContext,
  deleteContainer,
  destinationFor,
  loadAverage,
  type Rate,
  rateOf,
  round,
  sourceFor,
} from './BenchContext.js';
import { runCopyJob, runCopyJobUntilKilled } from './childProcess.js';
import type { Corpus } from './corpus.js';
import { type EngineCopyResult, type EngineSettings, failoverEngineSettings } from './engineCopy.js';
import type { EngineJob } from './jobs.js';
import type { EngineRun } from './throughput.js';

export interface ResumeFigures {
  /** The failover's defaults, with which the engine copied, was killed and resumed. */
  settings: EngineSettings;
  corpusBlobs: number;
  /** The child was killed with SIGKILL once it reported this many blobs done. */
  killAfterBlobs: number;
  killedAtBlobs: number;
  killedAfterSeconds: number;
  /** What the first attempt left behind, read after the kill. */
  atKill: {
    /** Blobs at the destination identical to their source (size and Content-MD5, or both empty). */
    completeBlobs: number;
    checkpoints: Record<PartitionStatus | 'none', number>;
    /** Blobs of the partitions whose checkpoint said `done`. */
    blobsInDonePartitions: number;
  };
  resume: {
    seconds: number;
    partitionModes: EngineCopyResult['partitionModes'];
    calls: EngineCopyResult['calls'];
    blobsCopied: number;
    blobsSkipped: number;
    verificationOk: boolean;
  };
  /** Blobs complete at the destination before the resume that the resume copied again: by name. */
  copiedAgain: number;
  /** The same, from the engine's counters: copy calls of the resume beyond the blobs that were missing. */
  copyCallsBeyondMissing: number;
  /** Kill time plus resume time, against the uninterrupted run of the same corpus (a). */
  totalSeconds: number;
  uninterruptedSeconds: number;
  overheadPercent: number;
  rate: Rate;
  loadAverage: number;
}

/**
 * Section 3: a crash at about half, then a resume. The engine copies the corpus in a child process
 * that is killed with SIGKILL once half the blobs are done; then the destination and the partition
 * checkpoints are read; then a new child runs the same copy with the same run id (planning again,
 * as a restarted copy step does: the plan is deterministic). A blob complete at the destination
 * before the resume and copied by it was copied again for nothing; the target is none.
 *
 * The queue is not part of what is measured: the resume plans into a fresh queue, where the Functions
 * host would redeliver the dead worker's messages once their visibility timeout ran out.
 */
export async function measureResume(
  ctx: BenchContext,
  corpus: Corpus,
  uninterrupted: EngineRun,
): Promise<ResumeFigures> {
  const destination = destinationFor(ctx, 'bench-resume');
  const runId = `${ctx.runTag}-resume-${Date.now().toString(36)}`;
  const settings = failoverEngineSettings();
  const job: EngineJob = {
    kind: 'engine',
    descriptorPath: ctx.stack.descriptorPath,
    source: sourceFor(ctx, corpus),
    destination,
    runId,
    settings,
    appStorageAccount: ctx.stack.names.appStorageAccount,
  };
  const killAfterBlobs = Math.floor(corpus.blobs / 2);
  ctx.say(`resume: copying ${corpus.blobs} blobs, SIGKILL after ${killAfterBlobs}`);
  const killed = await runCopyJobUntilKilled(
    { ...job, progressEvery: Math.max(1, Math.floor(corpus.blobs / 400)) },
    killAfterBlobs,
  );
  // Copies the dead child had in flight still land at the service; let them, before looking.
  await delay(2_000);

  const clients = ctx.stack.clients;
  const sourceContainer = clients
    .blobService(ctx.stack.names.primaryStorageAccount)
    .getContainerClient(corpus.container);
  const destinationContainer = clients
    .blobService(destination.account)
    .getContainerClient(destination.container);
  const source = await fingerprints(sourceContainer, corpus.prefix);
  const atDestination = await fingerprints(destinationContainer, corpus.prefix);
  const complete = new Set<string>();
  for (const [name, fingerprint] of atDestination) if (source.get(name) === fingerprint) complete.add(name);

  // Read before the resume changes them; one more index than a plan can have, to be sure.
  const store = new BlobCheckpointStore(
    clients.blobService(ctx.stack.names.appStorageAccount).getContainerClient(STATE_CONTAINER),
  );
  const statusesAtKill: Array<{ status: PartitionStatus | 'none'; blobs: number }> = [];
  for (let index = 0; index <= Math.ceil(corpus.blobs / settings.partitionSize); index++) {
    const checkpoint = await store.get(runId, index);
    statusesAtKill.push({
      status: checkpoint?.record.status ?? 'none',
      blobs: checkpoint?.record.blobsListed ?? 0,
    });
  }
  ctx.say(
    `    killed after ${round(killed.killedAfterInMs / 1000, 1)} s at ${killed.blobsDone} blobs; ${complete.size} complete at the destination; resuming`,
  );

  const resumed = await runCopyJob({ ...job, recordCopiedNames: true });
  const engine = resumed.result.engine;
  const checkpoints: ResumeFigures['atKill']['checkpoints'] = {
    none: 0,
    started: 0,
    done: 0,
    'done-with-failures': 0,
    failed: 0,
  };
  let blobsInDonePartitions = 0;
  for (const { status, blobs } of statusesAtKill.slice(0, engine.partitions)) {
    checkpoints[status] += 1;
    if (status === 'done') blobsInDonePartitions += blobs;
  }
  const copiedAgain = (resumed.result.copiedNames ?? []).filter((name) => complete.has(name)).length;
  const copyCalls = engine.calls.syncCopy + engine.calls.asyncCopy + engine.calls.directoryStub;
  const totalInMs = killed.killedAfterInMs + engine.timings.totalInMs;
  await deleteContainer(ctx, destination.account, destination.container);
  const figures: ResumeFigures = {
    settings,
    corpusBlobs: corpus.blobs,
    killAfterBlobs,
    killedAtBlobs: killed.blobsDone,
    killedAfterSeconds: round(killed.killedAfterInMs / 1000, 2),
    atKill: { completeBlobs: complete.size, checkpoints, blobsInDonePartitions },
    resume: {
      seconds: round(engine.timings.totalInMs / 1000, 2),
      partitionModes: engine.partitionModes,
      calls: engine.calls,
      blobsCopied: engine.blobsCopied,
      blobsSkipped: engine.blobsSkipped,
      verificationOk: engine.verification.ok,
    },
    copiedAgain,
    copyCallsBeyondMissing: Math.max(0, copyCalls - (corpus.blobs - complete.size)),
    totalSeconds: round(totalInMs / 1000, 2),
    uninterruptedSeconds: uninterrupted.rate.seconds,
    overheadPercent: round((totalInMs / 1000 / uninterrupted.rate.seconds - 1) * 100, 1),
    rate: rateOf(corpus.blobs, corpus.bytes, totalInMs),
    loadAverage: loadAverage(),
  };
  ctx.say(
    `    resumed in ${figures.resume.seconds} s: ${copiedAgain} complete blobs copied again; ${figures.totalSeconds} s in all against ${figures.uninterruptedSeconds} s uninterrupted`,
  );
  return figures;
}

/** Name → size and Content-MD5 of every blob of a subtree. */
async function fingerprints(container: ContainerClient, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const blob of container.listBlobsFlat({ prefix })) {
    const md5 = blob.properties.contentMD5 ? Buffer.from(blob.properties.contentMD5).toString('base64') : '';
    out.set(blob.name, `${blob.properties.contentLength ?? 0}:${md5}`);
  }
  return out;
}
