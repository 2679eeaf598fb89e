import type { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { formatRunState } from '../../../src/cli/format.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { type FailoverRun, newRun, STEP_NAMES } from '../../../src/lib/failover/FailoverRun.js';
import { advance, type FailoverRuntime } from '../../../src/lib/failover/FailoverService.js';
import { type AdvanceMessage, decodeMessage } from '../../../src/lib/failover/queues.js';
import { LOCK_SETUP_GRACE_IN_MS, RunStore } from '../../../src/lib/failover/RunStore.js';
import { runStatus } from '../../../src/lib/failover/status.js';
import {
  DEFAULT_SWEEPER_OPTIONS,
  type SweeperRuntime,
  sweeperOptionsFromSettings,
  sweepFailoverRuns,
} from '../../../src/lib/failover/sweeper.js';
import { waitingFor } from '../../../src/lib/failover/waitingFor.js';
import { createLogger } from '../../../src/lib/log.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const MIN = 60_000;
const RUN_ID = 'fo-20261124T100000Z-5ca1ab';
const request = { mode: 'forced' as const, reason: 'test', dryRun: false, requestedBy: 'test' };

/** A run store on a fake clock, a fake failover queue that records the run ids it is sent, and the sweeper's runtime. */
function world() {
  let now = new Date('2026-11-24T10:00:00Z');
  const clock = () => new Date(now);
  const documents = new InMemoryDocumentStore();
  const store = new RunStore(documents, { clock });
  const sent: string[] = [];
  const queue = {
    name: 'kyvos-dr-failover',
    createIfNotExists: async () => ({}),
    sendMessage: async (text: string) => {
      sent.push(decodeMessage<AdvanceMessage>(text).runId);
      return {};
    },
  } as unknown as QueueClient;
  const lines: string[] = [];
  const logger = createLogger((_level, line) => lines.push(line));
  let config: () => Promise<DrConfig> = async () => {
    throw new Error('Key Vault https://kv-kyvos.vault.azure.net is unreachable');
  };
  const runtime: SweeperRuntime = {
    store,
    failoverQueue: queue,
    copyQueue: queue,
    deps: { clock, logger, config: () => config() },
  };
  return {
    documents,
    store,
    sent,
    lines,
    runtime,
    clock,
    setConfig: (load: () => Promise<DrConfig>) => {
      config = load;
    },
    pass: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    sweep: () => sweepFailoverRuns(runtime, DEFAULT_SWEEPER_OPTIONS),
    /** A started run, as `startFailover` leaves it: the lock taken, the record written, nothing processed. */
    start: async (shape?: (run: FailoverRun) => void) => {
      expect(await store.acquireLock(RUN_ID, clock())).toEqual({ acquired: true });
      const run = newRun(RUN_ID, request, clock());
      shape?.(run);
      await store.create(run);
    },
    run: async () => (await store.get(RUN_ID)) as FailoverRun,
  };
}

/** A run in its copy: preflight and the DR account done, the copy waiting on its partitions. */
function copying(total: number) {
  return (run: FailoverRun) => {
    for (const name of ['preflight', 'storage.ensureAccount'] as const) {
      run.steps[name] = {
        status: 'Succeeded',
        attempts: 1,
        startedAt: run.createdAt,
        endedAt: run.createdAt,
      };
    }
    run.steps['storage.copy'] = { status: 'Running', attempts: 1, startedAt: run.createdAt };
    run.progress.listingComplete = true;
    run.progress.partitionsListed = total;
  };
}

describe('the failover sweeper', () => {
  it('leaves a fresh run alone, and its status says the first advance has not been processed', async () => {
    const w = world();
    await w.start();
    w.pass(4 * MIN);
    expect(await w.sweep()).toMatchObject({ action: 'left', runId: RUN_ID });
    expect(w.sent).toEqual([]);
    const run = await w.run();
    expect(run.state).toBe('Running');
    expect(runStatus(run, w.clock()).waitingFor).toBe(
      `the first advance message has not been processed since ${run.createdAt}`,
    );
  });

  it('re-advances a Running run with no progress past the first bound, once per bound, without counting that as progress', async () => {
    const w = world();
    await w.start();
    const createdAt = (await w.run()).createdAt;
    w.pass(5 * MIN);
    expect(await w.sweep()).toMatchObject({ action: 'readvanced', runId: RUN_ID });
    expect(w.sent).toEqual([RUN_ID]);
    const noted = await w.run();
    expect(noted.watch).toEqual({ readvances: 1, lastReadvancedAt: w.clock().toISOString() });
    expect(noted.updatedAt).toBe(createdAt);
    expect(waitingFor(noted, w.clock())).toBe(
      `the first advance message has not been processed since ${createdAt}; the sweeper re-advanced it at ${w.clock().toISOString()}`,
    );

    // The message it sent is still due: no second one yet.
    w.pass(2 * MIN);
    expect(await w.sweep()).toMatchObject({ action: 'left' });
    expect(w.sent).toEqual([RUN_ID]);
    w.pass(3 * MIN);
    expect(await w.sweep()).toMatchObject({ action: 'readvanced' });
    expect(w.sent).toEqual([RUN_ID, RUN_ID]);
    expect(w.lines.filter((l) => l.includes('failover.sweeper.readvanced'))).toHaveLength(2);
  });

  it('ends a run with no progress past the second bound Failed, with the reason, and releases the lock', async () => {
    const w = world();
    await w.start();
    for (let minute = 5; minute < 60; minute += 5) {
      w.pass(5 * MIN);
      expect(await w.sweep(), `sweep at minute ${minute}`).toMatchObject({ action: 'readvanced' });
    }
    w.pass(5 * MIN);
    const outcome = await w.sweep();
    expect(outcome).toMatchObject({ action: 'failed', runId: RUN_ID });
    const run = await w.run();
    expect(run.state).toBe('Failed');
    expect(run.endedAt).toBe(w.clock().toISOString());
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('The run made no progress for 60 min (since 2026-11-24T10:00:00.000Z)');
    expect(run.errors[0]).toContain('after re-advancing it 11 time(s)');
    expect(run.errors[0]).toContain('the first advance message has not been processed');
    expect(run.errors[0]).toContain(`kyvos-dr retry ${RUN_ID}`);
    expect(Object.values(run.steps).map((s) => s.status)).toEqual(Array(STEP_NAMES.length).fill('Skipped'));
    expect(runStatus(run, w.clock()).waitingFor).toBeNull();
    expect(await w.store.lockHolder()).toBeUndefined();
    expect(await w.store.acquireLock('fo-20261124T110100Z-0b0b0b', w.clock())).toEqual({ acquired: true });
  });

  it('fails the step it was stuck in with the reason, keeping the steps that succeeded', async () => {
    const w = world();
    await w.start(copying(40));
    w.pass(61 * MIN);
    expect(await w.sweep()).toMatchObject({ action: 'failed' });
    const run = await w.run();
    expect(run.steps.preflight.status).toBe('Succeeded');
    expect(run.steps['storage.copy']).toMatchObject({
      status: 'Failed',
      error: 'Ended by the sweeper: the run made no progress since 2026-11-24T10:00:00.000Z.',
    });
    expect(run.steps['database.promote'].status).toBe('Skipped');
    expect(run.errors[0]).toContain('the copy: 0 of 40 partitions done');
  });

  it('never ends a run whose copy progresses, however long it takes', async () => {
    const w = world();
    await w.start(copying(40));
    // The advance messages are lost; the copy workers go on, one partition every 10 minutes, for 3 hours.
    for (let minute = 5; minute <= 180; minute += 5) {
      w.pass(5 * MIN);
      if (minute % 10 === 0) {
        await w.store.update(RUN_ID, (r) => {
          r.progress.partitionsDone += 1;
          return true;
        });
      }
      const outcome = await w.sweep();
      expect(outcome.action, `sweep at minute ${minute}`).not.toBe('failed');
    }
    const run = await w.run();
    expect(run.state).toBe('Running');
    expect(await w.store.lockHolder()).toBe(RUN_ID);
    expect(waitingFor(run, w.clock())).toBe('the copy: 18 of 40 partitions done');
  });

  it('leaves a run alone while a worker holds one of its steps, however quiet the record is', async () => {
    const w = world();
    const until = new Date(Date.parse('2026-11-24T10:00:00Z') + 3 * 60 * MIN).toISOString();
    await w.start((run) => {
      run.steps.preflight = {
        status: 'Succeeded',
        attempts: 1,
        startedAt: run.createdAt,
        endedAt: run.createdAt,
      };
      run.steps['database.promote'] = {
        status: 'Running',
        attempts: 1,
        startedAt: run.createdAt,
        owner: 'worker-1',
        claimedUntil: until,
      };
    });
    w.pass(90 * MIN);
    expect(await w.sweep()).toMatchObject({
      action: 'left',
      why: `a worker holds step database.promote until ${until}`,
    });
    expect(w.sent).toEqual([]);
    const run = await w.run();
    expect(run.state).toBe('Running');
    expect(waitingFor(run, w.clock())).toContain(`a worker holds step database.promote until ${until}`);
  });

  it('does not end a run that a worker advanced between the sweeper reading it and writing it', async () => {
    const w = world();
    await w.start(copying(40));
    w.pass(61 * MIN);
    // A copy worker reports a partition exactly before the sweeper's conditional write.
    let injected = false;
    w.documents.beforeWrite = async (key) => {
      if (injected || !key.endsWith('/run.json')) return;
      injected = true;
      await w.store.update(RUN_ID, (r) => {
        r.progress.partitionsDone += 1;
        return true;
      });
    };
    expect(await w.sweep()).toMatchObject({ action: 'left', why: 'it progressed while the sweeper looked' });
    expect(injected).toBe(true);
    expect((await w.run()).state).toBe('Running');
    expect(await w.store.lockHolder()).toBe(RUN_ID);
  });

  it('releases a lock whose holder never wrote its run record, once the setup grace has passed', async () => {
    const w = world();
    await w.store.acquireLock(RUN_ID, w.clock());
    w.pass(LOCK_SETUP_GRACE_IN_MS);
    expect(await w.sweep()).toMatchObject({ action: 'left' });
    expect(await w.store.lockHolder()).toBe(RUN_ID);
    w.pass(1);
    expect(await w.sweep()).toMatchObject({ action: 'lock-released', runId: RUN_ID });
    expect(await w.store.lockHolder()).toBeUndefined();
  });

  it('does nothing when no run holds the lock', async () => {
    const w = world();
    expect(await w.sweep()).toEqual({ action: 'idle' });
  });
});

describe('an advance whose configuration does not load', () => {
  it('records why on the run, redacted and not as progress, so that the status says it', async () => {
    const w = world();
    await w.start();
    const createdAt = (await w.run()).createdAt;
    w.pass(MIN);
    const runtime = {
      ...w.runtime,
      deps: {
        ...w.runtime.deps,
        config: async () => {
          throw new Error(
            'GET https://kv-kyvos.vault.azure.net/secrets/kyvos-dr-source-sas?sig=s3cr3t failed: ECONNREFUSED',
          );
        },
      },
      options: {},
    } as unknown as FailoverRuntime;
    await expect(advance(runtime, RUN_ID)).rejects.toThrow('ECONNREFUSED');
    const run = await w.run();
    expect(run.updatedAt).toBe(createdAt);
    expect(run.watch?.advanceFailure).toEqual({
      at: w.clock().toISOString(),
      reason:
        'the configuration could not be loaded: GET https://kv-kyvos.vault.azure.net/secrets/kyvos-dr-source-sas?sig=REDACTED failed: ECONNREFUSED',
    });
    expect(JSON.stringify(run)).not.toContain('s3cr3t');
    expect(waitingFor(run, w.clock())).toBe(
      `every advance fails before a step can run: ${run.watch?.advanceFailure?.reason} (last at ${w.clock().toISOString()})`,
    );

    // Past the second bound, the reason the sweeper gives names it.
    w.pass(60 * MIN);
    expect(await w.sweep()).toMatchObject({ action: 'failed' });
    expect((await w.run()).errors[0]).toContain('the configuration could not be loaded: GET');
  });

  it('is no longer the reason once the run has progressed since', async () => {
    const w = world();
    await w.start((run) => {
      run.watch = {
        advanceFailure: {
          at: '2026-11-24T09:59:00.000Z',
          reason: 'the configuration could not be loaded: x',
        },
      };
      run.steps.preflight = {
        status: 'Succeeded',
        attempts: 1,
        startedAt: run.createdAt,
        endedAt: run.createdAt,
      };
    });
    expect(waitingFor(await w.run(), w.clock())).toBe(
      'an advance message to run steps quiesce, storage.ensureAccount (no progress since 2026-11-24T10:00:00.000Z)',
    );
  });
});

describe('waitingFor', () => {
  it('names the copy while it lists the source', () => {
    const run = newRun(RUN_ID, request, new Date('2026-11-24T10:00:00Z'));
    copying(3)(run);
    run.progress.listingComplete = false;
    run.progress.partitionsDone = 1;
    expect(waitingFor(run, new Date('2026-11-24T10:01:00Z'))).toBe(
      'the copy: listing the source, 3 partitions so far, 1 done',
    );
  });
});

describe('the CLI status of a Running run', () => {
  it('says what it waits for, and nothing once it has ended', () => {
    const run = newRun(RUN_ID, request, new Date('2026-11-24T10:00:00Z'));
    copying(3)(run);
    run.progress.partitionsDone = 2;
    const now = new Date('2026-11-24T10:01:00Z');
    expect(formatRunState(run, now).join('\n')).toMatch(
      /^ {2}waiting for +the copy: 2 of 3 partitions done$/m,
    );
    run.state = 'Failed';
    expect(formatRunState(run, now).join('\n')).not.toContain('waiting for');
  });
});

describe('the sweeper settings', () => {
  it('default to re-advancing after 5 minutes and ending after 60', () => {
    expect(sweeperOptionsFromSettings({})).toEqual(DEFAULT_SWEEPER_OPTIONS);
    expect(DEFAULT_SWEEPER_OPTIONS).toMatchObject({ readvanceAfterInMs: 5 * MIN, failAfterInMs: 60 * MIN });
    expect(
      sweeperOptionsFromSettings({
        KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES: '2',
        KYVOS_DR_SWEEPER_FAIL_AFTER_MINUTES: '30',
      }),
    ).toMatchObject({ readvanceAfterInMs: 2 * MIN, failAfterInMs: 30 * MIN });
  });

  it('refuse a bad value naming the setting, and an end bound not above the re-advance bound', () => {
    expect(() => sweeperOptionsFromSettings({ KYVOS_DR_SWEEPER_FAIL_AFTER_MINUTES: 'an hour' })).toThrow(
      'App setting KYVOS_DR_SWEEPER_FAIL_AFTER_MINUTES must be a whole number of minutes',
    );
    expect(() => sweeperOptionsFromSettings({ KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES: '0' })).toThrow(
      'KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES',
    );
    expect(() =>
      sweeperOptionsFromSettings({
        KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES: '10',
        KYVOS_DR_SWEEPER_FAIL_AFTER_MINUTES: '10',
      }),
    ).toThrow('must be larger than KYVOS_DR_SWEEPER_READVANCE_AFTER_MINUTES');
  });
});
