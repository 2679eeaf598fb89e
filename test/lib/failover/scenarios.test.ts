import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset, seedMetadataRepository } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverAlert } from '../../../src/functions/failoverAlert.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import { CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { DoctorCheck } from '../../../src/lib/doctor/doctorCheck.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import type { StorageStrategyAssessment } from '../../../src/lib/report/storageStrategies.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  drBlobCount,
  drPathCounts,
  expectCompleteFailover,
  failoverDepsFor,
  httpRequest,
  invocation,
} from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

function alertBody(alertId: string, condition: 'Fired' | 'Resolved', targetIds: string[]) {
  return {
    schemaId: 'azureMonitorCommonAlertSchema',
    data: {
      essentials: {
        alertId,
        alertRule: 'kyvos-primary-region-down',
        severity: 'Sev0',
        signalType: 'Metric',
        monitorCondition: condition,
        monitoringService: 'Platform',
        alertTargetIDs: targetIds,
        firedDateTime: new Date().toISOString(),
        description: 'Primary region unavailable',
        essentialsVersion: '1.0',
        alertContextVersion: '1.0',
      },
      alertContext: {},
    },
  };
}

describe('the failover API on one stack', () => {
  let stack: LocalStack;
  const log = capturingLogger();
  let deps: ReturnType<typeof failoverDepsFor>;

  beforeAll(async () => {
    stack = await startLocalStack();
    deps = failoverDepsFor(stack, log.logger);
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 150,
      },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers bad JSON, an unknown mode and a missing reason with 400 naming the field', async () => {
    const post = (body: unknown) =>
      failoverStart(httpRequest('POST', `${BASE}/failover`, body), invocation('failoverStart'), deps);
    const badJson = await post('{"mode": "planned",');
    expect(badJson.status).toBe(400);
    expect(JSON.stringify(badJson.jsonBody)).toContain('not valid JSON');
    const badMode = await post({ mode: 'sideways', reason: 'x' });
    expect(badMode.status).toBe(400);
    expect((badMode.jsonBody as { error: { field: string } }).error.field).toBe('mode');
    const noReason = await post({ mode: 'planned' });
    expect(noReason.status).toBe(400);
    expect((noReason.jsonBody as { error: { field: string; message: string } }).error).toMatchObject({
      field: 'reason',
    });
  });

  /** A planned dry run started through the HTTP handler and worked to its end. */
  const dryRun = async (runDeps: typeof deps): Promise<FailoverRun> => {
    const started = await failoverStart(
      httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'rehearsal', dryRun: true }),
      invocation('failoverStart'),
      runDeps,
    );
    expect(started.status).toBe(202);
    const { runId } = started.jsonBody as { runId: string };
    return runUntilDone(failoverRuntime(runDeps), runId, { timeoutInMs: 60_000 });
  };

  it('runs a dry run that returns the plan and changes nothing', async () => {
    const run = await dryRun(deps);
    expect(run.state).toBe('Succeeded');
    const plan = (run.report as { plan: Record<string, unknown>; verdict: string }).plan;
    expect(plan.blobs).toBeGreaterThan(150);
    expect(plan.bytes).toBeGreaterThan(0);
    expect(plan.serverToPromote).toBe(stack.names.replicaPostgresServer);
    // The storage strategies compared: no rehearsal has measured the copy here; the failover's figure is documented.
    const strategies = (run.report as { storageStrategies: StorageStrategyAssessment[] }).storageStrategies;
    expect(strategies.map((s) => [s.strategy, s.rto.basis])).toEqual([
      ['copy', 'unknown'],
      ['accountFailover', 'documented'],
    ]);
    expect(strategies[1]?.rpo.seconds).toBe(run.decision?.storageRpoSeconds);
    expect(run.steps['storage.copy'].status).toBe('Skipped');
    expect(run.steps['database.promote'].status).toBe('Skipped');
    // Nothing changed: no DR account in ARM, the replica is still a replica, nothing recorded.
    const arm = stack.clients.storageManagement(stack.names.subscriptionId);
    await expect(
      arm.storageAccounts.getProperties(stack.names.drResourceGroup, stack.names.drStorageAccount),
    ).rejects.toMatchObject({ statusCode: 404 });
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    expect(await drBlobCount(stack)).toBe(0);
  });

  it('a dry run still plans while a prerequisite fails, and its decision names the prerequisite and its fix', async () => {
    const softDeleted: DoctorCheck = {
      area: 'keyVault',
      name: 'soft-deleted secret names',
      timer: 'storage',
      run: async () => [
        {
          area: 'keyVault',
          id: 'keyVault.notSoftDeleted.kyvos-dr-active-pg-server',
          outcome: 'fail',
          detail: 'The secret name kyvos-dr-active-pg-server is soft-deleted.',
          fix: 'Purge it.',
        },
      ],
    };
    const run = await dryRun({ ...deps, doctorChecks: [softDeleted] });
    expect(run.state).toBe('Succeeded');
    const report = run.report as { plan: { blobs: number }; verdict: string };
    expect(report.plan.blobs).toBeGreaterThan(150);
    expect(run.decision?.readiness).toBe('Unhealthy');
    expect(run.decision?.reasons).toContain(
      'storage: Prerequisite keyVault.notSoftDeleted.kyvos-dr-active-pg-server does not hold: The secret name kyvos-dr-active-pg-server is soft-deleted. Fix: Purge it.',
    );
  });

  it('ignores a resolved alert and joins duplicate fired alerts into one run; a second POST gets 409', async () => {
    const post = (body: unknown) =>
      failoverAlert(httpRequest('POST', `${BASE}/failover/alert`, body), invocation('failoverAlert'), deps);
    const { names } = stack;
    // The pair's primary storage account, as Azure Monitor names the target of a metric alert on it.
    const pair = [
      `/subscriptions/${names.subscriptionId}/resourceGroups/${names.primaryResourceGroup}/providers/Microsoft.Storage/storageAccounts/${names.primaryStorageAccount}`,
    ];
    const resolved = await post(alertBody('/subscriptions/x/alerts/a-1', 'Resolved', pair));
    expect(resolved.status).toBe(200);
    expect((resolved.jsonBody as { action: string }).action).toBe('ignored');

    const [first, second] = await Promise.all([
      post(alertBody('/subscriptions/x/alerts/a-2', 'Fired', pair)),
      post(alertBody('/subscriptions/x/alerts/a-2', 'Fired', pair)),
    ]);
    const runIds = [first, second].map((r) => (r.jsonBody as { runId: string }).runId);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(runIds[0]).toBe(runIds[1]);
    expect([first, second].map((r) => (r.jsonBody as { action: string }).action).sort()).toEqual([
      'joined',
      'started',
    ]);

    const again = await post(alertBody('/subscriptions/x/alerts/a-2', 'Fired', pair));
    expect((again.jsonBody as { runId: string; action: string }).runId).toBe(runIds[0]);

    const conflict = await failoverStart(
      httpRequest('POST', `${BASE}/failover`, { mode: 'forced', reason: 'second operator' }),
      invocation('failoverStart'),
      deps,
    );
    expect(conflict.status).toBe(409);
    expect((conflict.jsonBody as { error: { runId: string } }).error.runId).toBe(runIds[0]);
  });
});

describe('failover safety', () => {
  it('starts exactly one run from two concurrent requests', async () => {
    const stack = await startLocalStack();
    try {
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const post = () =>
        failoverStart(
          httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'two operators at once' }),
          invocation('failoverStart'),
          deps,
        );
      const responses = await Promise.all([post(), post()]);
      expect(responses.map((r) => r.status).sort()).toEqual([202, 409]);
      const accepted = responses.find((r) => r.status === 202)?.jsonBody as { runId: string };
      const refused = responses.find((r) => r.status === 409)?.jsonBody as {
        error: { runId: string; message: string };
      };
      expect(refused.error.runId).toBe(accepted.runId);
      expect(refused.error.message).toContain(accepted.runId);
    } finally {
      await stack.stop();
    }
  });

  it('refuses a planned failover while the replica lags over its threshold, with the reason', async () => {
    const stack = await startLocalStack({
      secrets: { [CONFIG_SECRETS.maxReplicaLagBytes]: '1024', [CONFIG_SECRETS.maxReplicaLagSeconds]: '2' },
    });
    try {
      await stack.pauseDatabaseReplication();
      await seedMetadataRepository(stack.postgres.primary, 2000);
      await new Promise((r) => setTimeout(r, 2_500));
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const started = await failoverStart(
        httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'planned maintenance' }),
        invocation('failoverStart'),
        deps,
      );
      const { runId } = started.jsonBody as { runId: string };
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 60_000 });
      expect(run.state).toBe('Refused');
      expect(run.errors.join(' ')).toMatch(/lag/i);
      expect(run.decision?.eligibleForPlannedPromote).toBe(false);
      expect(run.steps['database.promote'].status).toBe('Skipped');
      expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
      // The lock is released: a forced failover may now be requested.
      const forced = await failoverStart(
        httpRequest('POST', `${BASE}/failover`, {
          mode: 'forced',
          reason: 'accepting the loss',
          dryRun: true,
        }),
        invocation('failoverStart'),
        deps,
      );
      expect(forced.status).toBe(202);
    } finally {
      await stack.resumeDatabaseReplication().catch(() => {});
      await stack.stop();
    }
  });
});

describe('a forced failover during a primary region outage', () => {
  it('refuses a planned run at preflight, naming forced, then a forced run copies from the secondary and promotes the replica', async () => {
    const stack = await startLocalStack();
    try {
      const dataset = await seedKyvosDataset(
        stack.clients.blobService(stack.names.primaryStorageAccount),
        stack.names.container,
        { prefix: stack.names.engineWorkDirectory, files: 200, largeBlobs: 1, largeBlobBytes: 100 * 1024 },
      );
      await seedMetadataRepository(stack.postgres.primary, 100);
      // Let the replica replay the rows before the region goes.
      for (let i = 0; i < 50; i++) {
        const rows = await stack.postgres.replica
          .query<{ n: string }>('SELECT count(*)::text AS n FROM kyvos_semantic_model')
          .catch(() => []);
        if (Number(rows[0]?.n) === 100) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await stack.regionDown('primary');
      const deps = failoverDepsFor(stack, capturingLogger().logger);

      // A planned run is refused at preflight: Azure needs both servers available for a Planned promote.
      const plannedStart = await failoverStart(
        httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'primary region outage' }),
        invocation('failoverStart'),
        deps,
      );
      expect(plannedStart.status).toBe(202);
      const planned = await runUntilDone(
        failoverRuntime(deps),
        (plannedStart.jsonBody as { runId: string }).runId,
        { timeoutInMs: 120_000 },
      );
      expect(planned.state).toBe('Refused');
      expect(planned.errors.join(' ')).toContain(
        `the primary server ${stack.names.primaryPostgresServer} is unreachable through ARM`,
      );
      expect(planned.errors.join(' ')).toContain(
        'a planned promote needs both servers available; use mode forced if the primary region is down',
      );
      expect(planned.decision?.eligibleForPlannedPromote).toBe(false);
      for (const step of ['database.promote', 'database.fence', 'record'] as const) {
        expect(planned.steps[step].status).toBe('Skipped');
      }
      expect((await stack.postgres.replica.status()).inRecovery).toBe(true);

      const started = await failoverStart(
        httpRequest('POST', `${BASE}/failover`, { mode: 'forced', reason: 'primary region outage' }),
        invocation('failoverStart'),
        deps,
      );
      expect(started.status).toBe(202);
      const { runId } = started.jsonBody as { runId: string };
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
      expect(run.errors.filter((e) => !e.startsWith('record'))).toEqual([]);
      expect(run.state).toBe('Succeeded');
      expect(run.decision?.estimatedDataLoss).toBeTruthy();
      expect(run.progress.blobsListed).toBe(dataset.blobs);
      expect((run.steps.verify.detail as { storage: { ok: boolean } }).storage.ok).toBe(true);
      expect((await stack.postgres.replica.status()).inRecovery).toBe(false);
      const [row] = await stack.postgres.replica.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM kyvos_semantic_model',
      );
      expect(Number(row?.n)).toBe(100);
      // The old primary could not be fenced: the checklist says so first.
      const report = run.report as { oldPrimaryFenced: boolean; checklist: Array<{ id: string }> };
      expect(report.oldPrimaryFenced).toBe(false);
      expect(report.checklist[0]?.id).toBe('fence-old-primary');
    } finally {
      await stack.stop();
    }
  });
});

describe('a worker killed mid-copy', () => {
  it('is resumed by another worker that copies only the rest, and nothing is lost', async () => {
    const stack = await startLocalStack();
    try {
      const dataset = await seedKyvosDataset(
        stack.clients.blobService(stack.names.primaryStorageAccount),
        stack.names.container,
        { prefix: stack.names.engineWorkDirectory, files: 1500, filesPerDirectory: 100 },
      );
      const options = {
        partitionSize: 100,
        copyConcurrency: 4,
        copyMessageVisibilityInSeconds: 3,
        stepClaimInMs: 4_000,
        walSteadyIntervalInMs: 1_000,
        storageSyncPollIntervalInMs: 200,
      };
      const deps = failoverDepsFor(stack, capturingLogger().logger, options);
      const started = await failoverStart(
        httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'crash test' }),
        invocation('failoverStart'),
        deps,
      );
      const { runId } = started.jsonBody as { runId: string };
      void confirmWhenWaiting(deps, runId);

      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/helpers/workerProcess.ts', runId, JSON.stringify(options)],
        {
          env: { ...process.env, ...stack.settings },
          stdio: 'ignore',
        },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const runtime = failoverRuntime(deps);
      let before: FailoverRun | undefined;
      for (let i = 0; i < 600; i++) {
        before = await runtime.store.get(runId);
        if (before && before.progress.blobsCopied >= dataset.blobs * 0.3) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGKILL');
      await exited;
      const atKill = await runtime.store.get(runId);
      expect(atKill?.state).toBe('Running');
      const { paths: copiedBeforeResume, directories: directoriesBeforeResume } = await drPathCounts(stack);
      expect(copiedBeforeResume).toBeGreaterThan(0);
      expect(copiedBeforeResume).toBeLessThan(dataset.blobs);
      const callsBeforeResume = atKill?.progress.copyCalls ?? 0;

      const run = await runUntilDone(runtime, runId, { timeoutInMs: 240_000 });
      await expectCompleteFailover(stack, run, dataset.blobs);
      // Every blob already at the destination was left alone: the resumed workers made one copy call
      // per missing path, and at most one per directory there (a directory its children made still
      // needs its stub's metadata; one whose stub was copied needs nothing).
      const resumedCalls = run.progress.copyCalls - callsBeforeResume;
      expect(resumedCalls).toBeGreaterThanOrEqual(dataset.blobs - copiedBeforeResume);
      expect(resumedCalls).toBeLessThanOrEqual(dataset.blobs - copiedBeforeResume + directoriesBeforeResume);
    } finally {
      await stack.stop();
    }
  });
});
