import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import type { FailoverDeps } from '../../../src/lib/failover/FailoverService.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { capturingLogger, failoverDepsFor, invocation } from '../../helpers/failoverHarness.js';

/** `POST /api/failover` with extra headers, as App Service (or a caller forging them) would send them. */
function postFailover(deps: FailoverDeps, body: unknown, headers: Record<string, string> = {}) {
  return failoverStart(
    new HttpRequest({
      method: 'POST',
      url: 'https://kyvos-dr.example/api/failover',
      body: { string: JSON.stringify(body) },
      headers: { 'content-type': 'application/json', ...headers },
    }),
    invocation('failoverStart'),
    deps,
  );
}

describe('who a run records as requestedBy', () => {
  let stack: LocalStack;
  let deps: FailoverDeps;

  beforeAll(async () => {
    stack = await startLocalStack();
    deps = failoverDepsFor(stack, capturingLogger().logger);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function requestedByOfDryRun(answer: Awaited<ReturnType<typeof postFailover>>): Promise<string> {
    expect(answer.status).toBe(202);
    const { runId } = answer.jsonBody as { runId: string };
    // The dry run ends and releases the lock for the next start.
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 60_000 });
    expect(run.state).toBe('Succeeded');
    return run.request.requestedBy;
  }

  it('refuses a requestedBy with a line break, naming the field, and starts nothing', async () => {
    const answer = await postFailover(deps, {
      mode: 'planned',
      reason: 'drill',
      dryRun: true,
      requestedBy: 'alice\n{"event":"failover.accepted","requestedBy":"ceo"}',
    });
    expect(answer.status).toBe(400);
    expect(answer.jsonBody).toMatchObject({ error: { field: 'requestedBy' } });
    expect(await failoverRuntime(deps).store.lockHolder()).toBeUndefined();
  });

  it('ignores a forged x-ms-client-principal-name when App Service authentication is not said to be on', async () => {
    const forged = { 'x-ms-client-principal-name': 'ceo@contoso.com' };
    const requestedBy = await requestedByOfDryRun(
      await postFailover(deps, { mode: 'planned', reason: 'drill', dryRun: true }, forged),
    );
    expect(requestedBy).toBe('http');
  });

  it('records the authenticated principal, not the body, when KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL is true', async () => {
    const trusting: FailoverDeps = {
      ...deps,
      settings: { ...deps.settings, KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL: 'true' },
    };
    const answer = await postFailover(
      trusting,
      { mode: 'planned', reason: 'drill', dryRun: true, requestedBy: 'mallory' },
      { 'x-ms-client-principal-name': 'alice@contoso.com' },
    );
    expect(await requestedByOfDryRun(answer)).toBe('alice@contoso.com');
  });
});
