import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/lib/errors.js';
import { pairResourceIds } from '../../../src/lib/failover/alertTargets.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { handleAlert, startFailover } from '../../../src/lib/failover/FailoverService.js';
import { type AlertNotification, parseAlert } from '../../../src/lib/failover/requests.js';
import { webhookErrorResponse } from '../../../src/lib/http.js';
import { silentLogger } from '../../../src/lib/log.js';
import { inMemoryFailover, SUBSCRIPTION_ID, serverBusy, testConfig } from '../../helpers/inMemoryFailover.js';

const STORAGE_ID = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-kyvos/providers/Microsoft.Storage/storageAccounts/kyvosprimdata`;
const SERVER_ID = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-kyvos/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-kyvos`;
const FOREIGN_VM =
  '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/vm-web-01';
const LOCK_KEY = 'locks/failover.json';

function fired(
  targetIds: string[],
  alertId = '/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/a-1',
) {
  return {
    alertId,
    alertRule: 'kyvos-primary-down',
    monitorCondition: 'Fired',
    targetIds,
    severity: 'Sev0',
  } satisfies AlertNotification;
}

function payload(essentials: Record<string, unknown>) {
  return {
    schemaId: 'azureMonitorCommonAlertSchema',
    data: {
      essentials: { alertId: 'a-1', alertRule: 'r', monitorCondition: 'Fired', ...essentials },
      alertContext: {},
    },
  };
}

function inputErrorOf(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('no InputError was thrown');
}

describe('an alert payload', () => {
  it('carries its alertTargetIDs', () => {
    expect(parseAlert(payload({ alertTargetIDs: [STORAGE_ID] })).targetIds).toEqual([STORAGE_ID]);
  });

  it.each([
    ['missing', {}],
    ['a string instead of an array', { alertTargetIDs: STORAGE_ID }],
    ['an empty array', { alertTargetIDs: [] }],
    ['an array with a number in it', { alertTargetIDs: [STORAGE_ID, 42] }],
    ['an array with an empty string in it', { alertTargetIDs: [' '] }],
  ])('is refused naming data.essentials.alertTargetIDs when alertTargetIDs is %s', (_case, essentials) => {
    const error = inputErrorOf(() => parseAlert(payload(essentials)));
    expect(error.field).toBe('data.essentials.alertTargetIDs');
    expect(error.message).toContain('data.essentials.alertTargetIDs');
  });
});

describe('which alerts act on the pair', () => {
  it("names the pair's primary storage account and primary PostgreSQL server from the configuration", () => {
    expect(pairResourceIds(testConfig())).toEqual([STORAGE_ID, SERVER_ID]);
  });

  it("starts a run for an alert on the pair's storage account, whatever the case of its id", async () => {
    const { runtime, store } = inMemoryFailover();
    const outcome = await handleAlert(runtime, fired([STORAGE_ID.toUpperCase()]));
    expect(outcome.action).toBe('started');
    const runId = (outcome as { runId: string }).runId;
    expect((await store.get(runId))?.request).toMatchObject({ mode: 'planned', alertId: fired([]).alertId });
  });

  it("starts a run for an alert on the pair's PostgreSQL server among other targets", async () => {
    const { runtime } = inMemoryFailover();
    const outcome = await handleAlert(runtime, fired([FOREIGN_VM, `${SERVER_ID.toLowerCase()}/`]));
    expect(outcome.action).toBe('started');
  });

  it('starts a run for an alert on a resource of the allow-list', async () => {
    const health = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-kyvos/providers/Microsoft.Network/applicationGateways/agw-kyvos`;
    const { runtime } = inMemoryFailover({ config: { alertTargetAllowList: [health] } });
    expect((await handleAlert(runtime, fired([health.toUpperCase()]))).action).toBe('started');
  });

  it('ignores an alert on a VM in another subscription: no run, no lock, no binding, a log line with the reason', async () => {
    const { runtime, documents, store, advances, lines } = inMemoryFailover();
    const outcome = await handleAlert(runtime, fired([FOREIGN_VM]));
    expect(outcome.action).toBe('ignored');
    expect(outcome.reason).toContain(FOREIGN_VM);
    expect(outcome.reason).toContain('kyvos-dr-alert-target-allow-list');
    expect(documents.size).toBe(0);
    expect(await store.lockHolder()).toBeUndefined();
    expect(advances).toEqual([]);
    const logged = lines.map((line) => JSON.parse(line)).find((l) => l.event === 'failover.alert_ignored');
    expect(logged).toMatchObject({ alertTargetIds: [FOREIGN_VM], reason: outcome.reason });
  });

  it("ignores an alert on the DR side's resources or on the pair's resource group: a match is exact", async () => {
    const { runtime, documents } = inMemoryFailover();
    const drServer = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-kyvos-dr/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-kyvos-dr`;
    const group = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-kyvos`;
    expect(
      (await handleAlert(runtime, fired([drServer, group, `${STORAGE_ID}/blobServices/default`]))).action,
    ).toBe('ignored');
    expect(documents.size).toBe(0);
  });
});

describe('an alert is never swallowed', () => {
  it('a 503 on the lock during the first delivery: the redelivery starts a real run under the bound id', async () => {
    const { runtime, documents, store, advances } = inMemoryFailover();
    let faults = 0;
    documents.beforeWrite = (key) => {
      if (key === LOCK_KEY && faults++ === 0) throw serverBusy();
    };
    const alert = fired([STORAGE_ID]);
    await expect(handleAlert(runtime, alert)).rejects.toMatchObject({ statusCode: 503 });
    const bound = await store.alertRun(alert.alertId);
    expect(bound).toBeDefined();
    expect(await store.get(bound as string)).toBeUndefined();

    const again = await handleAlert(runtime, alert);
    expect(again).toMatchObject({ action: 'started', runId: bound });
    expect((await store.get(bound as string))?.state).toBe('Running');
    expect(await store.lockHolder()).toBe(bound);
    expect(advances).toEqual([{ kind: 'advance', runId: bound }]);

    // Every later delivery joins that run.
    expect(await handleAlert(runtime, alert)).toMatchObject({ action: 'joined', runId: bound });
    expect(advances).toHaveLength(1);
  });

  it('the lock is taken by the bound id but its run record is never written: the redelivery writes it', async () => {
    const { runtime, documents, store } = inMemoryFailover();
    let faults = 0;
    documents.beforeWrite = (key) => {
      if (key.startsWith('runs/') && faults++ === 0) throw serverBusy();
    };
    const alert = fired([STORAGE_ID]);
    await expect(handleAlert(runtime, alert)).rejects.toThrow('busy');
    const bound = (await store.alertRun(alert.alertId)) as string;
    expect(await store.lockHolder()).toBe(bound);
    expect(await store.get(bound)).toBeUndefined();

    expect(await handleAlert(runtime, alert)).toMatchObject({ action: 'started', runId: bound });
    expect(await store.get(bound)).toBeDefined();
  });

  it('joins a running run that holds the lock, and binds the alert to it', async () => {
    const { runtime, store } = inMemoryFailover();
    const running = await startFailover(runtime, {
      mode: 'forced',
      reason: 'operator',
      dryRun: false,
      requestedBy: 'op',
    });
    const alert = fired([STORAGE_ID]);
    expect(await handleAlert(runtime, alert)).toMatchObject({ action: 'joined', runId: running.runId });
    expect(await store.alertRun(alert.alertId)).toBe(running.runId);
  });

  it('never answers with a lock holder whose run record does not exist yet; joins it once it does', async () => {
    const { runtime, store } = inMemoryFailover();
    const now = runtime.deps.clock();
    // Another start has taken the lock and not yet written its record.
    expect(await store.acquireLock('fo-20261201T095959Z-aaaaaa', now)).toEqual({ acquired: true });
    const alert = fired([STORAGE_ID]);
    await expect(handleAlert(runtime, alert)).rejects.toThrow(/has no run record yet/);
    expect(await store.alertRun(alert.alertId)).not.toBe('fo-20261201T095959Z-aaaaaa');

    await store.create(
      newRun(
        'fo-20261201T095959Z-aaaaaa',
        { mode: 'forced', reason: 'op', dryRun: false, requestedBy: 'op' },
        now,
      ),
    );
    expect(await handleAlert(runtime, alert)).toMatchObject({
      action: 'joined',
      runId: 'fo-20261201T095959Z-aaaaaa',
    });
  });

  it('a second delivery that writes the run record while the first is about to: one starts, the other joins', async () => {
    const { runtime, documents, advances } = inMemoryFailover();
    const alert = fired([STORAGE_ID]);
    let second: Promise<unknown> | undefined;
    documents.beforeWrite = async (key) => {
      if (!key.startsWith('runs/') || second) return;
      // The first delivery holds the lock and is about to write the record: the second runs to the end.
      second = handleAlert(runtime, alert);
      await second;
    };
    const first = await handleAlert(runtime, alert);
    const outcomes = [first, await second];
    expect(outcomes.map((o) => (o as { action: string }).action)).toEqual(['joined', 'started']);
    expect((outcomes[0] as { runId: string }).runId).toBe((outcomes[1] as { runId: string }).runId);
    expect(advances).toHaveLength(1);
  });

  it("a failure that is not the payload's fault answers 503 with Retry-After, so the action group delivers again", () => {
    const failed = webhookErrorResponse(serverBusy(), silentLogger, 'failover.alert_failed');
    expect(failed.status).toBe(503);
    expect(failed.headers).toMatchObject({ 'retry-after': '5' });
    const bad = webhookErrorResponse(
      new InputError('bad', 'data.essentials.alertTargetIDs'),
      silentLogger,
      'x',
    );
    expect(bad.status).toBe(400);
  });
});
