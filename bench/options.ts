import { Command, InvalidArgumentError } from 'commander';
import { deployedWorkerHeap } from '../local/workerHeap.js';

/** The measurements of one run, in the order they run. */
const BENCH_SECTIONS = ['health', 'throughput', 'resume', 'memory', 'drill'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

/**
 * The sizes of a run. The figures in docs/performance.md are those of `FULL`; `QUICK` is a smoke
 * run of the same code (about two minutes) whose figures compare with nothing.
 */
interface BenchSizes {
  /** Small blobs (1 byte to `maxBlobKiB` KiB) in the throughput corpus. */
  blobs: number;
  maxBlobKiB: number;
  /** Blobs of `largeBlobMiB` MiB added to the throughput corpus. */
  largeBlobs: number;
  largeBlobMiB: number;
  /** (b) copies this many blobs of the listing. */
  naiveBlobs: number;
  /** (c) concurrencies tried on `sweepBlobs` blobs before the best one copies the whole corpus. */
  sweep: number[];
  sweepBlobs: number;
  /** (a) and (c) are run this many times, alternately; the best run of each counts. */
  rounds: number;
  /** Corpus sizes (blobs) whose peak RSS is compared. */
  memorySizes: number[];
  /** Files of the drill dataset; undefined: the drill's default. */
  drillFiles?: number;
  healthRuns: number;
}

const FULL: BenchSizes = {
  blobs: 20_000,
  maxBlobKiB: 64,
  largeBlobs: 3,
  largeBlobMiB: 8,
  naiveBlobs: 1_000,
  sweep: [8, 16, 32, 64, 128],
  sweepBlobs: 1_000,
  rounds: 2,
  memorySizes: [10_000, 100_000],
  healthRuns: 10,
};

const QUICK: BenchSizes = {
  blobs: 1_000,
  maxBlobKiB: 64,
  largeBlobs: 1,
  largeBlobMiB: 4,
  naiveBlobs: 200,
  sweep: [16, 64],
  sweepBlobs: 500,
  rounds: 1,
  memorySizes: [100, 1_000],
  drillFiles: 300,
  healthRuns: 3,
};

/** What one benchmark run measures, and how big. */
export interface BenchOptions extends BenchSizes {
  /** Where the JSON goes; a Markdown rendering of the tables is written next to it (`.md`). */
  out: string;
  quick: boolean;
  sections: BenchSection[];
  /**
   * `--max-old-space-size` of every copy child, in MiB: the deployed worker's
   * (`infra/function-app.json`), so that the memory figures are those of the worker on Azure.
   */
  childMaxOldSpaceMiB: number;
}

function sectionList(value: string): BenchSection[] {
  const sections = value.split(',').map((s) => s.trim());
  const unknown = sections.filter((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
  if (sections.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `expected a comma-separated list of ${BENCH_SECTIONS.join(', ')}; not ${unknown.join(', ')}.`,
    );
  }
  return sections as BenchSection[];
}

function timestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Parses the command line (`npm run bench -- --quick …`). Exits with usage on a bad flag. */
export function parseBenchOptions(argv: string[], now = new Date()): BenchOptions {
  const program = new Command('npm run bench --')
    .description(
      'Benchmarks of the copy engine and the failover on the local stack: throughput against its limit, resume cost, memory, drill RTO, health check cost.',
    )
    .option('--out <file>', 'where to write the JSON figures', `reports/bench-${timestamp(now)}.json`)
    .option(
      '--quick',
      'a smoke run with small sizes (about two minutes; its figures compare with nothing)',
      false,
    )
    .option(
      '--only <sections>',
      `run only these sections (${BENCH_SECTIONS.join(', ')}); the resume then times its own uninterrupted copy when throughput is left out`,
      sectionList,
      [...BENCH_SECTIONS],
    )
    .exitOverride((error) => process.exit(error.exitCode))
    .parse(argv, { from: 'user' });

  const { out, quick, only } = program.opts<{ out: string; quick: boolean; only: BenchSection[] }>();
  return {
    ...(quick ? QUICK : FULL),
    out,
    quick,
    sections: BENCH_SECTIONS.filter((section) => only.includes(section)),
    childMaxOldSpaceMiB: deployedWorkerHeap().maxOldSpaceMiB,
  };
}
