import cliProgress from 'cli-progress';
import type { FailoverRun, StepName, StepStatus } from '../lib/failover/FailoverRun.js';
import { formatBytes, formatCount, formatSeconds, quiesceSummary } from './format.js';
import type { OutputStream } from './io.js';

export interface RunProgressOptions {
  stream: OutputStream;
  /** A progress bar for the copy (a terminal), or plain lines (a pipe, a log file, CI). */
  tty: boolean;
  /** Plain lines: at most one copy progress line per this interval. Default 2000 ms. */
  lineIntervalInMs?: number;
}

/**
 * Shows a failover run as it advances, from the run records `runUntilDone` reports: one line per step
 * started and ended, and the copy's progress (blobs done of listed, bytes, throughput) as a bar on a
 * terminal or as a plain line at most every two seconds otherwise. Lines start with the time since
 * the display started.
 */
export class RunProgress {
  readonly #stream: OutputStream;
  readonly #tty: boolean;
  readonly #lineIntervalInMs: number;
  readonly #startedAt = Date.now();
  readonly #seen = new Map<StepName, StepStatus>();
  readonly #instructions = new Map<StepName, string>();
  #lastCopyLineAt = 0;
  #lastCopyText = '';
  #bar: { multi: cliProgress.MultiBar; bar: cliProgress.SingleBar } | undefined;

  constructor(options: RunProgressOptions) {
    this.#stream = options.stream;
    this.#tty = options.tty;
    this.#lineIntervalInMs = options.lineIntervalInMs ?? 2_000;
  }

  /** Prints a line, above the bar when one is shown. */
  log(text: string): void {
    const line = `[${this.#elapsed()}] ${text}\n`;
    if (this.#bar) this.#bar.multi.log(line);
    else this.#stream.write(line);
  }

  update(run: FailoverRun): void {
    for (const name of Object.keys(run.steps) as StepName[]) {
      const step = run.steps[name];
      const before = this.#seen.get(name) ?? 'Pending';
      if (step.status !== before) {
        this.#seen.set(name, step.status);
        if (name === 'storage.copy' && step.status !== 'Running') this.#copyProgress(run, true);
        if (step.status === 'Running') this.log(`step ${name} started`);
        else if (step.status === 'Succeeded') {
          this.log(
            `step ${name} succeeded in ${formatSeconds(step.durationSeconds)}${stepFigures(name, run)}`,
          );
        } else if (step.status === 'Failed') {
          this.log(
            `step ${name} FAILED after ${formatSeconds(step.durationSeconds)}: ${step.error ?? 'no reason'}`,
          );
        }
      }
      // What a step paused for outside work asks or says (the quiesce), once each.
      const instruction = step.status === 'Running' ? step.detail?.instruction : undefined;
      if (typeof instruction === 'string' && instruction !== this.#instructions.get(name)) {
        this.#instructions.set(name, instruction);
        this.log(`step ${name} waits: ${instruction}`);
      }
    }
    if (run.steps['storage.copy'].status === 'Running') this.#copyProgress(run, false);
  }

  /** Ends the bar, leaving its last state on screen. Safe to call twice. */
  stop(): void {
    this.#bar?.multi.stop();
    this.#bar = undefined;
  }

  #copyProgress(run: FailoverRun, final: boolean): void {
    const p = run.progress;
    const done = p.blobsCopied + p.blobsSkipped + p.blobsFailed;
    const startedAt = run.steps['storage.copy'].startedAt;
    const elapsedSeconds = startedAt ? Math.max(0.1, (Date.now() - Date.parse(startedAt)) / 1000) : 0;
    const rate = elapsedSeconds > 0 ? `${formatBytes(Math.round(p.bytesCopied / elapsedSeconds))}/s` : '';
    if (this.#tty) {
      if (!this.#bar && !final && p.blobsListed > 0) {
        const multi = new cliProgress.MultiBar(
          {
            stream: this.#stream as NodeJS.WritableStream,
            format: '  copy [{bar}] {percentage}% {value}/{total}{more} blobs | {copied} | {rate}',
            hideCursor: true,
            clearOnComplete: false,
            barsize: 20,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        this.#bar = { multi, bar: multi.create(p.blobsListed, done, { more: '', copied: '', rate: '' }) };
      }
      if (this.#bar) {
        this.#bar.bar.setTotal(Math.max(p.blobsListed, 1));
        this.#bar.bar.update(done, {
          more: p.listingComplete ? '' : '+',
          copied: formatBytes(p.bytesCopied),
          rate,
        });
        if (final) this.stop();
      }
      return;
    }
    const text = `copy: ${formatCount(done)} of ${formatCount(p.blobsListed)}${p.listingComplete ? '' : '+'} blobs done (${formatCount(p.blobsCopied)} copied, ${formatCount(p.blobsSkipped)} skipped, ${formatCount(p.blobsFailed)} failed), ${formatBytes(p.bytesCopied)} copied${rate ? `, ${rate}` : ''}`;
    const now = Date.now();
    if (text === this.#lastCopyText || (!final && now - this.#lastCopyLineAt < this.#lineIntervalInMs))
      return;
    if (p.blobsListed === 0 && !final) return;
    this.#lastCopyLineAt = now;
    this.#lastCopyText = text;
    this.log(text);
  }

  #elapsed(): string {
    const s = Math.floor((Date.now() - this.#startedAt) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }
}

function stepFigures(name: StepName, run: FailoverRun): string {
  if (name === 'storage.copy') {
    const p = run.progress;
    return `: ${formatCount(p.blobsCopied)} blobs copied, ${formatCount(p.blobsSkipped)} skipped, ${formatCount(p.blobsFailed)} failed, ${formatBytes(p.bytesCopied)}`;
  }
  if (name === 'preflight' && run.decision) {
    const verdict = (run.steps.preflight.detail as { verdict?: string } | undefined)?.verdict;
    return `: readiness ${run.decision.readiness}, RPO ${formatSeconds(run.decision.rpoSeconds)}${verdict ? `, ${verdict}` : ''}`;
  }
  if (name === 'quiesce') return `: ${quiesceSummary(run.steps.quiesce.detail)}`;
  return '';
}
