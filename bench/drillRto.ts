import { main as kyvosDr } from '../src/cli/main.js';
import type { FailoverReport } from '../src/lib/report/failoverReport.js';
import { loadAverage, round } from './BenchContext.js';

interface DrillStep {
  name: string;
  status: string;
  /** From the request to the step's start and end. */
  startOffsetSeconds: number | null;
  endOffsetSeconds: number | null;
  durationSeconds: number | null;
}

export interface DrillFigures {
  /** `kyvos-dr drill --json` exited with this code (0: every check of the drill passed). */
  exitCode: number;
  problems: string[];
  state: string;
  /** Request to DR ready (verification ended), from the run's own record. */
  rtoSeconds: number | null;
  /** From the HTTP request to the end of the run, as the drill measured it. */
  failoverSeconds: number | null;
  steps: DrillStep[];
  dataset: {
    files: number;
    largeBlobs: number;
    largeBlobBytes: number;
    blobs: number | null;
    bytes: number | null;
  };
  blobs: FailoverReport['blobs'];
  verificationOk: boolean | null;
  failoverOptions: unknown;
  timings: Record<string, number | null>;
  loadAverage: number;
}

interface DrillDocument extends FailoverReport {
  drill: {
    ok: boolean;
    exitCode: number;
    problems: string[];
    timings: Record<string, number | null>;
    dataset: {
      files: number;
      largeBlobs: number;
      largeBlobBytes: number;
      seeded: { blobs: number; bytes: number } | null;
    };
    failoverOptions: unknown;
  };
}

/**
 * Section 4: the drill's RTO on its default dataset (or `files` files), by running `kyvos-dr drill` itself (the code of
 * `npm run drill`, with its defaults: it starts a stack of its own, seeds, runs the health checks,
 * requests a planned failover through the HTTP handler and works it with the queue handlers). Run
 * after the benchmark's own stack has stopped, so that the two never share the cores.
 */
export async function measureDrill(
  reportFile: string,
  files: number | undefined,
  say: (text: string) => void,
): Promise<DrillFigures> {
  say(
    `drill: npm run drill (${files === undefined ? 'its default dataset' : `${files} files`}, its own stack)`,
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const args = [
    'drill',
    '--json',
    '--report',
    reportFile,
    ...(files === undefined ? [] : ['--files', String(files)]),
  ];
  const exitCode = await kyvosDr(args, {
    stdout: { write: (chunk: string) => stdout.push(chunk) },
    stderr: { write: (chunk: string) => stderr.push(chunk) },
    env: process.env,
    cwd: process.cwd(),
  });
  let document: DrillDocument;
  try {
    document = JSON.parse(stdout.join('')) as DrillDocument;
  } catch {
    throw new Error(`The drill printed no JSON report (exit code ${exitCode}): ${stderr.join('').trim()}`);
  }
  const requestedAt = Date.parse(document.requestedAt);
  const offset = (iso: string | null) => (iso ? round((Date.parse(iso) - requestedAt) / 1000, 1) : null);
  const figures: DrillFigures = {
    exitCode,
    problems: document.drill.problems,
    state: document.state,
    rtoSeconds: document.rtoSeconds,
    failoverSeconds: document.drill.timings.failoverSeconds ?? null,
    steps: document.steps.map((step) => ({
      name: step.name,
      status: step.status,
      startOffsetSeconds: offset(step.startedAt),
      endOffsetSeconds: offset(step.endedAt),
      durationSeconds: step.durationSeconds,
    })),
    dataset: {
      files: document.drill.dataset.files,
      largeBlobs: document.drill.dataset.largeBlobs,
      largeBlobBytes: document.drill.dataset.largeBlobBytes,
      blobs: document.drill.dataset.seeded?.blobs ?? null,
      bytes: document.drill.dataset.seeded?.bytes ?? null,
    },
    blobs: document.blobs,
    verificationOk: document.verification?.ok ?? null,
    failoverOptions: document.drill.failoverOptions,
    timings: document.drill.timings,
    loadAverage: loadAverage(),
  };
  say(`    RTO ${figures.rtoSeconds} s (${figures.state}, drill exit code ${exitCode})`);
  return figures;
}
