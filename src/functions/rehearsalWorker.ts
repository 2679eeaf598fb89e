import { app, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { decodeMessage, REHEARSAL_QUEUE, type RehearseMessage } from '../lib/failover/queues.js';
import { contextLogger } from '../lib/log.js';
import { rehearsalRuntime } from '../lib/rehearsal/RehearsalService.js';
import { runRehearsal } from '../lib/rehearsal/runRehearsal.js';

/**
 * Runs a rehearsal accepted by `POST /api/rehearsal`. A delivery of an ended rehearsal does nothing;
 * one that finds it Running (its process ended mid-way) deletes its scratch container and ends it.
 */
export async function rehearsalWorker(
  message: unknown,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<void> {
  const { rehearsalId } =
    typeof message === 'string' ? decodeMessage<RehearseMessage>(message) : (message as RehearseMessage);
  const record = await runRehearsal(rehearsalRuntime(withLogger(deps, contextLogger(context))), rehearsalId);
  context.log(JSON.stringify({ event: 'rehearsal.worked', rehearsalId, state: record.state }));
}

app.storageQueue('rehearsalWorker', {
  queueName: REHEARSAL_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => rehearsalWorker(message, context),
});
