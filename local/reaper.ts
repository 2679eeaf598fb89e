import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * What the local stack starts outside this process (PostgreSQL servers, Azurite) and the temp
 * directories they use are stopped and deleted when this process ends, however it ends:
 *
 * - on a normal exit (or an uncaught error), by a synchronous `exit` hook here;
 * - on SIGKILL (a test runner killing a timed-out worker, an out-of-memory kill), where no code of
 *   this process runs, by a watchdog: a small detached Node process, started with the first child,
 *   that reads what to stop from a pipe. The kernel closes the pipe when this process dies, for any
 *   reason, and the watchdog then signals what is still registered, waits for it to exit (SIGKILL
 *   after a grace period) and deletes the directories.
 *
 * A child is forgotten when it exits, a directory when its owner deletes it, so a normal stop leaves
 * the watchdog nothing to do.
 */

/** How long the watchdog waits for a signalled process to exit before it sends SIGKILL. */
const WATCHDOG_GRACE_IN_MS = 10_000;

/**
 * The watchdog, as CommonJS for `node -e`. Lines on stdin are JSON: `{"pid", "signal"}` registers a
 * process, `{"pid", "forget": true}` forgets it, `{"dir"}` and `{"dir", "forget": true}` the same for a
 * directory. EOF means the process that started it is gone.
 */
const WATCHDOG_SOURCE = `
const { readFileSync, rmSync } = require('node:fs');
const pids = new Map();
const dirs = new Set();
let pending = '';
const isAlive = (pid) => {
  try { process.kill(pid, 0); } catch (error) { return error.code === 'EPERM'; }
  // An orphan that exited stays a zombie until its new parent reaps it (some init processes never do).
  try {
    const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch { return true; }
};
const signal = (pid, name) => {
  try { process.kill(pid, name); } catch {}
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (pending + chunk).split('\\n');
  pending = lines.pop();
  for (const line of lines) {
    const entry = JSON.parse(line);
    if (entry.pid !== undefined) entry.forget ? pids.delete(entry.pid) : pids.set(entry.pid, entry.signal);
    else entry.forget ? dirs.delete(entry.dir) : dirs.add(entry.dir);
  }
});
process.stdin.on('end', () => {
  for (const [pid, name] of pids) signal(pid, name);
  const deadline = Date.now() + ${WATCHDOG_GRACE_IN_MS};
  const finish = () => {
    const alive = [...pids.keys()].filter(isAlive);
    if (alive.length > 0 && Date.now() < deadline) return setTimeout(finish, 100);
    for (const pid of alive) signal(pid, 'SIGKILL');
    for (const dir of dirs) {
      try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch {}
    }
  };
  finish();
});
`;

const children = new Map<ChildProcess, NodeJS.Signals>();
const dirs = new Set<string>();
let watchdogInput: Writable | undefined;
let exitHookInstalled = false;

/**
 * Sends `signal` to `child` when this process ends, even by SIGKILL, unless it has exited by then.
 * PostgreSQL wants SIGQUIT (the postmaster then takes its backends down with it); SIGKILL suits a
 * Node child.
 */
export function stopWithThisProcess(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  // A failed spawn has no pid and emits 'error' instead of running.
  if (pid === undefined) return;
  children.set(child, signal);
  tellWatchdog({ pid, signal });
  child.once('exit', () => {
    children.delete(child);
    tellWatchdog({ pid, forget: true });
  });
}

/** Deletes `dir` when this process ends, even by SIGKILL; the returned function cancels that. */
export function removeWithThisProcess(dir: string): () => void {
  dirs.add(dir);
  tellWatchdog({ dir });
  return () => {
    if (dirs.delete(dir)) tellWatchdog({ dir, forget: true });
  };
}

function tellWatchdog(entry: Record<string, unknown>): void {
  installExitHook();
  watchdogInput ??= startWatchdog();
  watchdogInput.write(`${JSON.stringify(entry)}\n`);
}

function startWatchdog(): Writable {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
    // Its own process group: a Ctrl+C or a kill of this process's group does not reach it, and it
    // outlives this process by design.
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    // Without this process's NODE_OPTIONS (a test runner's loader, for example).
    env: { PATH: process.env.PATH },
  });
  watchdog.unref();
  const input = watchdog.stdin;
  if (!input) throw new Error('Unreachable: the watchdog was spawned with a stdin pipe');
  // Neither the watchdog nor its pipe keeps this process alive.
  (input as Writable & { unref?: () => void }).unref?.();
  // The watchdog may die first (killed with its group); then nothing is left to tell.
  input.on('error', () => {});
  return input;
}

/** Only synchronous work runs on 'exit'. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [child, signal] of children) child.kill(signal);
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A dying server may still write there; the watchdog tries again once it has exited.
      }
    }
  });
}
