import os from 'node:os';
import { type Command, Option } from 'commander';
import type { FailoverRun } from '../../lib/failover/FailoverRun.js';
import { type FailoverRuntime, retryFailover, startFailover } from '../../lib/failover/FailoverService.js';
import { parseFailoverRequest, parseRetryRequest } from '../../lib/failover/requests.js';
import { failoverRuntime } from '../../lib/failover/runtime.js';
import { runStatus } from '../../lib/failover/status.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson, runIdArgument, wholeNumber } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { followRun, runExitCode } from '../followRun.js';
import { formatRun } from '../format.js';
import { writeLines } from '../io.js';

/** The flags of `kyvos-dr failover`, as commander parses them. */
interface FailoverCommandOptions {
  mode: 'planned' | 'forced';
  reason: string;
  dryRun?: boolean;
  requestedBy?: string;
  strategy?: string;
  wait: boolean;
  timeoutMinutes?: number;
  json?: boolean;
}

/** How long the CLI works a run before it stops following it: as long as the copy may take. */
const DEFAULT_TIMEOUT_MINUTES = 7 * 24 * 60;

export function registerFailover(program: Command, cli: CliRun): void {
  program
    .command('failover')
    .summary('start a failover (planned or forced, or a dry run) and work it from here')
    .description(
      "Start a failover run (the same library code as POST /api/failover) and, unless --no-wait, work it in this process with the Function app's own queue handlers: the break-glass path when the Function app is unreachable. Shows progress, then the summary, the Kyvos deployment parameters and the checklist.",
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'planned: refused when it would lose data (replica not caught up, storage RPO over its threshold); forced: proceeds and records the data it may lose. Either is refused, changing nothing, when its copy cannot read the source',
      )
        .choices(['planned', 'forced'])
        .makeOptionMandatory(),
    )
    .requiredOption('--reason <text>', 'why the failover is requested (recorded in the run and its report)')
    .option(
      '--dry-run',
      'check and plan only: health now, the go/no-go verdict, what would be copied and promoted; changes nothing',
    )
    .option('--requested-by <name>', 'who requests it (default: cli:<user>@<host>)')
    .option(
      '--strategy <strategy>',
      "how the data reaches the DR region: copy (into the DR account) or account-failover (the account itself fails over, keeping its name); default: the configuration's kyvos-dr-storage-strategy",
    )
    .option(
      '--no-wait',
      "return once the run is accepted and leave the work to the Function app's queue workers",
    )
    .option(
      '--timeout-minutes <minutes>',
      'stop following after this long; the run is not cancelled (default: 7 days, as long as a copy may take)',
      wholeNumber(1),
    )
    .option(
      '--json',
      'print the run as JSON at the end (the shape of GET /api/failover/{runId}); no progress',
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 the run Succeeded (or was accepted, with --no-wait; or the dry run says it may proceed);
1 the run Failed; 2 bad arguments; 3 configuration error; 4 refused, nothing changed (a planned failover
would lose data, or the run could not finish); 5 another failover run is in progress; 130 interrupted (the run continues: kyvos-dr resume <runId>).

Examples:
  kyvos-dr failover --mode planned --reason "DR drill" --dry-run
  kyvos-dr failover --mode forced --reason "centralus outage, incident 4711" --key-vault-url https://kv-kyvos.vault.azure.net --app-storage-account kyvosdrapp`,
    )
    .action(async (options: FailoverCommandOptions, command: Command) => {
      cli.exitCode = await failover(options, command, cli);
    });
}

async function failover(options: FailoverCommandOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  // The same validation as the HTTP body: a bad reason is a usage error naming the field.
  const request = parseFailoverRequest(
    {
      mode: options.mode,
      reason: options.reason,
      dryRun: options.dryRun === true,
      ...(options.requestedBy !== undefined ? { requestedBy: options.requestedBy } : {}),
      ...(options.strategy !== undefined ? { strategy: options.strategy } : {}),
    },
    defaultRequester(),
  );
  const { deps } = cliDeps(io, command);
  // Fail before anything is locked or queued when the configuration is not usable: the queue workers
  // would otherwise retry a run that cannot start.
  await deps.config();
  const runtime = failoverRuntime(deps);
  const run = await startFailover(runtime, request);
  if (!options.json) {
    writeLines(io.stdout, [
      `Failover run ${run.runId} accepted: ${request.mode}${request.dryRun ? ' dry run' : ''}, requested by ${request.requestedBy}.`,
      `See it with: kyvos-dr status ${run.runId}`,
    ]);
  }
  return workRun(runtime, run, options, cli);
}

/** Works an accepted run in this process until it ends (unless `--no-wait`), then prints it. */
async function workRun(
  runtime: FailoverRuntime,
  run: FailoverRun,
  options: Pick<FailoverCommandOptions, 'wait' | 'timeoutMinutes' | 'json'>,
  cli: CliRun,
): Promise<ExitCode> {
  const { io } = cli;
  if (!options.wait) {
    if (options.json) printJson(io, runStatus(run));
    else io.stdout.write("The Function app's queue workers do the work (--no-wait).\n");
    return EXIT.ok;
  }
  const ended = await followRun(runtime, run.runId, io, {
    quiet: options.json === true,
    timeoutInMs: (options.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES) * 60_000,
  });
  if (options.json) printJson(io, runStatus(ended));
  else writeLines(io.stdout, ['', ...formatRun(ended)]);
  return runExitCode(ended);
}

/** The flags of `kyvos-dr retry`, as commander parses them. */
interface RetryCommandOptions {
  reason: string;
  requestedBy?: string;
  wait: boolean;
  timeoutMinutes?: number;
  json?: boolean;
}

export function registerRetry(program: Command, cli: CliRun): void {
  program
    .command('retry')
    .summary('run a failed failover run again from its failed steps, once the cause is fixed')
    .description(
      'Run a failover run that ended Failed again (the same library code as POST /api/failover/{runId}/retry): its failed steps, and the steps skipped because of them, run again; what succeeded is kept, so partitions already copied are not copied again and a promoted server is not promoted again. Then, unless --no-wait, work it in this process as failover does.',
    )
    .argument('<runId>', 'the failed run, e.g. fo-20261123T201500Z-3f9a1c', runIdArgument)
    .requiredOption('--reason <text>', 'why it is retried: what was fixed (recorded in the run)')
    .option('--requested-by <name>', 'who retries it (default: cli:<user>@<host>)')
    .option(
      '--no-wait',
      "return once the run is reopened and leave the work to the Function app's queue workers",
    )
    .option(
      '--timeout-minutes <minutes>',
      'stop following after this long; the run is not cancelled (default: 7 days)',
      wholeNumber(1),
    )
    .option('--json', 'print the run as JSON at the end; no progress')
    .addHelpText(
      'after',
      '\nExit codes: as for failover (see kyvos-dr failover --help); 1 also when there is no such run, or it\ndid not fail (it is running, succeeded or was refused).',
    )
    .action(async (runId: string, options: RetryCommandOptions, command: Command) => {
      cli.exitCode = await retry(runId, options, command, cli);
    });
}

async function retry(
  runId: string,
  options: RetryCommandOptions,
  command: Command,
  cli: CliRun,
): Promise<ExitCode> {
  const { io } = cli;
  const request = parseRetryRequest(
    {
      reason: options.reason,
      ...(options.requestedBy !== undefined ? { requestedBy: options.requestedBy } : {}),
    },
    defaultRequester(),
  );
  const { deps } = cliDeps(io, command);
  await deps.config();
  const runtime = failoverRuntime(deps);
  const run = await retryFailover(runtime, runId, request);
  if (!options.json) {
    const failed = run.retries?.at(-1)?.failedSteps ?? [];
    writeLines(io.stdout, [
      `Failover run ${run.runId} retried (retry ${run.retries?.length ?? 1}), requested by ${request.requestedBy}; failed before: ${failed.join(', ') || 'no step'}.`,
      `See it with: kyvos-dr status ${run.runId}`,
    ]);
  }
  return workRun(runtime, run, options, cli);
}

/** Who the CLI acts for when `--requested-by` is not given. */
export function defaultRequester(): string {
  try {
    return `cli:${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `cli:${os.hostname()}`;
  }
}
