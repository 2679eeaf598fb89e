import { app, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { advance, FAILOVER_QUEUE } from '../lib/failover/FailoverService.js';
import { type AdvanceMessage, decodeMessage } from '../lib/failover/queues.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { contextLogger } from '../lib/log.js';

/**
 * Advances a failover run: runs its ready steps, and re-queues itself while the copy is in flight.
 * A thrown error makes the host deliver the message again; the steps are idempotent.
 */
export async function failoverWorker(
  message: unknown,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<void> {
  const { runId } =
    typeof message === 'string' ? decodeMessage<AdvanceMessage>(message) : (message as AdvanceMessage);
  const run = await advance(
    failoverRuntime(withLogger(deps, contextLogger(context))),
    runId,
    context.invocationId,
  );
  context.log(JSON.stringify({ event: 'failover.advanced', runId, state: run.state }));
}

app.storageQueue('failoverWorker', {
  queueName: FAILOVER_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => failoverWorker(message, context),
});
