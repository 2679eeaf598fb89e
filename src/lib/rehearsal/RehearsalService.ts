import { FailoverInProgress } from '../errors.js';
import { type FailoverDeps, newRunId } from '../failover/FailoverService.js';
import { encodeMessage, REHEARSAL_QUEUE, type RehearseMessage } from '../failover/queues.js';
import type { RunStore } from '../failover/RunStore.js';
import { failoverRuntime } from '../failover/runtime.js';
import type { FailoverOptions } from '../failover/StepContext.js';
import { runningFailover } from './failoverActivity.js';
import { newRehearsal, type RehearsalRecord, type RehearsalRequest } from './Rehearsal.js';
import { RehearsalStore } from './RehearsalStore.js';

/** What a rehearsal works with: the app's dependencies, the failover's tunables and both stores. */
export interface RehearsalRuntime {
  deps: FailoverDeps;
  /** The failover's own tunables: the sample is copied, and the copy extrapolated, at its scale. */
  options: FailoverOptions;
  /** The failover runs: their lock (refused while one runs) and timings. */
  runs: RunStore;
  rehearsals: RehearsalStore;
}

export function rehearsalRuntime(deps: FailoverDeps): RehearsalRuntime {
  const failover = failoverRuntime(deps);
  return {
    deps: failover.deps,
    options: failover.options,
    runs: failover.store,
    rehearsals: new RehearsalStore(deps.clients.blobService(deps.appStorageAccount), { clock: deps.clock }),
  };
}

/**
 * Records a new rehearsal, Queued, for a worker to run (`runRehearsal`). Throws `FailoverInProgress`
 * naming the run while a failover runs: a rehearsal beside a failover would measure a copy
 * competing with the real one, and read a replica being promoted.
 */
export async function startRehearsal(
  runtime: RehearsalRuntime,
  request: RehearsalRequest,
): Promise<RehearsalRecord> {
  const now = runtime.deps.clock();
  const running = await runningFailover(runtime.runs, now);
  if (running) throw new FailoverInProgress(running);
  const record = newRehearsal(newRunId(now, 'rh'), request, now);
  await runtime.rehearsals.create(record);
  runtime.deps.logger.info('rehearsal.accepted', {
    rehearsalId: record.rehearsalId,
    requestedBy: request.requestedBy,
    sampleBlobs: request.sample.maxBlobs,
    sampleBytes: request.sample.maxBytes,
  });
  return record;
}

/**
 * Hands a recorded rehearsal to the rehearsal queue's worker (`rehearsalWorker`): a rehearsal takes
 * minutes, longer than the 230 s an HTTP response of a Function app may take.
 */
export async function enqueueRehearsal(runtime: RehearsalRuntime, rehearsalId: string): Promise<void> {
  const queue = runtime.deps.clients
    .queueService(runtime.deps.appStorageAccount)
    .getQueueClient(REHEARSAL_QUEUE);
  await queue.createIfNotExists();
  const message: RehearseMessage = { kind: 'rehearse', rehearsalId };
  await queue.sendMessage(encodeMessage(message));
}
