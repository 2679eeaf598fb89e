/**
 * `kyvos-dr`: the operator's command line. It runs the same library code as the Function app, against
 * Azure (`DefaultAzureCredential`) or the local stack, so it is also the way in when the Function app
 * itself is out of reach.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { redactAzureSdkLog } from '../lib/azureSdkLog.js';
import { ConfigError } from '../lib/errors.js';
import { describeError } from '../lib/redact.js';
import { settingHint } from './cliDeps.js';
import { newCliRun } from './command.js';
import { registerConfig } from './commands/config.js';
import { registerConfirm } from './commands/confirm.js';
import { registerDoctor } from './commands/doctor.js';
import { registerDrill } from './commands/drill.js';
import { registerFailover, registerRetry } from './commands/failover.js';
import { registerHealth } from './commands/health.js';
import { registerRehearse } from './commands/rehearse.js';
import { registerResume, registerStatus } from './commands/status.js';
import { causeOfType, EXIT, EXIT_CODES_HELP, type ExitCode, exitCodeOf } from './exitCodes.js';
import { type CliIo, processIo } from './io.js';

const ENVIRONMENT_HELP = `
Where kyvos-dr finds things (a flag overrides its environment variable):
  --key-vault-url / KYVOS_DR_KEY_VAULT_URL              the Key Vault holding the kyvos-dr-* secrets;
                                                        without it secrets come from KYVOS_DR_* variables
  --app-storage-account / KYVOS_DR_APP_STORAGE_ACCOUNT  kyvos-dr's own storage: health history, runs, queues
  --local-stack / KYVOS_DR_LOCAL_STACK                  a local stack descriptor (printed by npm run local);
                                                        without it kyvos-dr talks to Azure as the signed-in
                                                        identity (DefaultAzureCredential: az login, managed identity…)

${EXIT_CODES_HELP}

Examples:
  kyvos-dr config check --key-vault-url https://kv-kyvos.vault.azure.net --app-storage-account kyvosdrapp
  kyvos-dr health --json
  kyvos-dr doctor                                 # before the first failover: every prerequisite, each fix
  kyvos-dr doctor --area permissions keyVault --json
  kyvos-dr failover --mode planned --reason "quarterly DR test" --dry-run
  kyvos-dr status fo-20261123T201500Z-3f9a1c
  kyvos-dr confirm fo-20261123T201500Z-3f9a1c    # Kyvos is stopped: a planned run goes on
  kyvos-dr retry fo-20261123T201500Z-3f9a1c --reason "replica quota raised"
  kyvos-dr rehearse --sample-blobs 500    # a failover rehearsed without changing anything
  kyvos-dr drill --scenario region-outage`;

/** Builds the command tree. Output goes to `io`; errors are thrown (`exitOverride`), never `process.exit`. */
export function buildProgram(cli: ReturnType<typeof newCliRun>): Command {
  const { io } = cli;
  const program = new Command('kyvos-dr')
    .description(
      'Disaster recovery for Kyvos on Azure: health and RPO, failover prerequisites, failover, run status, rehearsal, configuration check.',
    )
    .addOption(
      new Option(
        '--key-vault-url <url>',
        'Key Vault with the kyvos-dr-* secrets (env KYVOS_DR_KEY_VAULT_URL)',
      ),
    )
    .addOption(
      new Option(
        '--app-storage-account <name>',
        "kyvos-dr's own storage account: health history, runs, queues (env KYVOS_DR_APP_STORAGE_ACCOUNT)",
      ),
    )
    .addOption(
      new Option(
        '--local-stack <descriptor.json>',
        'run against the local stack this descriptor describes (env KYVOS_DR_LOCAL_STACK)',
      ),
    )
    .option('--verbose', 'also print the structured log lines of the library code on stderr')
    .addHelpText('after', ENVIRONMENT_HELP)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  // Subcommands inherit the output and exit settings above, so they are added after them.
  registerHealth(program, cli);
  registerDoctor(program, cli);
  registerFailover(program, cli);
  registerStatus(program, cli);
  registerResume(program, cli);
  registerRetry(program, cli);
  registerConfirm(program, cli);
  registerConfig(program, cli);
  registerRehearse(program, cli);
  registerDrill(program, cli);
  return program;
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and returns the exit code. Never
 * throws and never exits the process: bad arguments are a usage message (exit 2), errors one line.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  // Here as well as in createDeps: the drill starts and seeds its stack before it builds any deps.
  redactAzureSdkLog();
  const cli = newCliRun(io);
  const program = buildProgram(cli);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return cli.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, `help <command>` and --version end here with exit code 0; anything else commander
      // rejects (and the help it prints when a command is missing) is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const code = exitCodeOf(error, io.abortSignal);
    const hint = settingHint(causeOfType(error, ConfigError)?.setting);
    io.stderr.write(`kyvos-dr: ${describeError(error)}${hint}\n`);
    return code;
  }
}

/**
 * Runs the CLI as the process: Ctrl-C aborts the command (a second one exits at once), and the process
 * exits with the command's code once stdout is flushed. Used by `bin/kyvos-dr.js`, `npm run kyvos-dr`
 * and `npm run drill`.
 */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(EXIT.interrupted);
    process.stderr.write(`\n${signal}: stopping (again to exit at once)...\n`);
    controller.abort(new Error(`Interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(argv, processIo(controller.signal));
  // Clients keep sockets open; exit rather than wait for them, once stdout has been written out.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

/** True when this module is the script node was started with (not imported by a test or the bin). */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

if (isEntryPoint(import.meta.url)) await runCli();
