import { type Command, Option } from 'commander';
import { DOCTOR_AREAS, type DoctorArea } from '../../lib/doctor/doctorCheck.js';
import { type DoctorReport, doctorContextOf, runDoctor } from '../../lib/doctor/runDoctor.js';
import { cliDeps } from '../cliDeps.js';
import { type CliRun, printJson } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { formatDoctorReport } from '../format.js';
import { writeLines } from '../io.js';

interface DoctorOptions {
  area?: DoctorArea[];
  json?: boolean;
}

const EXIT_HELP = `
Exit codes: 0 every prerequisite holds; 1 any finding is fail, warn or unknown (a warning, such as a
SAS that expires soon, needs action before the failover, and a prerequisite the doctor could not
check is not proven); 3 the configuration is not usable. See kyvos-dr --help.`;

export function registerDoctor(program: Command, cli: CliRun): void {
  program
    .command('doctor')
    .summary("check what a failover will need on the real subscription, naming each problem's fix")
    .description(
      "Check the prerequisites of a failover on the subscription: the identity's effective permissions at every scope the runbook uses, the network path, Key Vault, PostgreSQL and storage. Only reads: nothing in Azure, Key Vault, storage or PostgreSQL is changed. Every problem found names its fix. It checks as the identity it signs in as (DefaultAzureCredential): run it as the app's managed identity, from the app's virtual network, for the verdict that counts (docs/doctor.md); the health timers run the same checks as the app.",
    )
    .addOption(
      new Option('--area <area...>', 'only the checks of these areas (default: all)').choices(DOCTOR_AREAS),
    )
    .option('--json', 'print the report as JSON (outcome, counts, every finding)')
    .addHelpText('after', EXIT_HELP)
    .action(async (options: DoctorOptions, command: Command) => {
      cli.exitCode = await doctor(options, command, cli);
    });
}

async function doctor(options: DoctorOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  const { deps } = cliDeps(io, command);
  // A configuration that cannot be read throws a ConfigError: main() prints it and exits 3.
  const config = await deps.config();
  const report = await runDoctor(doctorContextOf(deps, config, io.abortSignal), {
    ...(options.area ? { areas: options.area } : {}),
    ...(deps.doctorChecks ? { checks: deps.doctorChecks } : {}),
  });
  if (options.json) printJson(io, report);
  else writeLines(io.stdout, formatDoctorReport(report));
  return doctorExitCode(report);
}

/** 0 only when every prerequisite was checked and holds; a warning or an unchecked one is not a pass. */
export function doctorExitCode(report: DoctorReport): ExitCode {
  return report.outcome === 'pass' ? EXIT.ok : EXIT.failed;
}
