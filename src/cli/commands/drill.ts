import { type Command, Option } from 'commander';
import type { GlobalOptions } from '../cliDeps.js';
import { atLeast, type CliRun, wholeNumber } from '../command.js';
import type { DrillScenario } from '../drill/runDrill.js';

interface DrillCommandOptions {
  scenario: DrillScenario;
  files: number;
  largeBlobs: number;
  largeBlobMib: number;
  metadataRows: number;
  report?: string;
  timeoutSeconds: number;
  json?: boolean;
}

/**
 * Sized so that the whole drill takes about a minute on two cores. The drill module (and the local
 * stack it needs, from the dev dependencies) is loaded only when the drill runs, so that the other
 * commands work from a production install.
 */
/** Small files are at most 4 KiB; large blobs must stay well above the threshold set between them. */
const MIN_LARGE_BLOB_MIB = 1 / 16;

const DEFAULTS = { files: 2000, largeBlobs: 2, largeBlobMib: 8, metadataRows: 1000, timeoutSeconds: 600 };

export function registerDrill(program: Command, cli: CliRun): void {
  program
    .command('drill')
    .summary('run a whole failover on the local stack, check it and write the report')
    .description(
      "Run a whole failover on the local stack and check it: start the stack, seed a Kyvos-like dataset and metadata repository, keep writing to the primary database, run the health checks, start the failover through the Function app's HTTP handler, work it with the Function app's queue handlers, verify, print the summary and write the JSON report. Needs no Azure account. This is `npm run drill`.",
    )
    .addOption(
      new Option(
        '--scenario <scenario>',
        'planned: a planned failover on a healthy stack; region-outage: the primary region goes down, then a forced failover',
      )
        .choices(['planned', 'region-outage'])
        .default('planned'),
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
    .option('--json', 'print the JSON report on stdout instead of progress and the summary')
    .addHelpText(
      'after',
      `
The report holds the failover report (rpoSeconds, rtoSeconds, blobs, bytes, verification, promotedServer,
steps, the Kyvos deployment parameters, the checklist) and, under "drill", what the drill measured: timings,
the dataset, the metadata rows written and whether the promoted server has them, the copy throughput.

Exit codes: 0 every check passed; 1 a check failed (the reasons are printed); 2 bad arguments;
130 interrupted (the stack is stopped either way).`,
    )
    .action(async (options: DrillCommandOptions, command: Command) => {
      const { runDrill } = await import('../drill/runDrill.js');
      const globals = command.optsWithGlobals<GlobalOptions>();
      cli.exitCode = await runDrill(
        {
          scenario: options.scenario,
          files: options.files,
          largeBlobs: options.largeBlobs,
          largeBlobMib: options.largeBlobMib,
          metadataRows: options.metadataRows,
          ...(options.report ? { report: options.report } : {}),
          timeoutSeconds: options.timeoutSeconds,
          json: options.json === true,
          verbose: globals.verbose === true,
        },
        cli.io,
      );
    });
}
