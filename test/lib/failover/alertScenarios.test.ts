import { RestError } from '@azure/core-rest-pipeline';
import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverAlert } from '../../../src/functions/failoverAlert.js';
import { failoverStatus } from '../../../src/functions/failoverStatus.js';
import type { FailoverDeps } from '../../../src/lib/failover/FailoverService.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import type { DocumentStore } from '../../../src/lib/state/DocumentStore.js';
import { capturingLogger, failoverDepsFor, httpRequest, invocation } from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

function firedAlert(alertId: string, alertTargetIDs: string[]) {
  return {
    schemaId: 'azureMonitorCommonAlertSchema',
    data: {
      essentials: {
        alertId,
        alertRule: 'kyvos-primary-storage-down',
        severity: 'Sev0',
        signalType: 'Metric',
        monitorCondition: 'Fired',
        monitoringService: 'Platform',
        alertTargetIDs,
        configurationItems: alertTargetIDs.map((id) => id.split('/').at(-1)),
        firedDateTime: new Date().toISOString(),
        essentialsVersion: '1.0',
        alertContextVersion: '1.0',
      },
      alertContext: {},
    },
  };
}

async function keysUnder(documents: DocumentStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of documents.keys(prefix)) keys.push(key);
  return keys;
}

describe('alerts on the failover webhook', () => {
  let stack: LocalStack;
  let deps: FailoverDeps;
  const log = capturingLogger();
  /** What the webhook logged through its invocation context, as Application Insights would get it. */
  const invocationLines: string[] = [];
  const post = (body: unknown) =>
    failoverAlert(
      httpRequest('POST', `${BASE}/failover/alert`, body),
      new InvocationContext({
        invocationId: `test-failoverAlert-${Date.now()}`,
        functionName: 'failoverAlert',
        logHandler: (_level, ...args) => invocationLines.push(args.map(String).join(' ')),
      }),
      deps,
    );

  beforeAll(async () => {
    stack = await startLocalStack();
    deps = failoverDepsFor(stack, log.logger);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('an alert about a VM in another subscription starts nothing: 200 ignored, no run, no lock', async () => {
    const vm =
      '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01';
    const answer = await post(firedAlert('/subscriptions/x/alerts/foreign-1', [vm]));
    expect(answer.status).toBe(200);
    expect(answer.jsonBody).toMatchObject({ action: 'ignored' });
    expect((answer.jsonBody as { reason: string }).reason).toContain(vm);

    const { store } = failoverRuntime(deps);
    expect(await store.lockHolder()).toBeUndefined();
    expect(await keysUnder(store.documents, 'runs/')).toEqual([]);
    expect(await keysUnder(store.documents, 'alerts/')).toEqual([]);
    const ignored = invocationLines
      .map((line) => JSON.parse(line))
      .find((l) => l.event === 'failover.alert_ignored');
    expect(ignored).toMatchObject({
      alertTargetIds: [vm],
      reason: (answer.jsonBody as { reason: string }).reason,
    });

    const malformed = await post({
      schemaId: 'azureMonitorCommonAlertSchema',
      data: { essentials: { alertId: 'a', monitorCondition: 'Fired', alertTargetIDs: vm } },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.jsonBody).toMatchObject({ error: { field: 'data.essentials.alertTargetIDs' } });
  });

  it('a transient fault on the lock after the alert was bound: 503, and the redelivery starts exactly one real run', async () => {
    const { names } = stack;
    const storageAccount = `/subscriptions/${names.subscriptionId}/resourceGroups/${names.primaryResourceGroup}/providers/Microsoft.Storage/storageAccounts/${names.primaryStorageAccount}`;
    const alert = firedAlert('/subscriptions/x/alerts/transient-1', [storageAccount.toUpperCase()]);
    const runtime = failoverRuntime(deps);
    const documents = runtime.store.documents;

    // The lock upload fails once as the storage SDK reports a 503 after its own retries. The storage
    // front has no per-blob fault, and one 503 from it would be retried away by the SDK itself.
    const write = documents.write.bind(documents);
    let faults = 0;
    documents.write = (async (key, value, condition, options) => {
      if (key === 'locks/failover.json' && faults++ === 0) {
        throw new RestError('The server is busy.', { statusCode: 503, code: 'ServerBusy' });
      }
      return write(key, value, condition, options);
    }) as DocumentStore['write'];
    let first: Awaited<ReturnType<typeof post>>;
    try {
      first = await post(alert);
    } finally {
      documents.write = write;
    }
    // 503, which an action group delivers again; a 500 it would not.
    expect(first.status).toBe(503);
    expect(first.headers).toMatchObject({ 'retry-after': '5' });
    expect(await keysUnder(documents, 'alerts/')).toHaveLength(1);
    expect(await keysUnder(documents, 'runs/')).toEqual([]);

    const redelivered = await post(alert);
    expect(redelivered.status).toBe(202);
    const { runId, action, statusUrl } = redelivered.jsonBody as {
      runId: string;
      action: string;
      statusUrl: string;
    };
    expect(action).toBe('started');
    expect(statusUrl).toContain(runId);

    const status = await failoverStatus(
      httpRequest('GET', statusUrl, undefined, { runId }),
      invocation('failoverStatus'),
      deps,
    );
    expect(status.status).toBe(200);
    expect(status.jsonBody).toMatchObject({ runId, state: 'Running' });
    expect(await runtime.store.lockHolder()).toBe(runId);
    expect(await keysUnder(documents, 'runs/')).toEqual([`runs/${runId}/run.json`]);
    const queued = await runtime.failoverQueue.peekMessages({ numberOfMessages: 32 });
    expect(queued.peekedMessageItems).toHaveLength(1);

    // Later deliveries join the same run; nothing else starts.
    const again = await post(alert);
    expect(again.status).toBe(202);
    expect(again.jsonBody).toMatchObject({ action: 'joined', runId });
    expect(await keysUnder(documents, 'runs/')).toHaveLength(1);
  });
});
