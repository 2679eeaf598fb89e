import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopWithThisProcess } from './reaper.js';

export interface AzuriteAccount {
  name: string;
  /** Base64 shared key. */
  key: string;
}

export interface AzuriteOptions {
  accounts: AzuriteAccount[];
  certPath: string;
  keyPath: string;
  startTimeoutInMs?: number;
}

export interface AzuriteProcess {
  blobPort: number;
  queuePort: number;
  tablePort: number;
  pid: number;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Preloaded into Azurite: indexed blob lookups and batched garbage collection (see the file). */
export const AZURITE_PRELOAD = fileURLToPath(new URL('./azuritePreload.cjs', import.meta.url));

/**
 * Starts Azurite (blob, queue, table) over HTTPS with `--oauth basic`, in memory, on free ports,
 * with `azuritePreload.cjs` preloaded so that its costs scale with the number of blobs as Azure's.
 *
 * Azurite verifies the source of a cross-account Copy Blob by calling the source URL itself; it is
 * given `NODE_EXTRA_CA_CERTS` so that call trusts the stack's certificate.
 */
export async function startAzurite(options: AzuriteOptions): Promise<AzuriteProcess> {
  const entry = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
  const args = [
    // The geo-replication of the stack copies a blob to the hidden secondary with Copy Blob: a blob
    // name of 1,024 characters (Azure's limit), percent-encoded in both the path and
    // `x-ms-copy-source`, passes Node's default 16 KiB header limit, which Azure's front ends do not have.
    '--max-http-header-size=65536',
    '--require',
    AZURITE_PRELOAD,
    entry,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    '0',
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    '0',
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    '0',
    '--cert',
    options.certPath,
    '--key',
    options.keyPath,
    '--oauth',
    'basic',
    '--inMemoryPersistence',
    '--skipApiVersionCheck',
    '--loose',
    '--disableTelemetry',
  ];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      AZURITE_ACCOUNTS: options.accounts.map((a) => `${a.name}:${a.key}`).join(';'),
      NODE_EXTRA_CA_CERTS: options.certPath,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Azurite keeps everything in memory: nothing to save, so SIGKILL.
  stopWithThisProcess(child, 'SIGKILL');
  const ports = await readPorts(child, options.startTimeoutInMs ?? 30_000);
  return {
    ...ports,
    pid: child.pid ?? -1,
    stop: () => stopChild(child),
  };
}

function readPorts(
  child: ChildProcess,
  timeoutInMs: number,
): Promise<{ blobPort: number; queuePort: number; tablePort: number }> {
  return new Promise((resolve, reject) => {
    let output = '';
    const found: Record<string, number> = {};
    const timer = setTimeout(
      () => fail(new Error(`Azurite did not start within ${timeoutInMs} ms`)),
      timeoutInMs,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}. Azurite said: ${output.slice(-2000)}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at \S+:(\d+)/g,
      )) {
        found[(match[1] ?? '').toLowerCase()] = Number(match[2]);
      }
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ blobPort: found.blob, queuePort: found.queue, tablePort: found.table });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code} while starting`)));
  });
}

/** Stops a child process: SIGTERM, then SIGKILL after a grace period; resolves when it has exited. */
function stopChild(child: ChildProcess, graceInMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceInMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
