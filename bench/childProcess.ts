import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deployedWorkerHeap } from '../local/workerHeap.js';
import type { ChildMemory, ChildMessage, CopyJob, JobResult, LogCounts } from './jobs.js';

export interface CompletedJob<R extends JobResult = JobResult> {
  result: R;
  memory: ChildMemory;
  warnings: LogCounts;
}

export interface KilledJob {
  /** Blobs done (copied or skipped) when the kill was decided, as the child last reported. */
  blobsDone: number;
  /** From the start of the job's clock (the child's `started`) to the SIGKILL. */
  killedAfterInMs: number;
}

const RUNNER = fileURLToPath(new URL('./copyRunner.ts', import.meta.url));

/** Every copy child runs with the V8 heap of the deployed worker, so its memory is the worker's. */
const CHILD_NODE_ARGUMENTS = [`--max-old-space-size=${deployedWorkerHeap().maxOldSpaceMiB}`];

function forkRunner() {
  return fork(RUNNER, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...CHILD_NODE_ARGUMENTS],
  });
}

/**
 * Runs one copy job in a fresh child process (with this process's `execArgv`, so under tsx) and
 * resolves with its result. The child's stdout and stderr are this process's.
 */
export function runCopyJob<K extends JobResult['kind']>(
  job: CopyJob & { kind: K },
): Promise<CompletedJob<Extract<JobResult, { kind: K }>>> {
  return new Promise((resolve, reject) => {
    const child = forkRunner();
    let settled = false;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'result') {
        settled = true;
        resolve({
          result: message.result as Extract<JobResult, { kind: K }>,
          memory: message.memory,
          warnings: message.warnings,
        });
      } else if (message.type === 'error') {
        settled = true;
        reject(new Error(`The ${job.kind} copy failed in its child process: ${message.message}`));
      }
    });
    child.once('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
    child.once('exit', (code, signal) => {
      if (!settled)
        reject(
          new Error(`The ${job.kind} copy child exited (${signal ?? `code ${code}`}) without a result.`),
        );
      settled = true;
    });
    child.send(job);
  });
}

/**
 * Runs an engine job in a child and kills it with SIGKILL, as a crash would, as soon as it reports
 * at least `killAfterBlobs` blobs done. Resolves when the child is gone. If the job ends before the
 * kill, the measurement is void and this rejects.
 */
export function runCopyJobUntilKilled(
  job: CopyJob & { kind: 'engine' },
  killAfterBlobs: number,
): Promise<KilledJob> {
  return new Promise((resolve, reject) => {
    const child = forkRunner();
    let startedAt = 0;
    let killed: KilledJob | undefined;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'started') startedAt = performance.now();
      if (message.type === 'progress' && !killed && message.blobsDone >= killAfterBlobs) {
        killed = { blobsDone: message.blobsDone, killedAfterInMs: Math.round(performance.now() - startedAt) };
        child.kill('SIGKILL');
      }
      if (message.type === 'error')
        reject(new Error(`The engine copy failed before the kill: ${message.message}`));
    });
    child.once('error', reject);
    child.once('exit', () => {
      if (killed) resolve(killed);
      else
        reject(
          new Error(`The engine copy ended before ${killAfterBlobs} blobs were done: nothing to resume.`),
        );
    });
    child.send(job);
  });
}
