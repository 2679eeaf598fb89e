import type { Command } from 'commander';
import { combineReadiness } from '../../lib/health/readiness.js';
import { runHealthCheck } from '../../lib/health/runHealthCheck.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { formatHealthReport, formatReadiness } from '../format.js';
import { writeLines } from '../io.js';

interface HealthOptions {
  json?: boolean;
}

export function registerHealth(program: Command, cli: CliRun): void {
  program
    .command('health')
    .summary('run both health checks now and show the readiness and RPO')
    .description(
      'Run both health checks now (storage geo-replication, the PostgreSQL read replica), record them in the health history as the timers do, and show each report and the combined readiness.',
    )
    .option('--json', 'print the readiness as JSON (the shape of GET /api/health, with both reports)')
    .addHelpText(
      'after',
      '\nExit codes: 0 Healthy; 1 Degraded or Unhealthy; 3 the configuration is not usable. See kyvos-dr --help.',
    )
    .action(async (options: HealthOptions, command: Command) => {
      cli.exitCode = await health(options, command, cli);
    });
}

async function health(options: HealthOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  const { deps } = cliDeps(io, command);
  const checkOptions = io.abortSignal ? { abortSignal: io.abortSignal } : {};
  // Storage first: the replica check reads the latest storage result for its planned-promote condition.
  const storage = await runHealthCheck('storage', deps, checkOptions);
  const replica = await runHealthCheck('replica', deps, checkOptions);
  const readiness = combineReadiness(storage, replica, { now: deps.clock() });
  if (options.json) printJson(io, readiness);
  else {
    writeLines(io.stdout, [
      ...formatHealthReport(storage),
      '',
      ...formatHealthReport(replica),
      '',
      ...formatReadiness(readiness),
    ]);
  }
  // A check that could not read the configuration reports Unhealthy; the exit code says what to fix.
  if ([storage, replica].some((r) => r.report.facts.configError === true)) return EXIT.config;
  return readiness.status === 'Healthy' ? EXIT.ok : EXIT.failed;
}
