import { type BenchContext, deleteContainer, loadAverage, round } from './BenchContext.js';
import { type Corpus, seedCorpus } from './corpus.js';
import type { ChildMemory, HeapSnapshot } from './jobs.js';
import { type EngineConfiguration, runEngine } from './throughput.js';

export interface MemoryPoint {
  blobs: number;
  seedSeconds: number;
  copySeconds: number;
  partitions: number;
  memory: ChildMemory;
  loadAverage: number;
  /** With `--heap-snapshots`: the snapshots the copy wrote, and the heap alive at each. */
  heapSnapshots?: HeapSnapshot[];
}

export interface MemorySeries {
  label: string;
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

export interface MemoryFigures {
  /** The failover's defaults first, then each engine variant. */
  series: MemorySeries[];
}

/**
 * Section 2: the engine's peak RSS for corpora of different sizes. Each size has its own corpus
 * (1-byte bodies: a server-side copy never moves bytes through the engine, so only the number of
 * blobs matters), copied by each engine configuration in a child process of its own, so that one
 * copy's heap never carries into the next. Each corpus is deleted afterwards: Azurite slows down
 * with every blob an account holds.
 */
export async function measureMemory(
  ctx: BenchContext,
  sizes: number[],
  configurations: EngineConfiguration[],
  heapSnapshots?: { count: number; prefix: string },
): Promise<MemoryFigures> {
  const points: MemoryPoint[][] = configurations.map(() => []);
  for (const size of [...sizes].sort((a, b) => a - b)) {
    ctx.say(`memory: seeding ${size} blobs`);
    const corpus: Corpus = await seedCorpus(ctx.stack, {
      container: `bench-memory-${size}`,
      smallFiles: size,
      maxSmallBytes: 1,
    });
    ctx.say(`    ${corpus.blobs} blobs in ${corpus.seedInSeconds} s`);
    for (const [i, configuration] of configurations.entries()) {
      const run = await runEngine(
        ctx,
        corpus,
        `memory, ${configuration.label}`,
        configuration.settings,
        `bench-memory-${i}`,
        heapSnapshots && heapSnapshots.count > 0
          ? {
              // Evenly spread over the copy: count 2 takes them at a third and two thirds of the blobs.
              atBlobs: Array.from({ length: heapSnapshots.count }, (_, k) =>
                Math.max(1, Math.floor((corpus.blobs * (k + 1)) / (heapSnapshots.count + 1))),
              ),
              prefix: `${heapSnapshots.prefix}-${corpus.blobs}-${i}`,
            }
          : undefined,
      );
      points[i]?.push({
        blobs: corpus.blobs,
        seedSeconds: corpus.seedInSeconds,
        copySeconds: run.rate.seconds,
        partitions: run.engine.partitions,
        memory: run.memory,
        loadAverage: loadAverage(),
        ...(run.heapSnapshots ? { heapSnapshots: run.heapSnapshots } : {}),
      });
      ctx.say(`    peak RSS ${round(run.memory.peakSampledRssBytes / 1024 / 1024, 1)} MiB`);
    }
    await deleteContainer(ctx, ctx.stack.names.primaryStorageAccount, corpus.container);
  }
  return {
    series: configurations.map((configuration, i) => seriesOf(configuration.label, points[i] ?? [])),
  };
}

function seriesOf(label: string, points: MemoryPoint[]): MemorySeries {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) throw new Error('No memory size was given.');
  if (points.length < 2) return { label, points };
  const above = (p: MemoryPoint) => p.memory.peakSampledRssBytes - p.memory.baselineRssBytes;
  return {
    label,
    points,
    growthPercent: round((last.memory.peakSampledRssBytes / first.memory.peakSampledRssBytes - 1) * 100, 1),
    growthAboveBaselinePercent: round((above(last) / above(first) - 1) * 100, 1),
  };
}
