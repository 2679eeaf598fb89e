import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../local/postgres.js';

interface HeldStack {
  stackDir: string;
  dataDirs: string[];
}

/** Command lines of the running processes that mention `text` (PostgreSQL's `-D <dataDir>`, Azurite's `--cert <stackDir>/…`). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const commandLine = await fs
      .readFile(path.join('/proc', entry, 'cmdline'), 'utf8')
      .then((raw) => raw.replaceAll('\0', ' '))
      .catch(() => '');
    if (commandLine.includes(text)) found.push(`${entry}: ${commandLine}`);
  }
  return found;
}

describe('a process holding a local stack', () => {
  it.skipIf(process.platform !== 'linux')(
    'leaves no PostgreSQL server, no Azurite and no temp directory behind when it is SIGKILLed',
    async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/stackProcess.ts'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      let held: HeldStack | undefined;
      try {
        held = await new Promise<HeldStack>((resolve, reject) => {
          let output = '';
          child.stdout?.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
            if (line && output.includes('\n')) resolve(JSON.parse(line) as HeldStack);
          });
          child.once('exit', (code) =>
            reject(new Error(`The stack process exited (${code}) before its stack ran`)),
          );
        });
        const { stackDir, dataDirs } = held;
        // The stack runs: one postmaster per data directory, Azurite serving the stack's certificate.
        for (const dataDir of dataDirs) expect(await processesMentioning(dataDir)).toHaveLength(1);
        expect(await processesMentioning(stackDir)).not.toHaveLength(0);
      } finally {
        // No code of the child runs after a SIGKILL: only what outlives it can clean up.
        child.kill('SIGKILL');
        await exited;
      }

      const leftovers = async () => [
        ...(await processesMentioning(held.stackDir)),
        ...(await Promise.all(held.dataDirs.map(processesMentioning))).flat(),
        ...[held.stackDir, ...held.dataDirs].filter((dir) => existsSync(dir)),
      ];
      await waitFor(async () => (await leftovers()).length === 0, {
        // The watchdog gives the servers 10 s to shut down before it SIGKILLs them.
        timeoutInMs: 60_000,
        intervalInMs: 200,
        description: 'the killed process’s servers and temp directories to be gone',
      }).catch(async (error: unknown) => {
        throw new Error(`${(error as Error).message}; left: ${(await leftovers()).join('; ')}`);
      });
    },
  );
});
