import type { Command } from 'commander';
import { rehearsalRuntime, startRehearsal } from '../../lib/rehearsal/RehearsalService.js';
import { rehearsalSummary } from '../../lib/rehearsal/rehearsalSummary.js';
import { parseRehearsalRequest } from '../../lib/rehearsal/requests.js';
import { runRehearsal } from '../../lib/rehearsal/runRehearsal.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson, wholeNumber } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { formatRehearsal, formatRehearsalHistory } from '../formatRehearsal.js';
import { writeLines } from '../io.js';
import { defaultRequester } from './failover.js';

interface RehearseOptions {
  sampleBlobs?: number;
  sampleBytes?: number;
  instances?: number;
  requestedBy?: string;
  history?: boolean;
  json?: boolean;
}

const HISTORY_LIMIT = 20;

export function registerRehearse(program: Command, cli: CliRun): void {
  program
    .command('rehearse')
    .summary('rehearse a failover on the real subscription without changing it, and keep the evidence')
    .description(
      "Rehearse a failover without changing anything (the same library code as POST /api/rehearsal, run in this process): preflight's checks and go/no-go for both modes and the doctor, a listing of the whole source through the -secondary endpoint (blobs, bytes, a size histogram), a sample copied server-side into a scratch container of the DR account and verified, the measured throughput and the copy time of the whole source extrapolated from it, the replica's lag and promote prerequisites (no promote), then the scratch container deleted. The report, with the estimated RPO and RTO, is kept in the app's storage (kyvos-dr rehearsals).",
    )
    .option('--sample-blobs <n>', 'blobs in the sample at most (default 1000)', wholeNumber(1))
    .option('--sample-bytes <n>', 'bytes in the sample at most (default 1073741824, 1 GiB)', wholeNumber(0))
    .option(
      '--instances <n>',
      "Function instances the copy estimate assumes (default 1; at most the app's maximumInstanceCount)",
      wholeNumber(1),
    )
    .option('--requested-by <name>', 'who asks (default: cli:<user>@<host>)')
    .option('--history', 'list the latest rehearsals instead of running one')
    .option('--json', 'print the record as JSON (the shape of GET /api/rehearsal/{id}); no progress')
    .addHelpText(
      'after',
      '\nExit codes: 0 the rehearsal passed; 1 it found a problem (or could not finish); 2 bad arguments; 3 configuration error; 5 a failover is running. See kyvos-dr --help.',
    )
    .action(async (options: RehearseOptions, command: Command) => {
      cli.exitCode = options.history
        ? await history(options, command, cli)
        : await rehearse(options, command, cli);
    });
  program
    .command('rehearsals')
    .summary('list the latest rehearsals, newest first')
    .option('--json', 'print them as JSON (the shape of GET /api/rehearsal)')
    .addHelpText(
      'after',
      '\nExit codes: 0 listed; 3 configuration error (the app storage account is not set). See kyvos-dr --help.',
    )
    .action(async (options: RehearseOptions, command: Command) => {
      cli.exitCode = await history(options, command, cli);
    });
}

async function rehearse(options: RehearseOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  const { deps } = cliDeps(io, command);
  const request = parseRehearsalRequest(
    {
      ...(options.sampleBlobs !== undefined ? { sampleBlobs: options.sampleBlobs } : {}),
      ...(options.sampleBytes !== undefined ? { sampleBytes: options.sampleBytes } : {}),
      ...(options.instances !== undefined ? { instances: options.instances } : {}),
      ...(options.requestedBy !== undefined ? { requestedBy: options.requestedBy } : {}),
    },
    defaultRequester(),
  );
  const runtime = rehearsalRuntime(deps);
  const record = await startRehearsal(runtime, request);
  const startedAt = Date.now();
  if (!options.json) io.stderr.write(`Rehearsal ${record.rehearsalId} started.\n`);
  const ended = await runRehearsal(runtime, record.rehearsalId, {
    ...(io.abortSignal ? { abortSignal: io.abortSignal } : {}),
    onPhase: (phase) => {
      if (!options.json) io.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${phase}\n`);
    },
  });
  if (options.json) printJson(io, ended);
  else writeLines(io.stdout, formatRehearsal(ended));
  return ended.state === 'Passed' ? EXIT.ok : EXIT.failed;
}

async function history(options: RehearseOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  const { deps } = cliDeps(io, command);
  const rows = (await rehearsalRuntime(deps).rehearsals.list({ limit: HISTORY_LIMIT })).map(rehearsalSummary);
  if (options.json) printJson(io, { rehearsals: rows });
  else writeLines(io.stdout, formatRehearsalHistory(rows));
  return EXIT.ok;
}
