import { Command, InvalidArgumentError, Option } from 'commander';
import { deployedWorkerHeap } from './workerHeap.js';

/** How big the benchmark is, and what it runs. Every size is a flag; `--quick` picks small ones. */
export interface BenchOptions {
  /** Where the JSON goes; a Markdown rendering of the tables is written next to it (`.md`). */
  out: string;
  /** Small blobs (1 byte to `maxBlobKiB` KiB) in the throughput corpus. */
  blobs: number;
  maxBlobKiB: number;
  /** Blobs of `largeBlobMiB` MiB added to the throughput corpus. */
  largeBlobs: number;
  largeBlobMiB: number;
  /** (b) copies this many blobs of the listing (0: all of them). */
  naiveBlobs: number;
  /** (c) concurrencies tried on `sweepBlobs` blobs before the best one copies the whole corpus. */
  sweep: number[];
  sweepBlobs: number;
  /** (a) and (c) are run this many times, alternately; the best run of each counts. */
  rounds: number;
  /** Extra engine runs with one setting changed, e.g. `copyConcurrency=64`, measured in the same run. */
  engineVariants: EngineVariant[];
  memorySizes: number[];
  skipThroughput: boolean;
  skipMemory: boolean;
  skipResume: boolean;
  skipHealth: boolean;
  skipDrill: boolean;
  /**
   * Milliseconds every storage request waits in the storage front during the throughput and resume
   * copies (a remote service's round trip, which the local stack lacks); 0: none.
   */
  storageLatencyMs: number;
  /**
   * Heap snapshots each memory copy writes, evenly spread over its blobs, next to `out`
   * (`<out>.heap-<corpus blobs>-<configuration>-<blobs done>.heapsnapshot`); 0: none. Writing one
   * pauses the copy and raises the child's RSS, so a run with snapshots is not a run to take the
   * peak RSS from.
   */
  heapSnapshots: number;
  /**
   * `--max-old-space-size` of every copy child, in MiB: by default the deployed worker's
   * (`infra/function-app.json`, `deployedWorkerHeap`); undefined with `--child-v8-defaults`.
   */
  childMaxOldSpaceMiB?: number;
  /** Where `childMaxOldSpaceMiB` comes from. */
  childHeap: 'function app template' | 'command line' | 'V8 defaults';
  /** Files of the drill dataset; undefined: the drill's default. */
  drillFiles?: number;
  healthRuns: number;
  quick: boolean;
}

export interface EngineVariant {
  setting: 'copyConcurrency' | 'partitionSize' | 'partitionConcurrency';
  value: number;
}

const VARIANT_SETTINGS = ['copyConcurrency', 'partitionSize', 'partitionConcurrency'] as const;

/** The sizes of a `--quick` smoke run (about two minutes); explicit flags still win. */
const QUICK: Partial<BenchOptions> = {
  blobs: 1_000,
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

function positiveInteger(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0.');
  return n;
}

function integerList(value: string): number[] {
  const list = value.split(',').map((v) => positiveInteger(v.trim()));
  if (list.length === 0 || list.some((n) => n < 1)) {
    throw new InvalidArgumentError(
      'expected a comma-separated list of whole numbers ≥ 1, e.g. 10000,100000.',
    );
  }
  return list;
}

function engineVariant(value: string, previous: EngineVariant[] = []): EngineVariant[] {
  const [setting, raw] = value.split('=');
  if (!VARIANT_SETTINGS.includes(setting as EngineVariant['setting']) || raw === undefined) {
    throw new InvalidArgumentError(
      `expected <setting>=<value> with setting one of ${VARIANT_SETTINGS.join(', ')}.`,
    );
  }
  const n = positiveInteger(raw);
  if (n < 1) throw new InvalidArgumentError('the value must be at least 1.');
  return [...previous, { setting: setting as EngineVariant['setting'], value: n }];
}

function timestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Parses the command line (`npm run bench -- --blobs 5000 …`). Exits with usage on a bad flag. */
export function parseBenchOptions(argv: string[], now = new Date()): BenchOptions {
  const program = new Command('npm run bench --')
    .description(
      'Benchmarks of the copy engine and the failover on the local stack: throughput against its limit, memory, resume cost, drill RTO, health check cost.',
    )
    .option('--out <file>', 'where to write the JSON figures', `reports/bench-${timestamp(now)}.json`)
    .option('--blobs <n>', 'small blobs in the throughput corpus', positiveInteger, 20_000)
    .option(
      '--max-blob-kib <n>',
      'largest small blob, in KiB (sizes are spread from 1 byte)',
      positiveInteger,
      64,
    )
    .option('--large-blobs <n>', 'large blobs added to the throughput corpus', positiveInteger, 3)
    .option('--large-blob-mib <n>', 'size of each large blob, in MiB', positiveInteger, 8)
    .option(
      '--naive-blobs <n>',
      'blobs the one-at-a-time baseline copies (0: the whole corpus)',
      positiveInteger,
      1_000,
    )
    .option('--sweep <list>', 'concurrencies tried for the limit', integerList, [8, 16, 32, 64, 128])
    .option('--sweep-blobs <n>', 'blobs copied at each concurrency of the sweep', positiveInteger, 1_000)
    .option('--rounds <n>', 'runs of (a) and (c), alternately; the best of each counts', positiveInteger, 2)
    .addOption(
      new Option(
        '--engine-variant <setting=value>',
        'also run the engine with one setting changed (copyConcurrency, partitionSize, partitionConcurrency); repeatable',
      )
        .argParser(engineVariant)
        .default([]),
    )
    .option(
      '--memory-sizes <list>',
      'corpus sizes (blobs) whose peak RSS is compared',
      integerList,
      [10_000, 100_000],
    )
    .option(
      '--storage-latency-ms <n>',
      'make every storage request of the throughput and resume copies wait this long (a remote service round trip)',
      positiveInteger,
      0,
    )
    .option(
      '--child-max-old-space-mib <n>',
      "the V8 old space of every copy child (node --max-old-space-size); default: the deployed worker's, from infra/function-app.json",
      positiveInteger,
    )
    .option(
      '--child-v8-defaults',
      "run the copy children with Node's default heap instead of the deployed worker's",
      false,
    )
    .option(
      '--heap-snapshots <n>',
      'heap snapshots each memory copy writes next to --out, evenly spread over its blobs (they raise its RSS: not for peak figures)',
      positiveInteger,
      0,
    )
    .option(
      '--skip-throughput',
      'leave out the throughput comparison (the resume then times its own uninterrupted run)',
      false,
    )
    .option('--skip-memory', 'leave out the memory measurement', false)
    .option('--skip-resume', 'leave out the resume measurement', false)
    .option('--skip-health', 'leave out the health check cost', false)
    .option('--skip-drill', 'leave out the drill RTO', false)
    .option(
      '--drill-files <n>',
      "files in the drill dataset (default: the drill's own default)",
      positiveInteger,
    )
    .option('--health-runs <n>', 'runs of each health check', positiveInteger, 10)
    .option('--quick', 'a fast smoke run with small sizes (explicit flags still apply)', false)
    .exitOverride((error) => process.exit(error.exitCode))
    .parse(argv, { from: 'user' });

  const {
    maxBlobKib,
    largeBlobMib,
    engineVariant: engineVariants,
    childMaxOldSpaceMib,
    childV8Defaults,
    rounds,
    ...same
  } = program.opts<RawOptions>();
  if (childV8Defaults && childMaxOldSpaceMib !== undefined) {
    program.error('--child-v8-defaults and --child-max-old-space-mib contradict each other: give one.');
  }
  const childHeap: BenchOptions['childHeap'] = childV8Defaults
    ? 'V8 defaults'
    : childMaxOldSpaceMib !== undefined
      ? 'command line'
      : 'function app template';
  const childMaxOldSpaceMiB =
    childHeap === 'V8 defaults' ? undefined : (childMaxOldSpaceMib ?? deployedWorkerHeap().maxOldSpaceMiB);
  const options: BenchOptions = {
    ...same,
    maxBlobKiB: maxBlobKib,
    largeBlobMiB: largeBlobMib,
    engineVariants,
    ...(childMaxOldSpaceMiB !== undefined ? { childMaxOldSpaceMiB } : {}),
    childHeap,
    rounds: Math.max(1, rounds),
  };
  if (!options.quick) return options;
  const fromCommandLine = new Set(
    program.options
      .map((o) => o.attributeName())
      .filter((name) => program.getOptionValueSource(name) === 'cli'),
  );
  const quick = { ...options };
  for (const [key, value] of Object.entries(QUICK) as Array<[keyof BenchOptions, never]>) {
    if (!fromCommandLine.has(key in RAW_NAMES ? RAW_NAMES[key as keyof Renamed] : key)) quick[key] = value;
  }
  return quick;
}

/** The options whose flag commander names otherwise (camel case of the flag). */
const RAW_NAMES = {
  maxBlobKiB: 'maxBlobKib',
  largeBlobMiB: 'largeBlobMib',
  engineVariants: 'engineVariant',
  childMaxOldSpaceMiB: 'childMaxOldSpaceMib',
} as const satisfies Partial<Record<keyof BenchOptions, string>>;

type Renamed = typeof RAW_NAMES;

/** The options as commander names them. */
type RawOptions = Omit<BenchOptions, keyof Renamed | 'childHeap'> & {
  [K in keyof Renamed as Renamed[K]]: BenchOptions[K];
} & { childV8Defaults: boolean };
