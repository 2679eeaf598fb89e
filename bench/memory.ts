import { type BenchContext, deleteContainer, loadAverage, round } from './BenchContext.js';
import { type Corpus, seedCorpus } from './corpus.js';
import type { ChildMemory } from './jobs.js';
import { runEngine } from './throughput.js';

interface MemoryPoint {
  blobs: number;
  seedSeconds: number;
  copySeconds: number;
  partitions: number;
  memory: ChildMemory;
  loadAverage: number;
}

export interface MemoryFigures {
  points: MemoryPoint[];
  /**
   * Peak RSS during the copy (sampled) of the largest corpus over that of the smallest, in percent.
   * Not `maxRSS`: that high-water mark also holds the child's start, when tsx compiles the sources.
   * Undefined with a single corpus size: there is nothing to compare.
   */
  growthPercent?: number;
  /** The same for what the copy added above the child's RSS before it started. */
  growthAboveBaselinePercent?: number;
}

/**
 * Section 2: the engine's peak RSS for corpora of different sizes, with the failover's defaults.
 * Each size has its own corpus (1-byte bodies: a server-side copy never moves bytes through the
 * engine, so only the number of blobs matters), copied in a child process of its own, so that one
 * copy's heap never carries into the next. Each corpus is deleted afterwards: Azurite slows down
 * with every blob an account holds.
 */
export async function measureMemory(ctx: BenchContext, sizes: number[]): Promise<MemoryFigures> {
  const points: MemoryPoint[] = [];
  for (const size of [...sizes].sort((a, b) => a - b)) {
    ctx.say(`memory: seeding ${size} blobs`);
    const corpus: Corpus = await seedCorpus(ctx.stack, {
      container: `bench-memory-${size}`,
      smallFiles: size,
      maxSmallBytes: 1,
    });
    ctx.say(`    ${corpus.blobs} blobs in ${corpus.seedInSeconds} s`);
    const run = await runEngine(ctx, corpus, 'memory, (a) engine, defaults', 'bench-memory');
    points.push({
      blobs: corpus.blobs,
      seedSeconds: corpus.seedInSeconds,
      copySeconds: run.rate.seconds,
      partitions: run.engine.partitions,
      memory: run.memory,
      loadAverage: loadAverage(),
    });
    ctx.say(`    peak RSS ${round(run.memory.peakSampledRssBytes / 1024 / 1024, 1)} MiB`);
    await deleteContainer(ctx, ctx.stack.names.primaryStorageAccount, corpus.container);
  }
  return seriesOf(points);
}

function seriesOf(points: MemoryPoint[]): MemoryFigures {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) throw new Error('No memory size was given.');
  if (points.length < 2) return { points };
  const above = (p: MemoryPoint) => p.memory.peakSampledRssBytes - p.memory.baselineRssBytes;
  return {
    points,
    growthPercent: round((last.memory.peakSampledRssBytes / first.memory.peakSampledRssBytes - 1) * 100, 1),
    growthAboveBaselinePercent: round((above(last) / above(first) - 1) * 100, 1),
  };
}
