import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARTITIONS_PER_INSTANCE } from '../../src/lib/copy/types.js';

interface HostJson {
  concurrency?: { dynamicConcurrencyEnabled?: boolean };
  extensions?: { queues?: { batchSize?: number; newBatchThreshold?: number; maxDequeueCount?: number } };
}

const host = JSON.parse(readFileSync(new URL('../../host.json', import.meta.url), 'utf8')) as HostJson;

describe('host.json', () => {
  it('lets an instance work on as many copy partitions at once as the in-process workers and the benchmarks do', () => {
    const queues = host.extensions?.queues;
    expect(queues?.batchSize).toBeGreaterThanOrEqual(1);
    expect(queues?.newBatchThreshold).toBeGreaterThanOrEqual(0);
    // The host works on at most batchSize + newBatchThreshold messages of a queue at once.
    expect((queues?.batchSize ?? 16) + (queues?.newBatchThreshold ?? 8)).toBe(PARTITIONS_PER_INSTANCE);
    // Dynamic concurrency would replace both settings with the host's own figure.
    expect(host.concurrency?.dynamicConcurrencyEnabled ?? false).toBe(false);
  });
});
