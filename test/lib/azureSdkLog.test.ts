import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getLogLevel, setLogLevel } from '@azure/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../local/drill/runDrill.js';
import { seedKyvosDataset } from '../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { runUntilDone } from '../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../src/lib/failover/runtime.js';
import { spawnCli } from '../cli/cliHarness.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  expectCompleteFailover,
  failoverDepsFor,
  postFailover,
} from '../helpers/failoverHarness.js';
import { findLeaks } from '../helpers/secretLeaks.js';

/** The secrets of a stack, by what they are: its PostgreSQL passwords, account keys and source SAS. */
async function secretsOf(stack: LocalStack): Promise<Record<string, string>> {
  const sas = await stack.clients
    .secrets(stack.descriptor.keyVaultUrl)
    .getSecret(stack.names.sourceSasSecret);
  const signature = new URLSearchParams(sas.value ?? '').get('sig');
  if (!signature) throw new Error('The stack stores a source SAS without a signature.');
  return {
    'the primary PostgreSQL password': stack.postgres.primary.password,
    'the replica PostgreSQL password': stack.postgres.replica.password,
    'the source SAS signature': signature,
    ...Object.fromEntries(stack.accounts.map((a) => [`the account key of ${a.name}`, a.key])),
  };
}

/** Everything `work` makes this process write: stdout, stderr (the SDK's log sink) and the console. */
async function capturingOutput(work: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const { stdout, stderr } = process;
  const writes = { out: stdout.write, err: stderr.write };
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = consoleMethods.map((name) => console[name]);
  stdout.write = capture as typeof stdout.write;
  stderr.write = capture as typeof stderr.write;
  for (const name of consoleMethods) console[name] = (...args: unknown[]) => capture(args.join(' '));
  try {
    await work();
  } finally {
    stdout.write = writes.out;
    stderr.write = writes.err;
    consoleMethods.forEach((name, i) => {
      console[name] = originals[i] as (typeof console)[typeof name];
    });
  }
  return chunks.join('');
}

describe('verbose Azure SDK logging (AZURE_LOG_LEVEL=verbose) on the local stack', () => {
  let stack: LocalStack;
  let secrets: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-verbose-'));
    stack = await startLocalStack();
    secrets = await secretsOf(stack);
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a planned failover logs every request at verbose, and no SAS, token, key or password', async () => {
    const log = capturingLogger();
    const level = getLogLevel();
    const output = await capturingOutput(async () => {
      setLogLevel('verbose');
      try {
        const deps = failoverDepsFor(stack, log.logger);
        const dataset = await seedKyvosDataset(
          stack.clients.blobService(stack.names.primaryStorageAccount),
          stack.names.container,
          { prefix: stack.names.engineWorkDirectory, files: 30 },
        );
        const runId = await postFailover(deps, { mode: 'planned', reason: 'verbose logging check' });
        void confirmWhenWaiting(deps, runId);
        const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 300_000 });
        await expectCompleteFailover(stack, run, dataset.blobs);
      } finally {
        setLogLevel(level);
      }
    });

    // The level took effect: the SDK logged the requests of every service the run spoke to.
    for (const namespace of [
      'storage-blob',
      'storage-queue',
      'keyvault-secrets',
      'arm-storage',
      'core-lro',
    ]) {
      expect(output).toContain(`azure:${namespace}:`);
    }
    expect(output.match(/ Request: /g)?.length ?? 0).toBeGreaterThan(100);
    expect(output).toContain('sig=REDACTED');
    expect(findLeaks(`${output}\n${log.lines.join('\n')}`, secrets)).toEqual([]);
    // No connection's sockets either: their last requests (paths, raw headers, bodies) are beyond
    // what a redacting pattern can recognise, and a dump of them is many megabytes a request.
    expect(output).not.toMatch(/"_httpMessage"|"freeSockets"/);
  }, 600_000);

  it('the drill, run with AZURE_LOG_LEVEL=verbose and --verbose, prints no SAS, token, key or password', async () => {
    // The drill starts its own stack, with the same PostgreSQL password (one initdb template per
    // machine) and account keys as this one, and a SAS of its own (its `sig=` must read REDACTED).
    await stack.stop();
    const reportFile = path.join(dir, 'drill.json');
    const result = await spawnCli(
      'local/drill/main.ts',
      ['--verbose', '--files', '20', '--large-blobs', '0', '--metadata-rows', '20', '--report', reportFile],
      { AZURE_LOG_LEVEL: 'verbose' },
    );
    expect(result.stdout).toMatch(/Drill PASSED\.\n$/);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^azure:storage-blob:info Request: /m);
    expect(result.stderr).toMatch(/^azure:keyvault-secrets:info Request: /m);
    expect(result.stderr).toContain('"event":"failover.run_ended"');
    expect(result.stderr.match(/ Request: /g)?.length ?? 0).toBeGreaterThan(100);

    const report = JSON.parse(await readFile(reportFile, 'utf8')) as { drill: DrillRecord };
    const logFile = await readFile(report.drill.logFile as string, 'utf8');
    const everything = [result.stdout, result.stderr, JSON.stringify(report), logFile].join('\n');
    expect(findLeaks(everything, secrets)).toEqual([]);
    expect(result.stderr).not.toMatch(/"_httpMessage"|"freeSockets"/);
  }, 600_000);
});
