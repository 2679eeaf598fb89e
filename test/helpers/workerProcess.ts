/**
 * A failover worker in its own process, for crash tests: the parent SIGKILLs it mid-copy. It reads
 * the stack from KYVOS_DR_LOCAL_STACK like any other process pointed at the local stack.
 * Usage: tsx test/helpers/workerProcess.ts <runId> <options JSON>
 */
import { createDeps } from '../../src/lib/deps.js';
import { runUntilDone } from '../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../src/lib/failover/runtime.js';
import { silentLogger } from '../../src/lib/log.js';

const [runId, optionsJson] = process.argv.slice(2);
if (!runId) throw new Error('usage: workerProcess.ts <runId> <options JSON>');
const deps = {
  ...createDeps(process.env, { logger: silentLogger }),
  options: JSON.parse(optionsJson ?? '{}'),
};
const run = await runUntilDone(failoverRuntime(deps), runId, { partitionConcurrency: 1 });
process.stdout.write(`${run.state}\n`);
