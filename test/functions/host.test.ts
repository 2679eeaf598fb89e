import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARTITIONS_PER_INSTANCE } from '../../src/lib/copy/types.js';
import { FAILED_MESSAGE_DELAY_IN_SECONDS, MAX_DEQUEUE_COUNT } from '../../src/lib/failover/queues.js';

interface HostJson {
  concurrency?: { dynamicConcurrencyEnabled?: boolean };
  extensions?: {
    queues?: {
      batchSize?: number;
      newBatchThreshold?: number;
      maxDequeueCount?: number;
      visibilityTimeout?: string;
    };
  };
}

const host = JSON.parse(readFileSync(new URL('../../host.json', import.meta.url), 'utf8')) as HostJson;

describe('host.json', () => {
  it('lets an instance work on as many copy partitions at once as the in-process workers and the benchmarks do', () => {
    const { batchSize, newBatchThreshold } = host.extensions?.queues ?? {};
    // Both set, so that the limit does not rest on the host's defaults.
    expect(batchSize).toBeGreaterThanOrEqual(1);
    expect(newBatchThreshold).toBeGreaterThanOrEqual(0);
    // The host works on at most batchSize + newBatchThreshold messages of a queue at once.
    expect((batchSize ?? 0) + (newBatchThreshold ?? 0)).toBe(PARTITIONS_PER_INSTANCE);
    // Dynamic concurrency would replace both settings with the host's own figure.
    expect(host.concurrency?.dynamicConcurrencyEnabled ?? false).toBe(false);
  });

  it('moves a message to the poison queue after as many deliveries as the copy step and the local workers expect', () => {
    expect(host.extensions?.queues?.maxDequeueCount).toBe(MAX_DEQUEUE_COUNT);
  });

  it('delays the next delivery of a failed message as long as the in-process queue host does', () => {
    const [hours, minutes, seconds] = (host.extensions?.queues?.visibilityTimeout ?? '00:00:00')
      .split(':')
      .map(Number);
    expect(((hours ?? 0) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)).toBe(FAILED_MESSAGE_DELAY_IN_SECONDS);
  });
});
