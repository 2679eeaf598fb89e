import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { failoverConfirm } from '../../src/functions/failoverConfirm.js';
import type { ClientFactory } from '../../src/lib/clients/ClientFactory.js';
import type { Deps } from '../../src/lib/deps.js';
import { type FailoverRun, newRun } from '../../src/lib/failover/FailoverRun.js';
import { RunStore } from '../../src/lib/failover/RunStore.js';
import { runStatus } from '../../src/lib/failover/status.js';
import { AWAITING_CONFIRMATION } from '../../src/lib/failover/steps/quiesce.js';
import { createLogger } from '../../src/lib/log.js';
import { InMemoryDocumentStore } from '../helpers/InMemoryDocumentStore.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const RUN_ID = 'fo-20261201T100000Z-abcdef';

/**
 * The handler's dependencies with no stack: the run store on an in-memory document store (the run
 * store takes it in place of the app's blob service) and a queue that records what is sent.
 */
function setup() {
  const documents = new InMemoryDocumentStore();
  const sent: string[] = [];
  const queue = {
    name: 'kyvos-dr-failover',
    createIfNotExists: async () => ({}),
    sendMessage: async (text: string) => {
      sent.push(Buffer.from(text, 'base64').toString('utf8'));
      return {};
    },
  };
  const clients = {
    blobService: () => documents,
    queueService: () => ({ getQueueClient: () => queue }),
  } as unknown as ClientFactory;
  const deps: Deps = {
    settings: {},
    clients,
    config: async () => {
      throw new Error('confirm does not need the configuration');
    },
    logger: createLogger(() => {}),
    clock: () => T0,
    appStorageAccount: 'stkyvosdrapp',
  };
  return { deps, sent, store: new RunStore(documents) };
}

function plannedRunWaiting(): FailoverRun {
  const run = newRun(RUN_ID, { mode: 'planned', reason: 't', dryRun: false, requestedBy: 't' }, T0);
  run.steps.preflight.status = 'Succeeded';
  run.steps.quiesce = {
    status: 'Running',
    attempts: 1,
    detail: { required: true, waitingFor: AWAITING_CONFIRMATION, instruction: 'Stop Kyvos…' },
  };
  return run;
}

async function post(deps: Deps, body: unknown, runId = RUN_ID, headers: Record<string, string> = {}) {
  const response = await failoverConfirm(
    new HttpRequest({
      method: 'POST',
      url: `https://kyvos-dr.example/api/failover/${runId}/confirm?code=k`,
      body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
      headers: { 'content-type': 'application/json', ...headers },
      params: { runId },
    }),
    new InvocationContext({ invocationId: 'test', functionName: 'failoverConfirm' }),
    deps,
  );
  return {
    status: response.status,
    body: response.jsonBody as {
      error: { code: string; message: string; field?: string };
      confirmedBy?: string;
    },
  };
}

describe('POST /api/failover/{runId}/confirm', () => {
  it('records who confirmed and when (the quiesce moment) for a run paused at its quiesce, and queues an advance', async () => {
    const { deps, sent, store } = setup();
    await store.create(plannedRunWaiting());
    expect(runStatus((await store.get(RUN_ID)) as FailoverRun).awaiting).toMatchObject({
      step: 'quiesce',
      what: AWAITING_CONFIRMATION,
    });
    expect(runStatus((await store.get(RUN_ID)) as FailoverRun).waitingFor).toBe(
      'the operator, at step quiesce: Stop Kyvos…',
    );

    const response = await post(deps, { kyvosStopped: true, requestedBy: 'ops@example' });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({
      runId: RUN_ID,
      quiescedAt: T0.toISOString(),
      confirmedBy: 'ops@example',
      statusUrl: `https://kyvos-dr.example/api/failover/${RUN_ID}`,
    });
    const run = (await store.get(RUN_ID)) as FailoverRun;
    expect(run.quiesce).toEqual({ confirmedAt: T0.toISOString(), confirmedBy: 'ops@example' });
    expect(run.steps.quiesce.detail?.waitingFor).not.toBe(AWAITING_CONFIRMATION);
    expect(sent.map((m) => JSON.parse(m))).toEqual([{ kind: 'advance', runId: RUN_ID }]);
  });

  it("refuses a second confirmation (409): the first one's moment is the one checked", async () => {
    const { deps, store } = setup();
    await store.create(plannedRunWaiting());
    expect((await post(deps, { kyvosStopped: true, requestedBy: 'first' })).status).toBe(202);
    const again = await post(deps, { kyvosStopped: true, requestedBy: 'second' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'RunNotWaiting', runId: RUN_ID });
    expect(again.body.error.message).toContain('already confirmed by first');
    expect((await store.get(RUN_ID))?.quiesce?.confirmedBy).toBe('first');
  });

  it('answers 404 for an unknown run', async () => {
    const { deps } = setup();
    const response = await post(deps, { kyvosStopped: true });
    expect(response.status).toBe(404);
    expect(response.body.error.message).toBe(`No failover run ${RUN_ID}.`);
  });

  it('answers 409 for a run not waiting: not there yet, forced, or ended', async () => {
    const { deps, store, sent } = setup();
    const early = newRun(RUN_ID, { mode: 'planned', reason: 't', dryRun: false, requestedBy: 't' }, T0);
    await store.create(early);
    const notYet = await post(deps, { kyvosStopped: true });
    expect(notYet.status).toBe(409);
    expect(notYet.body.error.message).toContain('its quiesce step is Pending, not yet waiting');

    const forcedId = 'fo-20261201T100000Z-fffff0';
    await store.create(
      newRun(forcedId, { mode: 'forced', reason: 't', dryRun: false, requestedBy: 't' }, T0),
    );
    const forced = await post(deps, { kyvosStopped: true }, forcedId);
    expect(forced.status).toBe(409);
    expect(forced.body.error.message).toContain('a forced run has no quiesce to confirm');

    const endedId = 'fo-20261201T100000Z-eeeee0';
    const ended = plannedRunWaiting();
    ended.runId = endedId;
    ended.state = 'Failed';
    await store.create(ended);
    const failed = await post(deps, { kyvosStopped: true }, endedId);
    expect(failed.status).toBe(409);
    expect(failed.body.error).toMatchObject({ code: 'RunNotWaiting', state: 'Failed' });
    expect(sent).toEqual([]);
    expect((await store.get(RUN_ID))?.quiesce).toBeUndefined();
  });

  it('answers 400 naming the field for a bad body, and confirms nothing', async () => {
    const { deps, store } = setup();
    await store.create(plannedRunWaiting());
    for (const body of [{}, { kyvosStopped: false }, { kyvosStopped: 'yes' }]) {
      const response = await post(deps, body);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'BadRequest', field: 'kyvosStopped' });
      expect(response.body.error.message).toContain('kyvosStopped must be true');
    }
    expect((await post(deps, '{"kyvosStopped": tru')).body.error.message).toBe(
      'The request body is not valid JSON.',
    );
    expect((await post(deps, [true])).status).toBe(400);
    expect((await post(deps, { kyvosStopped: true }, 'not-a-run')).body.error.field).toBe('runId');
    expect((await store.get(RUN_ID))?.quiesce).toBeUndefined();
  });

  it('records the authenticated principal only when App Service authentication is trusted; a forged header is ignored', async () => {
    const forged = { 'x-ms-client-principal-name': 'mallory@example' };
    const untrusted = setup();
    await untrusted.store.create(plannedRunWaiting());
    const response = await post(
      untrusted.deps,
      { kyvosStopped: true, requestedBy: 'ops@example' },
      RUN_ID,
      forged,
    );
    expect(response.body.confirmedBy).toBe('ops@example');

    const trusted = setup();
    await trusted.store.create(plannedRunWaiting());
    const trustingDeps = { ...trusted.deps, settings: { KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL: 'true' } };
    const signedIn = await post(trustingDeps, { kyvosStopped: true }, RUN_ID, {
      'x-ms-client-principal-name': 'alice@example',
    });
    expect(signedIn.body.confirmedBy).toBe('alice@example');
  });
});
