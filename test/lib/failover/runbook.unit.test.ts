import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { PreconditionFailed } from '../../../src/lib/errors.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { RunStore } from '../../../src/lib/failover/RunStore.js';
import { advanceRun } from '../../../src/lib/failover/runbook.js';
import {
  DEFAULT_FAILOVER_OPTIONS,
  type StepContext,
  type StepOutcome,
} from '../../../src/lib/failover/StepContext.js';
import { createLogger } from '../../../src/lib/log.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const CLAIM_IN_MS = 60_000;
const RUN_ID = 'fo-20261201T100000Z-aaaaaa';

/** A promise with its resolve, to hold a step function until the test lets it go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/**
 * A dry run (preflight is its only step) in an in-memory store, with a clock the test moves, and
 * a context per worker whose preflight is the given function.
 */
async function setUp() {
  const store = new RunStore(new InMemoryDocumentStore());
  let now = T0;
  const lines: string[] = [];
  const base: Omit<StepContext, 'run'> = {
    clients: {} as ClientFactory,
    config: {} as DrConfig,
    logger: createLogger((_level, line) => lines.push(line)),
    clock: () => now,
    store,
    options: { ...DEFAULT_FAILOVER_OPTIONS, stepClaimInMs: CLAIM_IN_MS },
    appStorageAccount: 'kyvosdrapp',
    settings: {},
  };
  await store.acquireLock(RUN_ID, T0);
  await store.create(newRun(RUN_ID, { mode: 'planned', reason: 'test', dryRun: true, requestedBy: 't' }, T0));
  const worker = (preflight: (ctx: StepContext) => Promise<StepOutcome>) => ({
    ...base,
    steps: { preflight },
  });
  const passClaim = () => {
    now = new Date(now.getTime() + CLAIM_IN_MS + 1_000);
  };
  return { store, worker, passClaim, lines };
}

describe('a worker that lost its step claim', () => {
  it('cannot overwrite the new owner’s success with its own failure', async () => {
    const { store, worker, passClaim, lines } = await setUp();
    const held = gate();
    const started = gate();
    // Worker A claims preflight and stalls in it.
    const a = advanceRun(
      worker(async () => {
        started.open();
        await held.wait;
        throw new Error('the stalled worker failed at last');
      }),
      RUN_ID,
      'worker-a',
    );
    await started.wait;
    expect((await store.get(RUN_ID))?.steps.preflight.owner).toBe('worker-a');

    // A's claim expires; worker B takes the step over and succeeds: the dry run ends Succeeded.
    passClaim();
    const b = await advanceRun(
      worker(async () => ({ detail: { by: 'worker-b' } })),
      RUN_ID,
      'worker-b',
    );
    expect(b.run.state).toBe('Succeeded');
    expect(b.run.steps.preflight).toMatchObject({ status: 'Succeeded', attempts: 2 });

    // Now A's step throws.
    held.open();
    await a;
    const run = await store.get(RUN_ID);
    expect(run?.state).toBe('Succeeded');
    expect(run?.steps.preflight).toMatchObject({ status: 'Succeeded', detail: { by: 'worker-b' } });
    expect(run?.steps.preflight.error).toBeUndefined();
    expect(run?.errors).toEqual([]);
    expect(lines.some((line) => line.includes('"event":"failover.step_lost"'))).toBe(true);
  });

  it('cannot refuse the run, nor release its lock, while the new owner is still at the step', async () => {
    const { store, worker, passClaim } = await setUp();
    const heldA = gate();
    const startedA = gate();
    const a = advanceRun(
      worker(async () => {
        startedA.open();
        await heldA.wait;
        throw new PreconditionFailed('The replica is not Active.', ['replicationState is Broken']);
      }),
      RUN_ID,
      'worker-a',
    );
    await startedA.wait;
    passClaim();
    // B takes the step over and is still at it when A's refusal comes.
    const heldB = gate();
    const startedB = gate();
    const b = advanceRun(
      worker(async () => {
        startedB.open();
        await heldB.wait;
        return {};
      }),
      RUN_ID,
      'worker-b',
    );
    await startedB.wait;
    heldA.open();
    await a;
    const during = await store.get(RUN_ID);
    expect(during?.state).toBe('Running');
    expect(during?.errors).toEqual([]);
    expect(during?.steps.preflight).toMatchObject({ status: 'Running', owner: 'worker-b' });
    expect(await store.lockHolder()).toBe(RUN_ID);

    heldB.open();
    expect((await b).run.state).toBe('Succeeded');
  });

  it('still fails its step, and the run, while it owns the step', async () => {
    const { store, worker } = await setUp();
    const result = await advanceRun(
      worker(async () => {
        throw new Error('the primary did not answer');
      }),
      RUN_ID,
      'worker-a',
    );
    expect(result.run.state).toBe('Failed');
    expect(result.run.steps.preflight).toMatchObject({
      status: 'Failed',
      error: 'the primary did not answer',
    });
    expect(result.run.errors).toEqual(['preflight: the primary did not answer']);
    expect(await store.lockHolder()).toBeUndefined();
  });
});
