import { describe, expect, it } from 'vitest';
import { formatStorageStrategies } from '../../src/cli/format.js';
import { assessStorageStrategies } from '../../src/lib/report/storageStrategies.js';
import { testConfig } from '../helpers/inMemoryFailover.js';

describe('the storage strategies as the CLI prints them', () => {
  it('shows each strategy, its storage RTO with its basis, the RPO and every claim with its source', () => {
    const text = formatStorageStrategies(
      assessStorageStrategies({
        config: testConfig(),
        storageRpoSeconds: 42,
        storageLastSyncTime: null,
        copy: undefined,
      }),
    ).join('\n');
    expect(text).toMatch(/copy \(configured\)[\s\S]*accountFailover/);
    expect(text).toMatch(/storage RTO\s+unknown, unknown/);
    expect(text).toMatch(/storage RTO\s+typically under 60 min 0 s, documented/);
    expect(text).toContain('storage-disaster-recovery-guidance#the-time-and-cost-of-failing-over');
    expect(text).toMatch(/storage RPO\s+42 s/);
    expect(text).toContain(
      '[https://learn.microsoft.com/azure/storage/common/storage-failover-customer-managed-unplanned]',
    );
    expect(text).toContain('kyvos-dr-storage-strategy');
  });
});
