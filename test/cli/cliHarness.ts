import { spawn } from 'node:child_process';
import path from 'node:path';
import type { LocalStack } from '../../local/stack.js';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

const REPO = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main(argv)` in this process with captured, non-TTY output and only the given environment. */
export async function runMain(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: options.env ?? {},
    ...(options.cwd ? { cwd: options.cwd } : {}),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Runs a script of the repository (`src/cli/main.ts`, `bin/kyvos-dr.js`) in its own Node process. */
export function spawnCli(
  script: string,
  argv: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const args = script.endsWith('.ts') ? ['--import', 'tsx', script, ...argv] : [script, ...argv];
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The global flags that point the CLI at a local stack. */
export function stackFlags(stack: LocalStack): string[] {
  return [
    '--local-stack',
    stack.descriptorPath,
    '--key-vault-url',
    stack.descriptor.keyVaultUrl,
    '--app-storage-account',
    stack.names.appStorageAccount,
  ];
}

/**
 * The app settings of the stack's Function app (`stack.settings`), as an operator exports them for the
 * CLI (docs/local-development.md): besides what the flags set, those the emulator's URLs do not
 * carry, such as the vault's name. Without it the name is read off the URL's host, and what is
 * checked against the vault's ARM id (its region, the identity's roles on it) names no vault.
 */
export function stackEnv(stack: LocalStack): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stack.settings).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** No stack trace in an output: no `    at fn (file:line)` frames. */
export const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;
