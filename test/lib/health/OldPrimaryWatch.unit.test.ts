import { describe, expect, it } from 'vitest';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import type { RecordedFailover } from '../../../src/lib/failover/steps/record.js';
import {
  judgeOldPrimary,
  type OldPrimaryObservation,
  type OldPrimaryWatchDeps,
  watchOldPrimary,
  withOldPrimary,
} from '../../../src/lib/health/OldPrimaryWatch.js';
import { createLogger } from '../../../src/lib/log.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const NOW = new Date('2026-12-02T05:00:00Z');
const FAILOVER: RecordedFailover = { runId: 'fo-20261202T040000Z-abc123', at: '2026-12-02T04:05:00Z' };
const COMMAND = 'az postgres flexible-server stop --resource-group rg-kyvos --name pg-kyvos';

function config(overrides: Partial<DrConfig> = {}): DrConfig {
  return testConfig({ alertFailoverPolicy: 'off', ...overrides });
}

const READY_PRIMARY: OldPrimaryObservation['arm'] = { kind: 'ok', state: 'Ready', role: 'Primary' };
const WRITABLE: OldPrimaryObservation['sql'] = {
  kind: 'ok',
  writability: { inRecovery: false, readOnly: false },
};

/** Watch deps that count what the watch does; `fence` fails when `fenceError` is given. */
function fakeDeps(observation: OldPrimaryObservation, fenceError?: Error) {
  const calls = { observe: 0, fence: 0 };
  const deps: OldPrimaryWatchDeps = {
    observe: async () => {
      calls.observe += 1;
      return observation;
    },
    fence: async () => {
      calls.fence += 1;
      if (fenceError) throw fenceError;
    },
    clock: () => NOW,
    logger: createLogger(() => {}),
  };
  return { deps, calls };
}

describe('the split-brain decision on the old primary', () => {
  it('running and writable (SQL) is Unhealthy split brain, with the reason and the fence command', () => {
    const verdict = judgeOldPrimary(
      { arm: READY_PRIMARY, sql: WRITABLE },
      { config: config(), failover: FAILOVER },
    );
    expect(verdict.status).toBe('Unhealthy');
    expect(verdict.splitBrain).toBe(true);
    expect(verdict.fenceCommand).toBe(COMMAND);
    expect(verdict.reasons[0]).toContain(
      `split brain: pg-kyvos is running and accepts writes after failover run ${FAILOVER.runId}`,
    );
    expect(verdict.reasons[0]).toContain(COMMAND);
  });

  it('Ready and a standalone role per ARM, without SQL, is split brain too (the safe side)', () => {
    const verdict = judgeOldPrimary(
      { arm: READY_PRIMARY, sql: { kind: 'not-configured' } },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain]).toEqual(['Unhealthy', true]);
  });

  it('Stopped is Healthy for this part: fenced', () => {
    const verdict = judgeOldPrimary(
      {
        arm: { kind: 'ok', state: 'Stopped', role: 'Primary' },
        sql: { kind: 'failed', error: 'ECONNREFUSED' },
      },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain, verdict.running]).toEqual(['Healthy', false, false]);
    expect(verdict.reasons).toEqual([]);
  });

  it('deleted (404) is Healthy: fenced for good', () => {
    const verdict = judgeOldPrimary(
      { arm: { kind: 'missing' }, sql: { kind: 'not-configured' } },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain]).toEqual(['Healthy', false]);
  });

  it('running but in recovery is not split brain', () => {
    const verdict = judgeOldPrimary(
      { arm: READY_PRIMARY, sql: { kind: 'ok', writability: { inRecovery: true, readOnly: false } } },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain, verdict.writable]).toEqual(['Healthy', false, false]);
  });

  it('running but read-only (default_transaction_read_only) is not split brain', () => {
    const verdict = judgeOldPrimary(
      { arm: READY_PRIMARY, sql: { kind: 'ok', writability: { inRecovery: false, readOnly: true } } },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain]).toEqual(['Healthy', false]);
    expect(verdict.finding).toContain('read-only');
  });

  it('a replica role per ARM (Switchover made it one) is not split brain', () => {
    const verdict = judgeOldPrimary(
      { arm: { kind: 'ok', state: 'Ready', role: 'AsyncReplica' }, sql: { kind: 'not-configured' } },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain]).toEqual(['Healthy', false]);
  });

  it('neither ARM nor SQL answering (its region still down) is Degraded, with the command for when it answers', () => {
    const verdict = judgeOldPrimary(
      {
        arm: { kind: 'failed', error: '503 ServiceUnavailable' },
        sql: { kind: 'failed', error: 'ECONNREFUSED' },
      },
      { config: config(), failover: FAILOVER },
    );
    expect([verdict.status, verdict.splitBrain, verdict.running]).toEqual(['Degraded', false, null]);
    expect(verdict.reasons[0]).toContain(COMMAND);
  });
});

describe('the split-brain watch', () => {
  it('looks at nothing when no failover is recorded', async () => {
    const { deps, calls } = fakeDeps({ arm: READY_PRIMARY, sql: WRITABLE });
    const watch = await watchOldPrimary(config({ splitBrainAutoFence: true }), undefined, deps);
    expect(watch).toBeUndefined();
    expect(calls).toEqual({ observe: 0, fence: 0 });
  });

  it('never fences when auto-fence is not allowed, and reports the split brain', async () => {
    const { deps, calls } = fakeDeps({ arm: READY_PRIMARY, sql: WRITABLE });
    const watch = await watchOldPrimary(config({ splitBrainAutoFence: false }), FAILOVER, deps);
    expect(calls.fence).toBe(0);
    expect(watch).toMatchObject({
      status: 'Unhealthy',
      splitBrain: true,
      autoFenceAllowed: false,
      autoFenced: false,
      autoFencedAt: null,
      fenceCommand: COMMAND,
      failoverRunId: FAILOVER.runId,
    });
  });

  it('fences once when auto-fence is allowed, and reports autoFenced, when and the result', async () => {
    const { deps, calls } = fakeDeps({ arm: READY_PRIMARY, sql: WRITABLE });
    const watch = await watchOldPrimary(config({ splitBrainAutoFence: true }), FAILOVER, deps);
    expect(calls.fence).toBe(1);
    expect(watch).toMatchObject({
      splitBrain: true,
      autoFenced: true,
      autoFencedAt: NOW.toISOString(),
      status: 'Degraded',
    });
    expect(watch?.autoFenceResult).toMatch(/^stopped through ARM/);
    expect(watch?.reasons.join(' ')).toContain(`kyvos-dr stopped it at ${NOW.toISOString()}`);
  });

  it('stays Unhealthy, with the error and the command, when the automatic stop fails', async () => {
    const { deps, calls } = fakeDeps(
      { arm: READY_PRIMARY, sql: WRITABLE },
      new Error('403 AuthorizationFailed'),
    );
    const watch = await watchOldPrimary(config({ splitBrainAutoFence: true }), FAILOVER, deps);
    expect(calls.fence).toBe(1);
    expect(watch).toMatchObject({ status: 'Unhealthy', autoFenced: false, autoFencedAt: NOW.toISOString() });
    expect(watch?.autoFenceResult).toContain('403 AuthorizationFailed');
    expect(watch?.reasons.join(' ')).toContain(COMMAND);
  });

  it('does not fence a stopped old primary even when auto-fence is allowed', async () => {
    const { deps, calls } = fakeDeps({
      arm: { kind: 'ok', state: 'Stopped', role: 'Primary' },
      sql: { kind: 'not-configured' },
    });
    const watch = await watchOldPrimary(config({ splitBrainAutoFence: true }), FAILOVER, deps);
    expect(calls.fence).toBe(0);
    expect(watch).toMatchObject({ status: 'Healthy', splitBrain: false, autoFenced: false });
  });

  it('makes the replica report as bad as its own part, with its reason and facts', async () => {
    const { deps } = fakeDeps({ arm: READY_PRIMARY, sql: WRITABLE });
    const watch = await watchOldPrimary(config(), FAILOVER, deps);
    if (!watch) throw new Error('expected a watch');
    const report = withOldPrimary(
      { status: 'Degraded' as const, reasons: ['failed over'], facts: {} },
      watch,
    );
    expect(report.status).toBe('Unhealthy');
    expect(report.reasons).toEqual(['failed over', ...watch.reasons]);
    expect(report.facts).toMatchObject({ splitBrain: true, autoFenced: false, oldPrimary: 'pg-kyvos' });
    expect(report.oldPrimary).toBe(watch);
  });
});
