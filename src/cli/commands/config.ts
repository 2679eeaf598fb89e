import type { Command } from 'commander';
import { type ConfigSource, configSourceFromSettings } from '../../lib/config/ConfigSource.js';
import { type ConfigFinding, checkConfig } from '../../lib/config/loadConfig.js';
import { APP_SETTINGS } from '../../lib/config/secretNames.js';
import { describeError } from '../../lib/redact.js';
import { cliDeps, SETTING_FLAGS } from '../cliDeps.js';
import { type CliRun, printJson } from '../command.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { hang } from '../format.js';
import { writeLines } from '../io.js';

interface ConfigCheckOptions {
  json?: boolean;
}

/** The verdict on one of the app settings that locate the rest (never its value). */
interface SettingFinding {
  appSetting: string;
  flag: string;
  status: 'ok' | 'missing' | 'invalid';
  reason: string;
}

export function registerConfig(program: Command, cli: CliRun): void {
  const config = program
    .command('config')
    .summary('configuration commands (config check)')
    .description('Inspect the DR configuration (app settings and Key Vault secrets).')
    .addHelpText(
      'after',
      '\nExit codes: 0 every setting and secret is ok; 3 any is missing, invalid or unreadable.',
    );
  config
    .command('check')
    .summary('check every app setting and Key Vault secret (never printing a value)')
    .description(
      'Check every app setting and Key Vault secret kyvos-dr reads: ok, missing, invalid or unreadable, with the reason and what to do. Values are never printed.',
    )
    .option('--json', 'print the findings as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 every setting and secret is ok; 3 any is missing, invalid or unreadable.',
    )
    .action(async (options: ConfigCheckOptions, command: Command) => {
      cli.exitCode = await configCheck(options, command, cli);
    });
}

async function configCheck(options: ConfigCheckOptions, command: Command, cli: CliRun): Promise<ExitCode> {
  const { io } = cli;
  const { deps, settings } = cliDeps(io, command);
  const settingFindings: SettingFinding[] = [];
  const note = (appSetting: string, status: SettingFinding['status'], reason: string) =>
    settingFindings.push({ appSetting, flag: SETTING_FLAGS[appSetting] ?? '', status, reason });

  if (settings[APP_SETTINGS.localStack]?.trim()) {
    try {
      void deps.clients;
      note(APP_SETTINGS.localStack, 'ok', 'set: kyvos-dr talks to the local stack it describes');
    } catch (error) {
      note(APP_SETTINGS.localStack, 'invalid', describeError(error));
    }
  }
  try {
    void deps.appStorageAccount;
    note(APP_SETTINGS.appStorageAccount, 'ok', "set: kyvos-dr's own state (health history, runs, queues)");
  } catch (error) {
    const missing = !settings[APP_SETTINGS.appStorageAccount]?.trim();
    note(APP_SETTINGS.appStorageAccount, missing ? 'missing' : 'invalid', describeError(error));
  }
  let source: ConfigSource | undefined;
  try {
    source = configSourceFromSettings(settings, () => deps.clients);
    note(
      APP_SETTINGS.keyVaultUrl,
      'ok',
      source.kind === 'key-vault'
        ? `set: secrets are read from ${source.description}`
        : 'not set: secrets are read from app settings (KYVOS_DR_…), as with func start',
    );
  } catch (error) {
    note(APP_SETTINGS.keyVaultUrl, 'invalid', describeError(error));
  }

  let secrets: ConfigFinding[] = [];
  if (source) {
    try {
      secrets = await checkConfig(source, io.abortSignal ? { abortSignal: io.abortSignal } : {});
    } catch (error) {
      // The source itself could not be built (e.g. the local stack's certificate is gone).
      note(APP_SETTINGS.keyVaultUrl, 'invalid', `the secrets could not be read: ${describeError(error)}`);
    }
  }
  const ok = settingFindings.every((f) => f.status === 'ok') && secrets.every((f) => f.status === 'ok');

  if (options.json) {
    printJson(io, { ok, source: source?.description ?? null, settings: settingFindings, secrets });
  } else {
    const settingRows = settingFindings.map(
      (f): Row => [f.status, `${f.appSetting}${f.flag ? ` (${f.flag})` : ''}`, f.reason],
    );
    const secretRows = secrets.map(
      (f): Row => [
        f.status,
        `${source?.kind === 'key-vault' ? f.secretName : f.appSetting}${f.required ? '' : ' (optional)'}`,
        f.reason,
      ],
    );
    const nameWidth = Math.max(...[...settingRows, ...secretRows].map(([, name]) => name.length)) + 2;
    const row = ([status, name, reason]: Row) =>
      hang(`  ${status.padEnd(11)}${name.padEnd(nameWidth)}`, reason, 140);
    const lines = [
      `Configuration source: ${source?.description ?? 'none (see KYVOS_DR_KEY_VAULT_URL below)'}`,
      '',
      'App settings (environment or flags):',
      ...settingRows.flatMap(row),
    ];
    if (secretRows.length > 0) {
      lines.push('', `Secrets (${source?.kind === 'key-vault' ? 'Key Vault' : 'app settings'}):`);
      lines.push(...secretRows.flatMap(row));
    }
    const all = [...settingFindings, ...secrets];
    const counts = ['ok', 'missing', 'invalid', 'unreadable']
      .map((status) => `${all.filter((f) => f.status === status).length} ${status}`)
      .join(', ');
    lines.push('', `${ok ? 'The configuration is usable' : 'The configuration is NOT usable'}: ${counts}.`);
    writeLines(io.stdout, lines);
  }
  return ok ? EXIT.ok : EXIT.config;
}

/** status, name, reason */
type Row = [string, string, string];
