import { app, type InvocationContext } from '@azure/functions';
import { decodePartitionMessage } from '../lib/copy/partitionMessage.js';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { handleCopyPartition } from '../lib/failover/copyWorker.js';
import { COPY_QUEUE } from '../lib/failover/FailoverService.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { contextLogger } from '../lib/log.js';

/**
 * Copies one partition (one listing page) of a failover's data. On Azure the copy queue spreads the
 * partitions across Function instances; a thrown error makes the host deliver the message again,
 * and the partition resumes from its checkpoint.
 */
export async function copyWorker(
  message: unknown,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<void> {
  const partition = decodePartitionMessage(message);
  await handleCopyPartition(failoverRuntime(withLogger(deps, contextLogger(context))), partition);
}

app.storageQueue('copyWorker', {
  queueName: COPY_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => copyWorker(message, context),
});
