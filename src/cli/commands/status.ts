import type { Command } from 'commander';
import type { Deps } from '../../lib/deps.js';
import type { FailoverRun } from '../../lib/failover/FailoverRun.js';
import { failoverRuntime } from '../../lib/failover/runtime.js';
import { runStatus } from '../../lib/failover/status.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson, runIdArgument, wholeNumber } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { followRun, runExitCode } from '../followRun.js';
import { formatRun } from '../format.js';
import { writeLines } from '../io.js';

interface StatusOptions {
  json?: boolean;
}

interface ResumeOptions extends StatusOptions {
  timeoutMinutes?: number;
}

export function registerStatus(program: Command, cli: CliRun): void {
  program
    .command('status')
    .summary('show a failover run: state, steps, progress, report')
    .description(
      'Show a failover run: state, steps with timings, copy progress, the decision, errors and, once it has ended, its summary, the Kyvos deployment parameters and the checklist (the same record as GET /api/failover/{runId}).',
    )
    .argument('<runId>', 'the run id, e.g. fo-20261123T201500Z-3f9a1c', runIdArgument)
    .option('--json', 'print the run as JSON (the shape of GET /api/failover/{runId})')
    .addHelpText(
      'after',
      '\nExit codes: 0 the run Succeeded or is still running; 1 it Failed, or no such run; 2 bad arguments;\n3 configuration error; 4 it was Refused (or, for a dry run, would be).',
    )
    .action(async (runId: string, options: StatusOptions, command: Command) => {
      cli.exitCode = await status(runId, options, command, cli);
    });
}

export function registerResume(program: Command, cli: CliRun): void {
  program
    .command('resume')
    .summary('work a running failover run from here until it ends')
    .description(
      "Work a running failover run in this process until it ends, with the Function app's own queue handlers: to continue a run after the CLI was stopped (Ctrl-C) or while the Function app is unreachable. Safe while other workers work it too.",
    )
    .argument('<runId>', 'the run id, e.g. fo-20261123T201500Z-3f9a1c', runIdArgument)
    .option(
      '--timeout-minutes <minutes>',
      'stop following after this long; the run is not cancelled (default: 7 days)',
      wholeNumber(1),
    )
    .option('--json', 'print the run as JSON at the end; no progress')
    .addHelpText('after', '\nExit codes: as for failover (see kyvos-dr failover --help).')
    .action(async (runId: string, options: ResumeOptions, command: Command) => {
      cli.exitCode = await resume(runId, options, command, cli);
    });
}

async function getRun(deps: Deps, runId: string, cli: CliRun): Promise<FailoverRun | undefined> {
  const run = await failoverRuntime(deps).store.get(runId);
  if (!run) {
    cli.io.stderr.write(
      `No failover run ${runId} in the app storage account ${deps.appStorageAccount} (container kyvos-dr).\n`,
    );
  }
  return run;
}

async function status(
  runId: string,
  options: StatusOptions,
  command: Command,
  cli: CliRun,
): Promise<ExitCode> {
  const { deps } = cliDeps(cli.io, command);
  const run = await getRun(deps, runId, cli);
  if (!run) return EXIT.failed;
  if (options.json) printJson(cli.io, runStatus(run));
  else writeLines(cli.io.stdout, formatRun(run));
  return runExitCode(run);
}

async function resume(
  runId: string,
  options: ResumeOptions,
  command: Command,
  cli: CliRun,
): Promise<ExitCode> {
  const { io } = cli;
  const { deps } = cliDeps(io, command);
  await deps.config();
  let run = await getRun(deps, runId, cli);
  if (!run) return EXIT.failed;
  if (run.state === 'Running') {
    if (!options.json) io.stdout.write(`Working failover run ${runId} in this process.\n`);
    run = await followRun(failoverRuntime(deps), runId, io, {
      quiet: options.json === true,
      timeoutInMs: (options.timeoutMinutes ?? 7 * 24 * 60) * 60_000,
    });
  }
  if (options.json) printJson(io, runStatus(run));
  else writeLines(io.stdout, ['', ...formatRun(run)]);
  return runExitCode(run);
}
