import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import { ACTIVE_SECRETS, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  failoverDepsFor,
  httpRequest,
  invocation,
} from '../../helpers/failoverHarness.js';
import { waitFor } from '../../helpers/healthStack.js';

/** The stack with the grants `infra/rbac-primary.json` gives the account failover strategy. */
const ACCOUNT_FAILOVER_STACK: LocalStackOptions = {
  rbac: { parameters: { 'rbac-primary.json': { allowAccountFailover: true } } },
};

async function seeded(stack: LocalStack): Promise<number> {
  const dataset = await seedKyvosDataset(
    stack.clients.blobService(stack.names.primaryStorageAccount),
    stack.names.container,
    { prefix: stack.names.engineWorkDirectory, files: 30 },
  );
  return dataset.blobs;
}

async function startRun(
  deps: ReturnType<typeof failoverDepsFor>,
  mode: 'planned' | 'forced',
  strategy = 'account-failover',
): Promise<string> {
  const started = await failoverStart(
    httpRequest('POST', 'https://kyvos-dr.example/api/failover', {
      mode,
      reason: 'account failover test',
      strategy,
    }),
    invocation('failoverStart'),
    deps,
  );
  expect(started.status).toBe(202);
  return (started.jsonBody as { runId: string }).runId;
}

function primaryLocationOf(stack: LocalStack): Promise<string | undefined> {
  return stack
    .operatorClients()
    .storageManagement(stack.names.subscriptionId)
    .storageAccounts.getProperties(stack.names.primaryResourceGroup, stack.names.primaryStorageAccount)
    .then((account) => account.primaryLocation);
}

function expectAccountFailedOver(run: FailoverRun, stack: LocalStack): void {
  expect(run.request.strategy).toBe('accountFailover');
  expect(run.steps['storage.accountFailover'].status).toBe('Succeeded');
  expect(run.steps['storage.ensureAccount'].status).toBe('Skipped');
  expect(run.steps['storage.copy'].status).toBe('Skipped');
  const verify = run.steps.verify.detail as {
    storage: { account: string; writable: boolean; missing: string[] };
  };
  expect(verify.storage).toMatchObject({
    account: stack.names.primaryStorageAccount,
    writable: true,
    missing: [],
  });
  const report = run.report as {
    kyvosDeploymentParameters: { parameters: { StorageAccountName: { value: string } } };
    checklist: Array<{ id: string }>;
  };
  expect(report.kyvosDeploymentParameters.parameters.StorageAccountName.value).toBe(
    stack.names.primaryStorageAccount,
  );
  const items = report.checklist.map((item) => item.id);
  expect(items).toContain('geo-redundancy');
  expect(items).not.toContain('datasets-storage-name');
}

describe('the account failover strategy on one stack', () => {
  let stack: LocalStack;
  let deps: ReturnType<typeof failoverDepsFor>;

  beforeAll(async () => {
    stack = await startLocalStack(ACCOUNT_FAILOVER_STACK);
    deps = failoverDepsFor(stack, capturingLogger().logger);
    await seeded(stack);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses a run before anything irreversible while the account cannot fail over (canFailover false)', async () => {
    stack.setSecondaryUnavailable(true);
    try {
      const runId = await startRun(deps, 'forced');
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
      expect(run.state).toBe('Refused');
      expect(run.errors.join(' ')).toContain('canFailover is false');
      for (const step of [
        'storage.accountFailover',
        'database.promote',
        'database.fence',
        'record',
      ] as const) {
        expect(run.steps[step].status).toBe('Skipped');
      }
      expect(await primaryLocationOf(stack)).toBe(stack.names.regions.primary);
      expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    } finally {
      stack.setSecondaryUnavailable(false);
    }
  });

  it('fails the account over planned, keeping its name, and Kyvos is told the same account', async () => {
    const runId = await startRun(deps, 'planned');
    void confirmWhenWaiting(deps, runId);
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('Succeeded');
    expectAccountFailedOver(run, stack);
    expect(run.decision?.accountFailover?.failoverType).toBe('Planned');
    expect(await primaryLocationOf(stack)).toBe(stack.names.regions.dr);
    const active = await stack.clients
      .secrets(stack.settings.KYVOS_DR_KEY_VAULT_URL ?? '')
      .getSecret(ACTIVE_SECRETS.storageAccount);
    expect(active.value).toBe(stack.names.primaryStorageAccount);
  });
});

describe('a forced account failover during a primary region outage', () => {
  it('fails the account over unplanned, promotes the replica, and makes the account geo-redundant again when configured', async () => {
    const stack = await startLocalStack({
      rbac: {
        parameters: {
          'rbac-primary.json': { allowAccountFailover: true, allowRestoreGeoRedundancy: true },
        },
      },
      secrets: { [CONFIG_SECRETS.restoreGeoRedundancy]: 'true' },
    });
    try {
      await seeded(stack);
      await stack.regionDown('primary');
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const runId = await startRun(deps, 'forced');
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
      expect(run.errors.filter((e) => !e.startsWith('record'))).toEqual([]);
      expect(run.state).toBe('Succeeded');
      expectAccountFailedOver(run, stack);
      // ARM cannot read the account while its region is out: the SKU it gets back is the read-access
      // one of its zone redundancy.
      expect(run.decision?.accountFailover).toMatchObject({ failoverType: 'Unplanned', skuBefore: null });
      expect((await stack.postgres.replica.status()).inRecovery).toBe(false);

      const step = run.steps['storage.accountFailover'].detail;
      expect(step).toMatchObject({
        sku: 'Standard_LRS',
        geoRedundancy: { outcome: 'restored', sku: 'Standard_RAGRS', from: 'Standard_LRS' },
      });
      const account = () =>
        stack
          .operatorClients()
          .storageManagement(stack.names.subscriptionId)
          .storageAccounts.getProperties(
            stack.names.primaryResourceGroup,
            stack.names.primaryStorageAccount,
            {
              expand: 'geoReplicationStats',
            },
          );
      // Its new secondary is the old primary region, still out: nothing replicates yet.
      expect(await account()).toMatchObject({
        sku: { name: 'Standard_RAGRS' },
        secondaryLocation: stack.names.regions.primary,
        geoReplicationStats: { status: 'Unavailable', canFailover: false },
      });
      const checklist = (run.report as { checklist: Array<{ id: string; text: string }> }).checklist;
      expect(checklist.find((item) => item.id === 'geo-redundancy')?.text).toContain(
        'geo-redundant again (Standard_LRS to Standard_RAGRS',
      );
      await stack.regionUp('primary');
      await waitFor(
        account,
        (a) => a.geoReplicationStats?.status === 'Live' && a.geoReplicationStats.lastSyncTime !== undefined,
        { what: 'the initial sync of the new secondary' },
      );
    } finally {
      await stack.stop();
    }
  });

  it('still fails over when the identity may not change the SKU, and the checklist gives the command', async () => {
    const stack = await startLocalStack({
      ...ACCOUNT_FAILOVER_STACK,
      secrets: { [CONFIG_SECRETS.restoreGeoRedundancy]: 'true' },
    });
    try {
      await seeded(stack);
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const runId = await startRun(deps, 'forced');
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
      expect(run.state).toBe('Succeeded');
      expect(run.steps['storage.accountFailover'].detail?.geoRedundancy).toMatchObject({
        outcome: 'failed',
        sku: 'Standard_RAGRS',
      });
      const checklist = (run.report as { checklist: Array<{ id: string; text: string }> }).checklist;
      const item = checklist.find((i) => i.id === 'geo-redundancy')?.text;
      expect(item).toContain('--sku Standard_RAGRS');
      expect(item).toContain('The run tried and was refused');
    } finally {
      await stack.stop();
    }
  });
});

describe('a worker killed while the account failover is in flight', () => {
  it('is taken over by a worker that follows the persisted operation and never fails over again', async () => {
    const stack = await startLocalStack(ACCOUNT_FAILOVER_STACK);
    try {
      await seeded(stack);
      const options = {
        stepClaimInMs: 4_000,
        pollIntervalInMs: 200,
        walSteadyIntervalInMs: 1_000,
        storageSyncPollIntervalInMs: 200,
      };
      const deps = failoverDepsFor(stack, capturingLogger().logger, options);
      const runId = await startRun(deps, 'planned');
      void confirmWhenWaiting(deps, runId);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/helpers/workerProcess.ts', runId, JSON.stringify(options)],
        { env: { ...process.env, ...stack.settings }, stdio: 'ignore' },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const runtime = failoverRuntime(deps);
      let persisted: FailoverRun | undefined;
      for (let i = 0; i < 1200 && !persisted; i++) {
        const run = await runtime.store.get(runId);
        if (typeof run?.steps['storage.accountFailover'].detail?.operation === 'string') persisted = run;
        else await new Promise((r) => setTimeout(r, 25));
      }
      child.kill('SIGKILL');
      await exited;
      expect(persisted?.steps['storage.accountFailover'].status).toBe('Running');
      const failedOverAt = persisted?.steps['storage.accountFailover'].startedAt;

      const run = await runUntilDone(runtime, runId, { timeoutInMs: 180_000 });
      expect(run.errors).toEqual([]);
      expect(run.state).toBe('Succeeded');
      const step = run.steps['storage.accountFailover'];
      expect(step.attempts).toBe(2);
      // A second failover call would have failed the account back to the primary region.
      expect(step.detail?.how).toBe('followed the persisted operation');
      expect(step.startedAt).toBe(failedOverAt);
      expect(await primaryLocationOf(stack)).toBe(stack.names.regions.dr);
    } finally {
      await stack.stop();
    }
  });
});
