import os from 'node:os';
import { type Command, Option } from 'commander';
import { startFailover } from '../../lib/failover/FailoverService.js';
import { parseFailoverRequest } from '../../lib/failover/requests.js';
import { failoverRuntime } from '../../lib/failover/runtime.js';
import { runStatus } from '../../lib/failover/status.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson, wholeNumber } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { followRun, runExitCode } from '../followRun.js';
import { formatRun } from '../format.js';
import { writeLines } from '../io.js';

interface FailoverOptions {
  mode: 'planned' | 'forced';
  reason: string;
  dryRun?: boolean;
  requestedBy?: string;
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
        'planned: refused when it would lose data (replica not caught up, storage RPO over its threshold); forced: proceeds and records the data it may lose',
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
1 the run Failed; 2 bad arguments; 3 configuration error; 4 refused (a planned failover would lose data);
5 another failover run is in progress; 130 interrupted (the run continues: kyvos-dr resume <runId>).

Examples:
  kyvos-dr failover --mode planned --reason "DR drill" --dry-run
  kyvos-dr failover --mode forced --reason "centralus outage, incident 4711" --key-vault-url https://kv-kyvos.vault.azure.net --app-storage-account kyvosdrapp`,
    )
    .action(async (options: FailoverOptions, command: Command) => {
      cli.exitCode = await failover(options, command, cli);
    });
}

async function failover(options: FailoverOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  // The same validation as the HTTP body: a bad reason is a usage error naming the field.
  const request = parseFailoverRequest(
    {
      mode: options.mode,
      reason: options.reason,
      dryRun: options.dryRun === true,
      ...(options.requestedBy !== undefined ? { requestedBy: options.requestedBy } : {}),
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

function defaultRequester(): string {
  try {
    return `cli:${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `cli:${os.hostname()}`;
  }
}
