/**
 * `npm run bench`: the copy engine against its limit, its memory, the cost of a resume, the drill's
 * RTO and the cost of a health check, all measured in one run on one local stack and one corpus.
 * Prints the tables, writes the figures as JSON (`--out`) and the tables as Markdown beside it.
 * `npm run bench -- --help` lists the flags.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type LocalStack, startLocalStack } from '../local/stack.js';
import { describeError } from '../src/lib/redact.js';
import { type BenchContext, deleteContainer, round } from './BenchContext.js';
import { type Corpus, seedCorpus, sourceSasFromVault } from './corpus.js';
import { measureDrill } from './drillRto.js';
import { measureHealthCost } from './healthCost.js';
import { machineFacts } from './machine.js';
import { measureMemory } from './memory.js';
import { type BenchSection, parseBenchOptions } from './options.js';
import { type BenchFigures, renderMarkdown, renderText, targetsOf } from './report.js';
import { measureResume } from './resume.js';
import { measureThroughput, runEngine } from './throughput.js';

const options = parseBenchOptions(process.argv.slice(2));
const runs = (section: BenchSection) => options.sections.includes(section);
const startedAt = new Date();
const started = performance.now();
const say = (text: string) =>
  process.stderr.write(
    `[${String(Math.round((performance.now() - started) / 1000)).padStart(4)} s] ${text}\n`,
  );
const figures: Omit<BenchFigures, 'targets' | 'endedAt' | 'durationSeconds'> = {
  startedAt: startedAt.toISOString(),
  machine: machineFacts(),
  options,
  errors: [],
};

/** Runs one section; a failure is recorded and the other sections still run. */
async function section<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    const message = describeError(error);
    figures.errors.push({ section: name, message });
    say(`${name} FAILED: ${message}`);
    return undefined;
  }
}

let stack: LocalStack | undefined;
// Ctrl-C: stop the stack (Azurite, PostgreSQL) before leaving.
process.once('SIGINT', () => {
  say('interrupted: stopping the local stack');
  void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
});

const out = path.resolve(options.out);
await mkdir(path.dirname(out), { recursive: true });

say('starting the local stack');
stack = await startLocalStack();
try {
  const ctx: BenchContext = {
    stack,
    sourceSas: await sourceSasFromVault(stack),
    runTag: `bench-${startedAt.getTime().toString(36)}`,
    say,
  };
  if (runs('health'))
    figures.health = await section('health', () => measureHealthCost(ctx, options.healthRuns));

  let corpus: Corpus | undefined;
  if (runs('throughput') || runs('resume')) {
    say(
      `seeding the corpus: ${options.blobs} files of 1 B–${options.maxBlobKiB} KiB, ${options.largeBlobs} of ${options.largeBlobMiB} MiB`,
    );
    corpus = await section('corpus', () =>
      seedCorpus(ctx.stack, {
        container: 'bench-corpus',
        smallFiles: options.blobs,
        maxSmallBytes: options.maxBlobKiB * 1024,
        largeBlobs: options.largeBlobs,
        largeBlobBytes: options.largeBlobMiB * 1024 * 1024,
      }),
    );
    if (corpus)
      say(
        `    ${corpus.blobs} blobs, ${round(corpus.bytes / 1024 / 1024, 1)} MiB, in ${corpus.seedInSeconds} s`,
      );
  }
  if (corpus && runs('throughput')) {
    const seeded = corpus;
    figures.throughput = await section('throughput', () => measureThroughput(ctx, seeded, options));
  }
  if (corpus && runs('resume')) {
    const seeded = corpus;
    figures.resume = await section('resume', async () => {
      const uninterrupted =
        figures.throughput?.engine.best ??
        (await runEngine(ctx, seeded, '(a) engine, defaults', 'bench-reference'));
      return measureResume(ctx, seeded, uninterrupted);
    });
  }
  // Azurite slows down with every blob an account holds: the corpus goes before the memory corpora come.
  if (corpus) await deleteContainer(ctx, stack.names.primaryStorageAccount, corpus.container);
  if (runs('memory')) {
    figures.memory = await section('memory', () => measureMemory(ctx, options.memorySizes));
  }
} finally {
  say('stopping the local stack');
  await stack.stop();
  stack = undefined;
}

if (runs('drill')) {
  figures.drill = await section('drill', () =>
    measureDrill(out.replace(/(\.json)?$/, '.drill.json'), options.drillFiles, say),
  );
}

const endedAt = new Date();
const complete: BenchFigures = {
  ...figures,
  endedAt: endedAt.toISOString(),
  durationSeconds: round((endedAt.getTime() - startedAt.getTime()) / 1000, 1),
  targets: targetsOf(figures),
};
await writeFile(out, `${JSON.stringify(complete, null, 2)}\n`);
const markdown = out.replace(/(\.json)?$/, '.md');
await writeFile(markdown, renderMarkdown(complete));
process.stdout.write(`${renderText(complete)}\nFigures: ${out}\nTables as Markdown: ${markdown}\n`);
process.exit(complete.errors.length > 0 ? 1 : 0);
