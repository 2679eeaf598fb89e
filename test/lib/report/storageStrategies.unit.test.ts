import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_FAILOVER_TIME_SOURCE,
  assessStorageStrategies,
  DOCUMENTED_ACCOUNT_FAILOVER_SECONDS,
  type StorageStrategyInput,
} from '../../../src/lib/report/storageStrategies.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const input = (overrides: Partial<StorageStrategyInput> = {}): StorageStrategyInput => ({
  config: testConfig(),
  storageRpoSeconds: 120,
  storageLastSyncTime: '2026-01-01T00:00:00.000Z',
  copy: { estimate: { copySeconds: 5400, model: 'the model' }, measuredBy: 'this rehearsal (rh-1)' },
  ...overrides,
});
const byStrategy = (i: StorageStrategyInput) =>
  Object.fromEntries(assessStorageStrategies(i).map((s) => [s.strategy, s]));

describe('the storage strategies compared for the operator', () => {
  it('puts the configured strategy first', () => {
    expect(assessStorageStrategies(input()).map((s) => [s.strategy, s.configured])).toEqual([
      ['copy', true],
      ['accountFailover', false],
    ]);
    const failover = input({ config: testConfig({ storageStrategy: 'accountFailover' }) });
    expect(assessStorageStrategies(failover).map((s) => [s.strategy, s.configured])).toEqual([
      ['accountFailover', true],
      ['copy', false],
    ]);
  });

  it("gives the copy's RTO from the rehearsal's extrapolation, naming the rehearsal that measured it", () => {
    const { copy } = byStrategy(input());
    expect(copy?.rto).toMatchObject({ seconds: 5400, basis: 'extrapolated' });
    expect(copy?.rto.claim).toContain('the model');
    expect(copy?.rto.source).toBe('measured by this rehearsal (rh-1)');
  });

  it("says the copy's RTO is unknown when no rehearsal measured it", () => {
    const { copy } = byStrategy(input({ copy: undefined }));
    expect(copy?.rto).toMatchObject({ seconds: null, basis: 'unknown' });
    expect(copy?.rto.source).toContain('kyvos-dr rehearse');
  });

  it("gives the account failover's RTO as Azure documents it, stated as documented, whatever the copy measured", () => {
    for (const copyInput of [input(), input({ copy: undefined })]) {
      const { accountFailover } = byStrategy(copyInput);
      expect(accountFailover?.rto).toMatchObject({
        seconds: DOCUMENTED_ACCOUNT_FAILOVER_SECONDS,
        basis: 'documented',
        source: ACCOUNT_FAILOVER_TIME_SOURCE,
      });
      expect(accountFailover?.rto.claim).toContain('not measured');
    }
    expect(ACCOUNT_FAILOVER_TIME_SOURCE).toMatch(/^https:\/\/learn\.microsoft\.com\//);
  });

  it('gives both the same storage RPO: the writes after lastSyncTime', () => {
    const strategies = assessStorageStrategies(input());
    for (const s of strategies) {
      expect(s.rpo.seconds).toBe(120);
      expect(s.rpo.claim).toContain('2026-01-01T00:00:00.000Z');
    }
    const unknown = assessStorageStrategies(input({ storageRpoSeconds: null, storageLastSyncTime: null }));
    expect(unknown.map((s) => s.rpo.seconds)).toEqual([null, null]);
    expect(unknown[0]?.rpo.claim).toContain('unknown');
  });

  it('names what each changes: the copy renames datasets and keeps the primary, the failover keeps the name and ends LRS', () => {
    const { copy, accountFailover } = byStrategy(input());
    const claims = (s: typeof copy) => s?.changes.map((c) => c.claim).join('\n') ?? '';
    expect(claims(copy)).toContain('renamed to it');
    expect(claims(copy)).toContain('kept intact');
    expect(claims(copy)).toContain('ACLs, owners and groups are copied');
    expect(claims(byStrategy(input({ config: testConfig({ copyAccessControl: 'off' }) })).copy)).toContain(
      'not copied',
    );
    expect(claims(accountFailover)).toContain('no dataset is renamed');
    expect(claims(accountFailover)).toContain('(LRS)');
    expect(claims(accountFailover)).toContain('cannot be undone like a copy');
    expect(claims(accountFailover)).toContain('preview');
  });

  it('gives every claim a source', () => {
    for (const s of assessStorageStrategies(input())) {
      for (const claim of [s.rto, s.rpo, ...s.changes]) expect(claim.source).not.toBe('');
    }
  });
});
