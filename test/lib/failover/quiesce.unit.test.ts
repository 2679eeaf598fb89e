import { describe, expect, it } from 'vitest';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { type FailoverRun, newRun, STEP_NAMES } from '../../../src/lib/failover/FailoverRun.js';
import {
  QuiesceTimeout,
  type WalReader,
  waitForQuiescedWal,
  waitForStorageSync,
} from '../../../src/lib/failover/quiesceChecks.js';
import { RunStore } from '../../../src/lib/failover/RunStore.js';
import { advanceRun, readySteps } from '../../../src/lib/failover/runbook.js';
import { DEFAULT_FAILOVER_OPTIONS, type StepContext } from '../../../src/lib/failover/StepContext.js';
import { AWAITING_CONFIRMATION, quiesce } from '../../../src/lib/failover/steps/quiesce.js';
import { createLogger } from '../../../src/lib/log.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const T0 = new Date('2026-12-01T10:00:00.500Z');

/** A fake clock: `sleep` moves it on at once. */
function fakeClock(start = T0) {
  let now = start.getTime();
  return {
    clock: () => new Date(now),
    sleep: async (ms: number) => {
      now += ms;
    },
    elapsedMs: () => now - start.getTime(),
  };
}

const storageOptions = {
  account: 'stkyvosprimary',
  quiescedAt: T0,
  timeoutInMs: 60_000,
  pollIntervalInMs: 10_000,
};

describe('the storage wait before the copy', () => {
  it('proceeds at once when the secondary has already synced past the quiesce moment', async () => {
    const time = fakeClock();
    const result = await waitForStorageSync(
      async () => ({ lastSyncTime: new Date('2026-12-01T10:00:01Z') }),
      storageOptions,
      time,
    );
    expect(result).toMatchObject({ lastSyncTime: '2026-12-01T10:00:01.000Z', readings: 1, waitedSeconds: 0 });
  });

  it('waits while lastSyncTime is before the quiesce moment, and goes on once it has passed it', async () => {
    const time = fakeClock();
    const readings = ['2026-12-01T09:58:00Z', '2026-12-01T09:59:30Z', '2026-12-01T10:00:05Z'];
    const result = await waitForStorageSync(
      async () => ({ lastSyncTime: new Date(readings.shift() as string) }),
      storageOptions,
      time,
    );
    expect(result.readings).toBe(3);
    expect(result.lastSyncTime).toBe('2026-12-01T10:00:05.000Z');
    expect(time.elapsedMs()).toBe(20_000);
  });

  it('does not take a lastSyncTime in the same second as the quiesce moment: it only covers earlier writes', async () => {
    const time = fakeClock();
    const readings = ['2026-12-01T10:00:00Z', '2026-12-01T10:00:00.500Z', '2026-12-01T10:00:01Z'];
    const result = await waitForStorageSync(
      async () => ({ lastSyncTime: new Date(readings.shift() as string) }),
      storageOptions,
      time,
    );
    expect(result.readings).toBe(3);
  });

  it('fails at the timeout, naming the account, the quiesce moment and the last sync time read', async () => {
    const time = fakeClock();
    const waiting = waitForStorageSync(
      async () => ({ lastSyncTime: new Date('2026-12-01T09:50:00Z') }),
      storageOptions,
      time,
    );
    await expect(waiting).rejects.toBeInstanceOf(QuiesceTimeout);
    const error = (await waiting.catch((e: unknown) => e)) as QuiesceTimeout;
    expect(error.message).toContain(
      'The storage secondary of "stkyvosprimary" has not synced past the quiesce moment 2026-12-01T10:00:00.500Z within 60 s',
    );
    expect(error.message).toContain('its lastSyncTime is still 2026-12-01T09:50:00.000Z');
    expect(error.message).toContain('nothing was copied or promoted');
    expect(error.detail).toMatchObject({
      storage: { synced: false, lastSyncTime: '2026-12-01T09:50:00.000Z' },
    });
    expect(time.elapsedMs()).toBe(60_000);
  });

  it('keeps reading through failed readings and reports the last problem at the timeout', async () => {
    const time = fakeClock();
    const error = (await waitForStorageSync(
      async () => {
        throw new Error('secondary endpoint: 503 ServerBusy');
      },
      storageOptions,
      time,
    ).catch((e: unknown) => e)) as QuiesceTimeout;
    expect(error.message).toContain('no lastSyncTime could be read (secondary endpoint: 503 ServerBusy)');
  });
});

/** A WAL reader that returns the given positions one after the other, and replays per `replayed`. */
function walReader(positions: string[], replayed: (lsn: string) => boolean): WalReader & { reads: number } {
  const reader = {
    basis: 'primary' as const,
    reads: 0,
    position: async () => {
      reader.reads += 1;
      const lsn = positions.length > 1 ? (positions.shift() as string) : (positions[0] as string);
      return { position: lsn, lsn };
    },
    replayed: async (lsn: string) => {
      const reached = replayed(lsn);
      return { replayLsn: reached ? lsn : '0/2FFFFF0', reached };
    },
  };
  return reader;
}

const walOptions = {
  primaryServer: 'pg-kyvos',
  replicaServer: 'pg-kyvos-dr',
  steadyIntervalInMs: 5_000,
  timeoutInMs: 60_000,
};

describe('the WAL check after the confirmation', () => {
  it('proceeds when the position stays the same over the interval and the replica has replayed it', async () => {
    const time = fakeClock();
    const result = await waitForQuiescedWal(
      walReader(['0/3000060'], () => true),
      walOptions,
      time,
    );
    expect(result).toMatchObject({ finalLsn: '0/3000060', replicaReplayLsn: '0/3000060', movedReadings: 0 });
    expect(time.elapsedMs()).toBe(5_000);
  });

  it('waits while the position moves (something still writes), then proceeds once it is still', async () => {
    const time = fakeClock();
    const reader = walReader(['0/3000060', '0/3000100', '0/3000200', '0/3000200'], () => true);
    const result = await waitForQuiescedWal(reader, walOptions, time);
    expect(result.finalLsn).toBe('0/3000200');
    expect(result.movedReadings).toBe(2);
    expect(reader.reads).toBe(4);
  });

  it('waits while the replica has not replayed the still position', async () => {
    const time = fakeClock();
    let checks = 0;
    const result = await waitForQuiescedWal(
      walReader(['0/3000060'], () => {
        checks += 1;
        return checks >= 3;
      }),
      walOptions,
      time,
    );
    expect(result.finalLsn).toBe('0/3000060');
    expect(checks).toBe(3);
  });

  it('fails at the timeout while the position still moves, with both positions', async () => {
    const time = fakeClock();
    let n = 0x3000000;
    const reader: WalReader = {
      basis: 'primary',
      position: async () => {
        n += 0x100;
        const lsn = `0/${n.toString(16).toUpperCase()}`;
        return { position: lsn, lsn };
      },
      replayed: async () => ({ replayLsn: null, reached: true }),
    };
    const error = (await waitForQuiescedWal(reader, walOptions, time).catch(
      (e: unknown) => e,
    )) as QuiesceTimeout;
    expect(error).toBeInstanceOf(QuiesceTimeout);
    expect(error.message).toMatch(
      /^The WAL position of the primary "pg-kyvos" still moves \(0\/[0-9A-F]+ → 0\/[0-9A-F]+\) within 60 s of the confirmation: something still writes to it\./,
    );
    expect(error.detail).toMatchObject({ database: { quiesced: false } });
    expect(time.elapsedMs()).toBe(60_000);
  });

  it('fails at the timeout when the replica never replays the still position', async () => {
    const time = fakeClock();
    const error = (await waitForQuiescedWal(
      walReader(['0/3000060'], () => false),
      walOptions,
      time,
    ).catch((e: unknown) => e)) as QuiesceTimeout;
    expect(error.message).toContain(
      'The replica "pg-kyvos-dr" has not replayed the primary "pg-kyvos"\'s final WAL position 0/3000060 (it is at 0/2FFFFF0)',
    );
  });
});

const config: DrConfig = testConfig({
  primary: { ...testConfig().primary, postgresServer: 'pg-kyvos', storageAccount: 'stkyvosprimary' },
  dr: { ...testConfig().dr, storageAccount: 'stkyvosdr', container: 'kyvos', replicaServer: 'pg-kyvos-dr' },
});

function stepContext(run: FailoverRun): StepContext {
  return {
    run,
    config,
    logger: createLogger(() => {}),
    clock: () => T0,
  } as unknown as StepContext;
}

function runAfterPreflight(mode: 'planned' | 'forced', dryRun = false): FailoverRun {
  const run = newRun('fo-20261201T100000Z-abcdef', { mode, reason: 't', dryRun, requestedBy: 't' }, T0);
  run.steps.preflight.status = 'Succeeded';
  return run;
}

describe('which runs quiesce', () => {
  it('a planned run quiesces after preflight, and neither the promote nor the copy starts before it succeeded', () => {
    const run = runAfterPreflight('planned');
    expect(STEP_NAMES).toContain('quiesce');
    expect(readySteps(run, T0)).toEqual(['quiesce', 'storage.ensureAccount']);
    run.steps['storage.ensureAccount'].status = 'Succeeded';
    run.steps.quiesce.status = 'Running';
    expect(readySteps(run, T0)).not.toContain('database.promote');
    expect(readySteps(run, T0)).not.toContain('storage.copy');
    run.steps.quiesce.status = 'Succeeded';
    expect(readySteps(run, T0)).toEqual(['storage.copy', 'database.promote']);
  });

  it('a dry run does not quiesce (it runs preflight only)', () => {
    expect(readySteps(runAfterPreflight('planned', true), T0)).toEqual([]);
  });

  it('a planned run pauses at the manual action: the waiting step is not re-run until the confirmation', async () => {
    const run = runAfterPreflight('planned');
    const outcome = await quiesce(stepContext(run));
    expect(outcome.waiting).toBe(true);
    expect(outcome.detail).toMatchObject({ required: true, waitingFor: AWAITING_CONFIRMATION });
    expect(outcome.detail?.instruction).toContain(
      'Stop Kyvos (writes to PostgreSQL server pg-kyvos and storage account stkyvosprimary), then confirm',
    );
    expect(outcome.detail?.instruction).toContain(`kyvos-dr confirm ${run.runId}`);
    // As executeStep leaves a waiting step: Running, no claim.
    run.steps.quiesce = { status: 'Running', attempts: 1, detail: outcome.detail ?? {} };
    expect(readySteps(run, T0)).not.toContain('quiesce');
    run.quiesce = { confirmedAt: T0.toISOString(), confirmedBy: 'ops' };
    expect(readySteps(run, T0)).toContain('quiesce');
  });

  it('a forced run skips the quiesce and says so', async () => {
    const outcome = await quiesce(stepContext(runAfterPreflight('forced')));
    expect(outcome.waiting).toBeUndefined();
    expect(outcome.detail).toMatchObject({ required: false });
    expect(String(outcome.detail?.reason)).toMatch(/^forced failover: Kyvos was not stopped/);
  });
});

describe('a run paused at the quiesce', () => {
  it('ends Failed, without waiting for the operator, once another step has failed', async () => {
    const store = new RunStore(new InMemoryDocumentStore());
    const run = runAfterPreflight('planned');
    run.steps['storage.ensureAccount'] = { status: 'Failed', attempts: 1, error: 'quota exceeded' };
    run.steps.quiesce = { status: 'Running', attempts: 1, detail: { waitingFor: AWAITING_CONFIRMATION } };
    await store.create(run);
    await store.acquireLock(run.runId, T0);
    const base = { store, config, clock: () => T0, logger: createLogger(() => {}) } as unknown as Omit<
      StepContext,
      'run'
    >;
    const { run: ended } = await advanceRun(base, run.runId);
    expect(ended.state).toBe('Failed');
    expect(ended.steps.quiesce.status).toBe('Skipped');
    expect(ended.steps.quiesce.detail?.waitingFor).toBeNull();
    expect(ended.steps['database.promote'].status).toBe('Skipped');
    expect(await store.lockHolder()).toBeUndefined();
  });

  it('is not claimed by a worker that saw it Pending, once another worker has paused it', async () => {
    const documents = new InMemoryDocumentStore();
    const store = new RunStore(documents);
    const run = runAfterPreflight('planned');
    run.steps['storage.ensureAccount'].status = 'Succeeded';
    await store.create(run);
    // Between this worker's read (quiesce Pending) and its claim, another worker ran the step, which
    // paused at the manual action.
    let interleaved = false;
    documents.beforeWrite = async () => {
      if (interleaved) return;
      interleaved = true;
      await store.update(run.runId, (r) => {
        r.steps.quiesce = { status: 'Running', attempts: 1, detail: { waitingFor: AWAITING_CONFIRMATION } };
        return true;
      });
    };
    const lines: string[] = [];
    const base = {
      store,
      config,
      options: DEFAULT_FAILOVER_OPTIONS,
      clock: () => T0,
      logger: createLogger((_l, line) => lines.push(line)),
    };
    const { run: after } = await advanceRun(base as unknown as Omit<StepContext, 'run'>, run.runId);
    expect(interleaved).toBe(true);
    expect(after.state).toBe('Running');
    expect(after.steps.quiesce).toMatchObject({ status: 'Running', attempts: 1 });
    expect(lines.filter((l) => l.includes('failover.step_started'))).toEqual([]);
  });
});
