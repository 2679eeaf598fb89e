import type { Command } from 'commander';
import { confirmQuiesce } from '../../lib/failover/confirmQuiesce.js';
import { parseConfirmRequest } from '../../lib/failover/requests.js';
import { failoverRuntime } from '../../lib/failover/runtime.js';
import { runStatus } from '../../lib/failover/status.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson, runIdArgument } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { writeLines } from '../io.js';
import { defaultRequester } from './failover.js';

interface ConfirmOptions {
  requestedBy?: string;
  json?: boolean;
}

export function registerConfirm(program: Command, cli: CliRun): void {
  program
    .command('confirm')
    .summary('confirm that Kyvos is stopped, so that a planned failover paused at its quiesce goes on')
    .description(
      "Confirm that Kyvos is stopped and writes nothing to the primary PostgreSQL server and storage account (the same library code as POST /api/failover/{runId}/confirm). A planned failover pauses at its quiesce step until then; it then checks that the primary's WAL no longer moves and the replica has replayed it, and that the storage secondary has synced past this moment, before it promotes and copies. Confirm only once Kyvos is stopped: a write after the confirmation may be lost.",
    )
    .argument(
      '<runId>',
      'the planned run waiting for the confirmation, e.g. fo-20261123T201500Z-3f9a1c',
      runIdArgument,
    )
    .option('--requested-by <name>', 'who confirms (default: cli:<user>@<host>)')
    .option('--json', 'print the run as JSON (the shape of GET /api/failover/{runId})')
    .addHelpText(
      'after',
      '\nExit codes: 0 confirmed; 1 no such run, or it is not waiting for a confirmation (ended, forced, not\nthere yet, already confirmed); 2 bad arguments; 3 configuration error.',
    )
    .action(async (runId: string, options: ConfirmOptions, command: Command) => {
      cli.exitCode = await confirm(runId, options, command, cli);
    });
}

async function confirm(
  runId: string,
  options: ConfirmOptions,
  command: Command,
  cli: CliRun,
): Promise<ExitCode> {
  const { io } = cli;
  const confirmation = parseConfirmRequest(
    {
      kyvosStopped: true,
      ...(options.requestedBy !== undefined ? { requestedBy: options.requestedBy } : {}),
    },
    defaultRequester(),
  );
  const { deps } = cliDeps(io, command);
  const run = await confirmQuiesce(failoverRuntime(deps), runId, confirmation);
  if (options.json) printJson(io, runStatus(run));
  else {
    writeLines(io.stdout, [
      `Confirmed for run ${runId}: Kyvos stopped at ${run.quiesce?.confirmedAt} (confirmed by ${run.quiesce?.confirmedBy}).`,
      "The run now checks the WAL and the storage sync, then promotes and copies; the Function app's workers (or kyvos-dr resume) carry it on.",
      `Follow it with: kyvos-dr status ${runId}`,
    ]);
  }
  return EXIT.ok;
}
