import { type Command, InvalidArgumentError, Option } from 'commander';
import type { StorageStrategy } from '../../lib/config/DrConfig.js';
import { storageStrategy } from '../../lib/config/rules.js';
import type { GlobalOptions } from '../cliDeps.js';
import { atLeast, type CliRun, wholeNumber } from '../command.js';
import type { ExitCode } from '../exitCodes.js';
import type { CliIo } from '../io.js';

export type DrillScenario = 'planned' | 'region-outage';

/** What `kyvos-dr drill` passes to the drill (local/drill/runDrill.ts). */
export interface DrillOptions {
  scenario: DrillScenario;
  /**
   * How the failover brings the data to the DR region, passed as the request's `strategy`: `copy`
   * (the default) or `accountFailover` (the RA-GRS account itself fails over).
   */
  strategy: StorageStrategy;
  /** Small segment files (1–4 KiB) in the engine work directory. */
  files: number;
  /** Blobs over the lowered large-blob threshold, copied with async Copy Blob. */
  largeBlobs: number;
  largeBlobMib: number;
  /** Rows seeded in the metadata repository before the live writer starts. */
  metadataRows: number;
  /** Where the JSON report goes; default `reports/drill-<runId>.json` under the working directory. */
  report?: string;
  timeoutSeconds: number;
  /**
   * Deploy the DR storage account first, as `infra/dr-storage-account.json` does in the deployment
   * docs: the rehearsal then copies a sample into it, and the failover finds it. Default true;
   * `--no-pre-provision-dr` leaves it to the failover to create.
   */
  preProvisionDr: boolean;
  json: boolean;
  verbose: boolean;
}

/** The command's options, as commander parses them. */
type DrillCommandOptions = Omit<DrillOptions, 'json' | 'verbose' | 'preProvisionDr'> & {
  json?: boolean;
  preProvisionDr?: boolean;
};

/** The drill module's entry: 0 when every check passed, 1 when one failed, 130 when interrupted. */
interface DrillModule {
  runDrill(options: DrillOptions, io: CliIo): Promise<ExitCode>;
}

/**
 * Where the drill is, from this file: local/drill/runDrill.ts in a development checkout (tsx runs it),
 * dist/local/drill/runDrill.js next to a build of everything. The drill starts the local stack, from
 * the dev dependencies, so it lives in local/, which src/ never imports: src/ is compiled alone. The
 * specifier is a variable so that TypeScript does not follow it.
 */
const DRILL_MODULE = '../../../local/drill/runDrill.js';

/**
 * Loads the drill. An installed app has no local/ (nor the dev dependencies the drill needs): that
 * is said in a sentence, not with a module resolution error.
 */
export async function loadDrill(specifier = DRILL_MODULE): Promise<DrillModule> {
  try {
    return (await import(specifier)) as DrillModule;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error(
      '"kyvos-dr drill" runs from a development checkout of kyvos-dr only: it needs local/ and the dev dependencies, which this installation lacks. Clone the repository, run "npm ci", then "npm run drill"',
      { cause: error },
    );
  }
}

/** `--strategy`, with the spellings the configuration and the request accept. */
function strategyArgument(value: string): StorageStrategy {
  const parsed = storageStrategy(value);
  if (!parsed.ok) throw new InvalidArgumentError('expected copy or account-failover.');
  return parsed.value;
}

/** Small files are at most 4 KiB; large blobs must stay well above the threshold set between them. */
const MIN_LARGE_BLOB_MIB = 1 / 16;

/** Sized so that the whole drill takes about a minute on two cores. */
const DEFAULTS = { files: 2000, largeBlobs: 2, largeBlobMib: 8, metadataRows: 1000, timeoutSeconds: 600 };

export function registerDrill(program: Command, cli: CliRun): void {
  program
    .command('drill')
    .summary('run a whole failover on the local stack, check it and write the report')
    .description(
      "Run a whole failover on the local stack and check it: start the stack, seed a Kyvos-like dataset and metadata repository, keep writing to the primary database, run the health checks and a rehearsal, start the failover through the Function app's HTTP handler, work it with the Function app's queue handlers, verify, print the summary and write the JSON report. Needs no Azure account. This is `npm run drill`.",
    )
    .addOption(
      new Option(
        '--scenario <scenario>',
        'planned: a planned failover on a healthy stack; region-outage: the primary region goes down, then a forced failover',
      )
        .choices(['planned', 'region-outage'])
        .default('planned'),
    )
    .option(
      '--strategy <strategy>',
      'how the data reaches the DR region: copy (into the DR account) or account-failover (the account itself fails over, keeping its name)',
      strategyArgument,
      'copy' satisfies StorageStrategy,
    )
    .option('--files <n>', 'small files to seed in the engine work directory', wholeNumber(1), DEFAULTS.files)
    .option(
      '--large-blobs <n>',
      'large blobs to seed (copied with async Copy Blob, over a lowered threshold)',
      wholeNumber(0),
      DEFAULTS.largeBlobs,
    )
    .option(
      '--large-blob-mib <mib>',
      'size of each large blob in MiB, at least 0.0625 (64 KiB)',
      atLeast(MIN_LARGE_BLOB_MIB),
      DEFAULTS.largeBlobMib,
    )
    .option(
      '--metadata-rows <n>',
      'rows seeded in the metadata repository before the live writer starts',
      wholeNumber(1),
      DEFAULTS.metadataRows,
    )
    .option('--report <file>', 'where to write the JSON report (default: reports/drill-<runId>.json)')
    .option(
      '--timeout-seconds <s>',
      'give up on the run after this long',
      wholeNumber(1),
      DEFAULTS.timeoutSeconds,
    )
    .option(
      '--no-pre-provision-dr',
      'do not deploy the DR storage account ahead (infra/dr-storage-account.json): the failover creates it, and the rehearsal before it cannot copy a sample',
    )
    .option('--json', 'print the JSON report on stdout instead of progress and the summary')
    .addHelpText(
      'after',
      `
The report holds the failover report (rpoSeconds, rtoSeconds, blobs, bytes, verification, promotedServer,
steps, the Kyvos deployment parameters, the checklist) and, under "drill", what the drill measured: timings,
the dataset, the metadata rows written and whether the promoted server has them, the copy throughput,
and the summary of the rehearsal run before the failover.

Exit codes: 0 every check passed; 1 a check failed (the reasons are printed); 2 bad arguments;
130 interrupted (the stack is stopped either way).`,
    )
    .action(async (options: DrillCommandOptions, command: Command) => {
      const { runDrill } = await loadDrill();
      const globals = command.optsWithGlobals<GlobalOptions>();
      cli.exitCode = await runDrill(
        {
          scenario: options.scenario,
          strategy: options.strategy,
          files: options.files,
          largeBlobs: options.largeBlobs,
          largeBlobMib: options.largeBlobMib,
          metadataRows: options.metadataRows,
          ...(options.report ? { report: options.report } : {}),
          timeoutSeconds: options.timeoutSeconds,
          preProvisionDr: options.preProvisionDr !== false,
          json: options.json === true,
          verbose: globals.verbose === true,
        },
        cli.io,
      );
    });
}
