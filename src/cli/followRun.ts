import type { FailoverRun } from '../lib/failover/FailoverRun.js';
import type { FailoverRuntime } from '../lib/failover/FailoverService.js';
import { runUntilDone } from '../lib/failover/localWorker.js';
import { EXIT, type ExitCode } from './exitCodes.js';
import type { CliIo } from './io.js';
import { RunProgress } from './progress.js';

export interface FollowRunOptions {
  /** No progress display (the caller prints JSON at the end). */
  quiet: boolean;
  timeoutInMs: number;
}

/**
 * Works a run in this process until it ends: the Function app's own queue handlers on the same
 * queues (`runUntilDone`), with progress on stdout. This is the break-glass path when the Function
 * app is unreachable; when it is running too, both work the run safely (steps are claimed).
 *
 * Stopping early (Ctrl-C, the time limit) does not cancel the run: its record and queue messages stay,
 * and messages being worked on reappear after their visibility timeout. The error says how to go on.
 */
export async function followRun(
  runtime: FailoverRuntime,
  runId: string,
  io: CliIo,
  options: FollowRunOptions,
): Promise<FailoverRun> {
  const progress = options.quiet
    ? undefined
    : new RunProgress({ stream: io.stdout, tty: io.stdout.isTTY === true });
  try {
    return await runUntilDone(runtime, runId, {
      timeoutInMs: options.timeoutInMs,
      ...(progress ? { onProgress: (run: FailoverRun) => progress.update(run) } : {}),
      ...(io.abortSignal ? { abortSignal: io.abortSignal } : {}),
    });
  } catch (error) {
    // describeError appends the cause: why following stopped (the time limit, Ctrl-C, an error).
    throw new Error(
      `Stopped following failover run ${runId}, which is not cancelled: see it with "kyvos-dr status ${runId}" and continue it from here with "kyvos-dr resume ${runId}" (the Function app's workers continue it too)`,
      { cause: error },
    );
  } finally {
    progress?.stop();
  }
}

/** The exit code a run's outcome stands for (see `EXIT`). */
export function runExitCode(run: FailoverRun): ExitCode {
  switch (run.state) {
    case 'Succeeded': {
      const verdict = (run.report as { verdict?: unknown } | undefined)?.verdict;
      return run.request.dryRun && typeof verdict === 'string' && verdict.startsWith('refuse')
        ? EXIT.refused
        : EXIT.ok;
    }
    case 'Running':
      return EXIT.ok;
    case 'Refused':
      return EXIT.refused;
    case 'Failed':
      return EXIT.failed;
  }
}
