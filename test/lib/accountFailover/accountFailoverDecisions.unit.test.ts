import { describe, expect, it } from 'vitest';
import {
  type AccountFailoverFacts,
  judgeAccountFailover,
} from '../../../src/lib/accountFailover/accountFailoverReadiness.js';
import { failAccountOver } from '../../../src/lib/accountFailover/failAccountOver.js';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { type FailoverRun, newRun, type StepName } from '../../../src/lib/failover/FailoverRun.js';
import { readySteps } from '../../../src/lib/failover/runbook.js';

const able: AccountFailoverFacts = {
  sku: 'Standard_RAGRS',
  canFailover: true,
  canPlannedFailover: true,
  mayFailOver: true,
  unreadable: [],
};

describe('the verdict on an account failover', () => {
  it('lets an able account fail over, planned for a planned run', () => {
    const verdict = judgeAccountFailover(able, 'planned', 'kyvosprimdata');
    expect(verdict).toMatchObject({ reasons: [], warnings: [], failoverType: 'Planned' });
  });

  it('refuses a locally redundant account, naming the SKU and the copy strategy', () => {
    const verdict = judgeAccountFailover({ ...able, sku: 'Standard_LRS' }, 'forced', 'kyvosprimdata');
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toMatch(/Standard_LRS.*geo-redundant.*strategy copy/);
  });

  it('refuses when geoReplicationStats.canFailover is false', () => {
    const verdict = judgeAccountFailover({ ...able, canFailover: false }, 'forced', 'kyvosprimdata');
    expect(verdict.reasons).toEqual([expect.stringContaining('canFailover is false')]);
  });

  it('refuses an identity without the failover action, naming the role and the template', () => {
    const verdict = judgeAccountFailover({ ...able, mayFailOver: false }, 'planned', 'kyvosprimdata');
    expect(verdict.reasons).toEqual([
      expect.stringMatching(
        /Microsoft\.Storage\/storageAccounts\/failover\/action.*infra\/rbac-primary\.json/,
      ),
    ]);
  });

  it('asks a planned run for the unplanned failover, saying why, when canPlannedFailover is false', () => {
    const verdict = judgeAccountFailover({ ...able, canPlannedFailover: false }, 'planned', 'kyvosprimdata');
    expect(verdict.reasons).toEqual([]);
    expect(verdict.failoverType).toBe('Unplanned');
    expect(verdict.failoverTypeReason).toMatch(/canPlannedFailover is false.*quiesce/);
  });

  it('asks a forced run for the unplanned failover even when a planned one is possible', () => {
    expect(judgeAccountFailover(able, 'forced', 'kyvosprimdata').failoverType).toBe('Unplanned');
  });

  it('warns, without refusing, about what it could not read', () => {
    const unknown: AccountFailoverFacts = {
      sku: null,
      canFailover: null,
      canPlannedFailover: null,
      mayFailOver: null,
      unreadable: ['the account could not be read through ARM (503)'],
    };
    const verdict = judgeAccountFailover(unknown, 'forced', 'kyvosprimdata');
    expect(verdict.reasons).toEqual([]);
    expect(verdict.warnings).toEqual([expect.stringContaining('503')]);
  });
});

const T0 = new Date('2026-12-01T10:00:00Z');

function runWith(
  mode: 'planned' | 'forced',
  statuses: Partial<Record<StepName, FailoverRun['steps'][StepName]['status']>>,
): FailoverRun {
  const run = newRun(
    'fo-20261201T100000Z-abcdef',
    { mode, reason: 'drill', dryRun: false, requestedBy: 'test', strategy: 'accountFailover' },
    T0,
  );
  for (const [name, status] of Object.entries(statuses)) run.steps[name as StepName].status = status;
  return run;
}

describe('the runbook with the account failover strategy', () => {
  it('fails the account over and promotes once preflight succeeded (forced), and never copies', () => {
    const ready = readySteps(runWith('forced', { preflight: 'Succeeded', quiesce: 'Succeeded' }), T0);
    expect(ready.sort()).toEqual(['database.promote', 'storage.accountFailover']);
  });

  it('does not fail the account over before the quiesce succeeded', () => {
    const ready = readySteps(runWith('planned', { preflight: 'Succeeded' }), T0);
    expect(ready).toEqual(['quiesce']);
  });

  it('does not fail the account over after a step failed', () => {
    const run = runWith('forced', {
      preflight: 'Succeeded',
      quiesce: 'Succeeded',
      'database.promote': 'Failed',
    });
    expect(readySteps(run, T0)).not.toContain('storage.accountFailover');
  });

  it('records the names only once the account failed over and the old primary was fenced', () => {
    const base = {
      preflight: 'Succeeded',
      quiesce: 'Succeeded',
      'database.promote': 'Succeeded',
      'database.fence': 'Succeeded',
    } as const;
    expect(
      readySteps(runWith('forced', { ...base, 'storage.accountFailover': 'Running' }), T0),
    ).not.toContain('record');
    expect(readySteps(runWith('forced', { ...base, 'storage.accountFailover': 'Succeeded' }), T0)).toEqual([
      'record',
    ]);
  });

  it('leaves the account failover out of a copy run', () => {
    const run = runWith('forced', { preflight: 'Succeeded', quiesce: 'Succeeded' });
    run.request.strategy = 'copy';
    expect(readySteps(run, T0)).not.toContain('storage.accountFailover');
  });
});

/** A storage management client that answers `getProperties` from a list and records every call. */
function armWith(accounts: Array<Record<string, unknown> | Error>, calls: string[]): ClientFactory {
  let read = 0;
  return {
    storageManagement: () => ({
      storageAccounts: {
        getProperties: async () => {
          calls.push('getProperties');
          const next = accounts[Math.min(read++, accounts.length - 1)];
          if (next instanceof Error) throw next;
          return next;
        },
        beginFailover: async () => {
          calls.push('beginFailover');
          throw new Error('not expected');
        },
      },
    }),
  } as unknown as ClientFactory;
}

const config = {
  subscriptionId: 'sub',
  primary: {
    resourceGroup: 'rg-kyvos',
    storageAccount: 'kyvosprimdata',
    region: 'centralus',
    container: 'kyvos',
  },
  dr: { region: 'eastus2' },
} as Parameters<typeof failAccountOver>[1];

const options = {
  failoverType: 'Unplanned' as const,
  timeoutInMs: 60_000,
  pollIntervalInMs: 1,
  persistOperation: async () => {},
};

describe('an account failover taken over from a worker that died', () => {
  it('does not fail over an account that is already primary in the DR region', async () => {
    const calls: string[] = [];
    const result = await failAccountOver(
      armWith([{ primaryLocation: 'East US 2', sku: { name: 'Standard_LRS' } }], calls),
      config,
      { ...options, earlierAttempt: true },
    );
    expect(result.how).toBe('already failed over');
    expect(calls).not.toContain('beginFailover');
  });

  it('waits for a failover under way instead of calling it again', async () => {
    const calls: string[] = [];
    const result = await failAccountOver(
      armWith(
        [
          { primaryLocation: 'centralus', failoverInProgress: true },
          { primaryLocation: 'centralus', failoverInProgress: true },
          { primaryLocation: 'eastus2', failoverInProgress: false },
        ],
        calls,
      ),
      config,
      { ...options, earlierAttempt: true },
    );
    expect(result.how).toBe('waited for the failover under way');
    expect(calls).not.toContain('beginFailover');
  });

  it('does not fail over blind when the account cannot be read after an earlier attempt', async () => {
    const calls: string[] = [];
    await expect(
      failAccountOver(armWith([new Error('ARM answered 503')], calls), config, {
        ...options,
        earlierAttempt: true,
      }),
    ).rejects.toThrow(/not called again blind/);
    expect(calls).toEqual(['getProperties']);
  });
});
