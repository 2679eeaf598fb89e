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
import { runCopyJob } from './childProcess.js';
import type { Corpus } from './corpus.js';
import { type EngineCopyResult, type EngineSettings, failoverEngineSettings } from './engineCopy.js';
import type { ChildMemory, LogCounts, TimedListing } from './jobs.js';
import type { BenchOptions } from './options.js';

/** One run of the copy engine, end to end, in its own child process. */
export interface EngineRun {
  label: string;
  settings: EngineSettings;
  rate: Rate;
  /** Blobs per second of the copy phase alone (planning overlaps it; verification follows it). */
  copyPhaseBlobsPerSecond: number;
  engine: EngineCopyResult;
  memory: ChildMemory;
  warnings: LogCounts;
  loadAverage: number;
}

interface NaiveRun {
  rate: Rate;
  /** The naive copy covered this many blobs of the corpus (its first ones, in listing order). */
  subsetOf: number;
  loadAverage: number;
}

interface LimitRun {
  concurrency: number;
  rate: Rate;
  retries: number;
  loadAverage: number;
  /** Full-corpus runs: one listing of each side right after the copy, as the engine lists. */
  listings?: { source: TimedListing; destination: TimedListing };
}

/** Runs of one configuration, alternated with the others; the fastest is the one compared. */
export interface Rounds<T> {
  best: T;
  runs: T[];
}

export interface ThroughputFigures {
  corpus: Corpus;
  /** (a) the engine with the failover's default settings. */
  engine: Rounds<EngineRun>;
  /** (b) one blob at a time. */
  naive: NaiveRun;
  /** (c) the sweep of concurrencies, on the first `sweepBlobs` blobs. */
  sweep: LimitRun[];
  /** (c) the best concurrency of the sweep, on the whole corpus. */
  limit: Rounds<LimitRun>;
  /** Ratios of blobs per second, between the best runs. */
  ratios: {
    engineOverNaive: number;
    engineOverLimit: number;
    /** What the stack allows at most for a/b: the limit over the naive copy. */
    limitOverNaive: number;
  };
}

/**
 * Section 1: the copies of one corpus, side by side, each in a child process of its own, each into
 * a fresh destination container of the DR account that is deleted afterwards. First the sweep of
 * (c) on a subset; then `rounds` rounds of (a) and (c) at the best concurrency, alternately, so
 * that a burst of load from other processes does not favour one of them (the best run of each is
 * compared); then (b).
 */
export async function measureThroughput(
  ctx: BenchContext,
  corpus: Corpus,
  options: BenchOptions,
): Promise<ThroughputFigures> {
  ctx.say(
    `(c) sweep: bare Copy Blob From URL loops at ${options.sweep.join(', ')} on ${options.sweepBlobs} blobs`,
  );
  const sweep: LimitRun[] = [];
  for (const concurrency of options.sweep) {
    const run = await runLimit(ctx, corpus, concurrency, options.sweepBlobs, `bench-c${concurrency}-sweep`);
    ctx.say(`    ${concurrency}: ${run.rate.blobsPerSecond} blobs/s`);
    sweep.push(run);
  }
  const best = sweep.reduce((a, b) => (b.rate.blobsPerSecond > a.rate.blobsPerSecond ? b : a));

  const engineRuns: EngineRun[] = [];
  const limitRuns: LimitRun[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    engineRuns.push(await runEngine(ctx, corpus, '(a) engine, defaults', 'bench-a'));
    ctx.say(`(c) limit: bare loops at ${best.concurrency} on all ${corpus.blobs} blobs`);
    const limit = await runLimit(ctx, corpus, best.concurrency, 0, 'bench-c');
    ctx.say(
      `    ${limit.rate.blobsPerSecond} blobs/s; one listing afterwards: source ${limit.listings?.source.durationInMs} ms, destination ${limit.listings?.destination.durationInMs} ms`,
    );
    limitRuns.push(limit);
  }

  const naiveBlobs = options.naiveBlobs > 0 ? Math.min(options.naiveBlobs, corpus.blobs) : corpus.blobs;
  ctx.say(`(b) one at a time: ${naiveBlobs} blobs`);
  const naiveDestination = destinationFor(ctx, 'bench-b');
  const naiveJob = await runCopyJob({
    kind: 'naive',
    descriptorPath: ctx.stack.descriptorPath,
    source: sourceFor(ctx, corpus),
    destination: naiveDestination,
    maxBlobs: naiveBlobs,
  });
  const naive: NaiveRun = {
    rate: rateOf(naiveJob.result.copy.blobs, naiveJob.result.copy.bytes, naiveJob.result.copy.durationInMs),
    subsetOf: corpus.blobs,
    loadAverage: loadAverage(),
  };
  ctx.say(`    ${naive.rate.blobsPerSecond} blobs/s`);
  await deleteContainer(ctx, naiveDestination.account, naiveDestination.container);

  const fastest = <T extends { rate: Rate }>(runs: T[]): Rounds<T> => ({
    best: runs.reduce((a, b) => (b.rate.blobsPerSecond > a.rate.blobsPerSecond ? b : a)),
    runs,
  });
  const engine = fastest(engineRuns);
  const limit = fastest(limitRuns);
  return {
    corpus,
    engine,
    naive,
    sweep,
    limit,
    ratios: {
      engineOverNaive: round(engine.best.rate.blobsPerSecond / naive.rate.blobsPerSecond, 2),
      engineOverLimit: round(engine.best.rate.blobsPerSecond / limit.best.rate.blobsPerSecond, 3),
      limitOverNaive: round(limit.best.rate.blobsPerSecond / naive.rate.blobsPerSecond, 2),
    },
  };
}

/** (c) at one concurrency on the first `maxBlobs` blobs (0: all), in a child. */
async function runLimit(
  ctx: BenchContext,
  corpus: Corpus,
  concurrency: number,
  maxBlobs: number,
  container: string,
): Promise<LimitRun> {
  const destination = destinationFor(ctx, container);
  const { result } = await runCopyJob({
    kind: 'bare',
    descriptorPath: ctx.stack.descriptorPath,
    source: sourceFor(ctx, corpus),
    runs: [{ concurrency, maxBlobs, destination, timeListings: maxBlobs === 0 }],
  });
  const run = result.runs[0];
  if (!run) throw new Error('The bare loop child returned no run.');
  await deleteContainer(ctx, destination.account, destination.container);
  return {
    concurrency,
    rate: rateOf(run.blobs, run.bytes, run.durationInMs),
    retries: run.retries,
    loadAverage: loadAverage(),
    ...(run.listings ? { listings: run.listings } : {}),
  };
}

/**
 * Runs the engine with the failover's defaults on the whole corpus in a child and checks that its
 * verification passed.
 */
export async function runEngine(
  ctx: BenchContext,
  corpus: Corpus,
  label: string,
  container: string,
): Promise<EngineRun> {
  const settings = failoverEngineSettings();
  ctx.say(`${label}: plan, queue, copy with checkpoints, verify — ${corpus.blobs} blobs`);
  const destination = destinationFor(ctx, container);
  const { result, memory, warnings } = await runCopyJob({
    kind: 'engine',
    descriptorPath: ctx.stack.descriptorPath,
    source: sourceFor(ctx, corpus),
    destination,
    // Unique per run: checkpoints of an earlier round must not make this one skip partitions.
    runId: `${ctx.runTag}-${container}-${Date.now().toString(36)}`,
    settings,
    appStorageAccount: ctx.stack.names.appStorageAccount,
  });
  const engine = result.engine;
  if (!engine.verification.ok || engine.blobsListed !== corpus.blobs) {
    throw new Error(
      `${label}: the copy is not complete: ${engine.blobsListed} of ${corpus.blobs} blobs listed, verification ${JSON.stringify(engine.verification)}`,
    );
  }
  await deleteContainer(ctx, destination.account, destination.container);
  const run: EngineRun = {
    label,
    settings,
    rate: rateOf(engine.blobsListed, engine.bytesListed, engine.timings.totalInMs),
    copyPhaseBlobsPerSecond: round(engine.blobsListed / (engine.timings.copyInMs / 1000), 1),
    engine,
    memory,
    warnings,
    loadAverage: loadAverage(),
  };
  ctx.say(
    `    ${run.rate.blobsPerSecond} blobs/s end to end (${run.copyPhaseBlobsPerSecond} in the copy phase)`,
  );
  return run;
}
