import { type Rate, round } from './BenchContext.js';
import type { DrillFigures } from './drillRto.js';
import type { HealthCheckCost } from './healthCost.js';
import type { MachineFacts } from './machine.js';
import type { MemoryFigures } from './memory.js';
import type { BenchOptions } from './options.js';
import type { ResumeFigures } from './resume.js';
import type { EngineRun, Rounds, ThroughputFigures } from './throughput.js';

/** One target of the issue, and whether this run met it. */
export interface Target {
  name: string;
  value: number | null;
  target: string;
  met: boolean | null;
}

/** Everything one `npm run bench` measured: the JSON written to `--out`. */
export interface BenchFigures {
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  machine: MachineFacts;
  options: BenchOptions;
  throughput?: ThroughputFigures;
  memory?: MemoryFigures;
  resume?: ResumeFigures;
  drill?: DrillFigures;
  health?: HealthCheckCost[];
  targets: Target[];
  /** Sections that failed, with why; the others still ran. */
  errors: Array<{ section: string; message: string }>;
}

export function targetsOf(figures: Pick<BenchFigures, 'throughput' | 'memory' | 'resume'>): Target[] {
  const t = figures.throughput;
  const at = (value: number | undefined, test: (v: number) => boolean) =>
    value === undefined ? { value: null, met: null } : { value, met: test(value) };
  return [
    {
      name: 'a/c: engine over the limit (blobs/s)',
      target: '≥ 0.9',
      ...at(t?.ratios.engineOverLimit, (v) => v >= 0.9),
    },
    {
      name: 'a/b: engine over one at a time (blobs/s)',
      target: '≥ 10',
      ...at(t?.ratios.engineOverNaive, (v) => v >= 10),
    },
    {
      name: 'peak RSS growth, smallest to largest corpus (%)',
      target: '≤ 20',
      ...at(figures.memory?.growthPercent, (v) => v <= 20),
    },
    {
      name: 'complete blobs copied again after a resume',
      target: '0',
      ...at(figures.resume?.copiedAgain, (v) => v === 0),
    },
  ];
}

interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  notes: string[];
}

const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);
const num = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : n.toLocaleString('en-US');

function engineSettings(run: EngineRun): string {
  const s = run.settings;
  const partitions = s.partitionConcurrency ?? 'the queue worker default of';
  return `${partitions} partitions of ${num(s.partitionSize)} blobs at once, ${s.copyConcurrency} copies in flight per partition`;
}

const rates = (runs: Array<{ rate: Rate }>) => runs.map((r) => r.rate.blobsPerSecond).join(', ');

function throughputTable(t: ThroughputFigures): Table {
  const c = t.corpus;
  const row = (label: string, rate: Rate, note: string) => [
    label,
    num(rate.blobs),
    String(mib(rate.bytes)),
    String(rate.seconds),
    String(rate.blobsPerSecond),
    String(rate.mibPerSecond),
    note,
  ];
  const engineRow = (rounds: Rounds<EngineRun>) => {
    const run = rounds.best;
    const timings = run.engine.timings;
    return row(
      run.label,
      run.rate,
      `${engineSettings(run)}; planning ${round(timings.planningInMs / 1000, 1)} s (overlaps the copy), copy ${round(timings.copyInMs / 1000, 1)} s (${run.copyPhaseBlobsPerSecond} blobs/s), verification ${round(timings.verifyInMs / 1000, 1)} s; runs: ${rates(rounds.runs)} blobs/s`,
    );
  };
  const naiveNote =
    t.naive.rate.blobs < c.blobs
      ? `the first ${num(t.naive.rate.blobs)} blobs of the listing, listed in pages of that size (a subset: blobs/s compares)`
      : 'the whole corpus';
  return {
    title: `1. Copy throughput: ${num(c.blobs)} blobs, ${mib(c.bytes)} MiB (${num(c.smallFiles)} files of 1 B–${round(c.maxSmallBytes / 1024, 0)} KiB, ${c.largeBlobs} of ${mib(c.largeBlobBytes)} MiB, ${num(c.directoryStubs)} directory stubs), from the secondary endpoint into the DR account`,
    headers: ['copy', 'blobs', 'MiB', 'seconds', 'blobs/s', 'MiB/s', 'what'],
    rows: [
      engineRow(t.engine),
      row(
        '(b) one at a time',
        t.naive.rate,
        `Copy Blob From URL, one after the other, over the SDK's listing; ${naiveNote}`,
      ),
      row(
        `(c) limit, ${t.limit.best.concurrency} in flight`,
        t.limit.best.rate,
        `bare Copy Blob From URL loops over names listed beforehand (not timed); ${t.limit.best.retries} retries; runs: ${rates(t.limit.runs)} blobs/s`,
      ),
      ...t.sweep.map((s) =>
        row(
          `    sweep: ${s.concurrency} in flight`,
          s.rate,
          `the first ${num(s.rate.blobs)} blobs; ${s.retries} retries`,
        ),
      ),
    ],
    notes: [
      `a/b = ${t.ratios.engineOverNaive} (target ≥ 10); a/c = ${t.ratios.engineOverLimit} (target ≥ 0.9); c/b = ${t.ratios.limitOverNaive}, the most any concurrency gains over one at a time on this stack. Ratios compare the fastest run of each.`,
      ...listingNote(t),
      `Corpus seeded in ${c.seedInSeconds} s. Load average (1 min) after the best (a): ${t.engine.best.loadAverage}; after the best (c): ${t.limit.best.loadAverage}.`,
    ],
  };
}

/**
 * What one listing costs on this stack, against the engine's own time: the engine lists the corpus
 * three times (the source to plan, both sides to verify), overlapping its copies while it plans.
 */
function listingNote(t: ThroughputFigures): string[] {
  const listings = t.limit.best.listings;
  if (!listings) return [];
  const seconds = (ms: number) => round(ms / 1000, 1);
  const threeListings = (2 * listings.source.durationInMs + listings.destination.durationInMs) / 1000;
  return [
    `One listing after the best (c), as the engine lists (pages of 5,000, metadata included): the source through the secondary ${seconds(listings.source.durationInMs)} s for ${num(listings.source.blobs)} blobs, (c)'s destination ${seconds(listings.destination.durationInMs)} s for ${num(listings.destination.blobs)}. The engine lists the source to plan and both sides to verify: (c) and those three listings one after the other would take ${round(t.limit.best.rate.seconds + threeListings, 1)} s; the best (a) took ${t.engine.best.rate.seconds} s.`,
  ];
}

function memoryTable(m: MemoryFigures, options: BenchOptions): Table {
  const phase = (p: MemoryFigures['points'][number], name: string) => {
    const found = p.memory.phases[name];
    return found ? String(mib(found.peakRssBytes)) : '—';
  };
  const first = m.points[0];
  const last = m.points.at(-1);
  return {
    title: `2. Memory of the engine copy, defaults (a child process per copy, with --max-old-space-size=${options.childMaxOldSpaceMiB} as infra/function-app.json sets it; corpora of 1-byte blobs; MiB)`,
    headers: [
      'blobs',
      'partitions',
      'copy s',
      'RSS before',
      'peak RSS',
      'copying',
      'verifying',
      'peak heap',
      'live heap',
      'maxRSS',
    ],
    rows: m.points.map((p) => [
      num(p.blobs),
      String(p.partitions),
      String(p.copySeconds),
      String(mib(p.memory.baselineRssBytes)),
      String(mib(p.memory.peakSampledRssBytes)),
      phase(p, 'copy'),
      phase(p, 'verify'),
      String(mib(p.memory.peakHeapUsedBytes)),
      p.memory.majorGcs > 0 ? String(mib(p.memory.peakHeapAfterMajorGcBytes)) : '—',
      String(mib(p.memory.maxRssBytes)),
    ]),
    notes: [
      "Peak RSS: the highest RSS of the child sampled every 50 ms from the start of the copy (copying: planning and copying; verifying: the merge of both listings). maxRSS is the kernel's high-water mark over the child's life, its start included (tsx compiling the sources).",
      'Peak heap: the highest heap in use sampled, garbage included. Live heap: the highest heap in use just after a mark-compact (major GC), what the copy keeps alive; — when none ran.',
      m.growthPercent === undefined
        ? 'One corpus size only, so no growth to report.'
        : `Peak RSS grows ${m.growthPercent}% from ${num(first?.blobs)} to ${num(last?.blobs)} blobs (target ≤ 20%); what the copy adds above the RSS before it grows ${m.growthAboveBaselinePercent}%.`,
    ],
  };
}

function resumeTable(r: ResumeFigures): Table {
  const k = r.atKill.checkpoints;
  const modes = r.resume.partitionModes;
  return {
    title: `3. Resume after SIGKILL at about half (${num(r.corpusBlobs)} blobs), engine defaults`,
    headers: ['measure', 'value'],
    rows: [
      ['killed after', `${r.killedAfterSeconds} s, at ${num(r.killedAtBlobs)} blobs done`],
      ['complete at the destination after the kill', num(r.atKill.completeBlobs)],
      [
        'partition checkpoints after the kill',
        `${k.done} done (${num(r.atKill.blobsInDonePartitions)} blobs), ${k.started} started, ${k.none} none, ${k['done-with-failures'] + k.failed} with failures`,
      ],
      [
        'resume: partitions',
        `${modes['already-done']} skipped as done, ${modes.resumed} resumed, ${modes.copied} copied fresh`,
      ],
      [
        'resume: calls',
        `${num(r.resume.calls.syncCopy + r.resume.calls.asyncCopy + r.resume.calls.directoryStub)} copies, ${num(r.resume.calls.destinationHead)} destination lookups, ${num(r.resume.blobsSkipped)} blobs skipped as already copied`,
      ],
      ['complete blobs copied again (by name)', `${num(r.copiedAgain)} (target 0)`],
      ['copy calls beyond the missing blobs (counters)', num(r.copyCallsBeyondMissing)],
      [
        'time: killed run + resume',
        `${r.killedAfterSeconds} + ${r.resume.seconds} = ${r.totalSeconds} s, against ${r.uninterruptedSeconds} s uninterrupted (${r.overheadPercent >= 0 ? '+' : ''}${r.overheadPercent}%)`,
      ],
      ['verification after the resume', r.resume.verificationOk ? 'ok' : 'FAILED'],
    ],
    notes: [],
  };
}

function drillTable(d: DrillFigures): Table {
  return {
    title: `4. Drill RTO (npm run drill, default dataset: ${num(d.dataset.files)} files + ${d.dataset.largeBlobs} of ${mib(d.dataset.largeBlobBytes)} MiB = ${num(d.dataset.blobs)} blobs)`,
    headers: ['step', 'status', 'starts at s', 'ends at s', 'duration s'],
    rows: d.steps.map((s) => [
      s.name,
      s.status,
      num(s.startOffsetSeconds),
      num(s.endOffsetSeconds),
      num(s.durationSeconds),
    ]),
    notes: [
      `RTO, request to DR ready (verification ended): ${d.rtoSeconds ?? '—'} s; request to the end of the run: ${d.failoverSeconds ?? '—'} s. Run ${d.state}; drill exit code ${d.exitCode}${d.problems.length ? `: ${d.problems.join(' ')}` : ''}.`,
    ],
  };
}

function healthTable(costs: HealthCheckCost[]): Table {
  return {
    title: '5. Health check cost (runHealthCheck, as the timer runs it; configuration cached)',
    headers: [
      'check',
      'runs',
      'ARM calls/check',
      'Key Vault',
      'blob',
      'first ms',
      'median ms',
      'p95 ms',
      'max ms',
    ],
    rows: costs.map((c) => {
      const warm = c.runs.slice(1);
      const spread = (key: 'keyVault' | 'blob') => {
        const values = [...new Set(warm.map((r) => r.requests[key]))];
        return values.join('/');
      };
      return [
        c.check,
        String(c.runs.length),
        [...new Set(c.armCallsPerCheck)].join('/'),
        spread('keyVault'),
        spread('blob'),
        String(c.wallInMs.first),
        String(c.wallInMs.median),
        String(c.wallInMs.p95),
        String(c.wallInMs.max),
      ];
    }),
    notes: costs.map((c) => `${c.check}: ARM requests of one check: ${c.armRequests.join('; ') || 'none'}.`),
  };
}

function tablesOf(figures: BenchFigures): Table[] {
  const tables: Table[] = [];
  if (figures.throughput) tables.push(throughputTable(figures.throughput));
  if (figures.memory) tables.push(memoryTable(figures.memory, figures.options));
  if (figures.resume) tables.push(resumeTable(figures.resume));
  if (figures.drill) tables.push(drillTable(figures.drill));
  if (figures.health) tables.push(healthTable(figures.health));
  tables.push({
    title: 'Targets',
    headers: ['target', 'measured', 'wanted', 'met'],
    rows: figures.targets.map((t) => [
      t.name,
      num(t.value),
      t.target,
      t.met === null ? 'not measured' : t.met ? 'yes' : 'NO',
    ]),
    notes: figures.errors.map((e) => `${e.section} failed: ${e.message}`),
  });
  return tables;
}

function machineLine(figures: BenchFigures): string {
  const m = figures.machine;
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, Azurite ${m.azurite}, ${m.kernel}; commit ${m.commit ?? 'unknown'}; load average at start ${m.loadAverageAtStart.join(' ')}; copy children with --max-old-space-size=${figures.options.childMaxOldSpaceMiB}${figures.options.quick ? '; --quick sizes' : ''}; ${figures.startedAt}, ${round(figures.durationSeconds / 60, 1)} min`;
}

/** The tables as plain text, for the terminal. */
export function renderText(figures: BenchFigures): string {
  const lines = [`kyvos-dr benchmark — ${machineLine(figures)}`, ''];
  for (const table of tablesOf(figures)) {
    lines.push(table.title);
    const widths = table.headers.map((h, i) =>
      Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)),
    );
    const format = (cells: string[]) =>
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    lines.push(`  ${format(table.headers)}`);
    lines.push(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
    for (const row of table.rows) lines.push(`  ${format(row)}`);
    for (const note of table.notes) lines.push(`  ${note}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The same tables as Markdown, for the README. */
export function renderMarkdown(figures: BenchFigures): string {
  const lines = [`Measured on ${machineLine(figures)}.`, ''];
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|').trim();
  for (const table of tablesOf(figures)) {
    lines.push(`**${table.title}**`, '');
    lines.push(`| ${table.headers.join(' | ')} |`);
    lines.push(`| ${table.headers.map(() => '---').join(' | ')} |`);
    for (const row of table.rows) lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
    lines.push('');
    for (const note of table.notes) lines.push(`${note}`, '');
  }
  return lines.join('\n');
}
