import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedMetadataRepository } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { health } from '../../../src/functions/health.js';
import { APP_SETTINGS, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { createDeps, type Deps } from '../../../src/lib/deps.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import type { Readiness } from '../../../src/lib/health/readiness.js';
import { runHealthCheck } from '../../../src/lib/health/runHealthCheck.js';
import {
  capturingLogger,
  failoverDepsFor,
  httpRequest,
  invocation,
  postFailover,
} from '../../helpers/failoverHarness.js';
import { captureLogger, waitFor } from '../../helpers/healthStack.js';

/** `GET /api/health` through the Function app's handler. */
async function getHealth(deps: Deps): Promise<{ status: number; body: Readiness }> {
  const response = await health(
    httpRequest('GET', 'https://kyvos-dr.example/api/health'),
    invocation('health'),
    deps,
  );
  return { status: response.status ?? 200, body: response.jsonBody as Readiness };
}

describe('the old primary after a forced failover during a primary region outage', () => {
  let stack: LocalStack;
  let deps: Deps;
  const log = captureLogger();

  beforeAll(async () => {
    stack = await startLocalStack();
    // No configuration cache: the test changes kyvos-dr-split-brain-auto-fence between checks.
    deps = createDeps(
      { ...stack.settings, [APP_SETTINGS.configCacheSeconds]: '0' },
      { clients: stack.clients, logger: log.logger },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is reported as split brain, Unhealthy with the fence command, once its region is back and it takes an INSERT; with auto-fence on the next check stops it and says so', async () => {
    await seedMetadataRepository(stack.postgres.primary, 20);
    await waitFor(
      () =>
        stack.postgres.replica
          .query<{ n: string }>('SELECT count(*)::text AS n FROM kyvos_semantic_model')
          .catch(() => [{ n: '0' }]),
      (rows) => rows[0]?.n === '20',
      { what: 'the replica to replay the seeded rows' },
    );
    const oldPrimary = stack.names.primaryPostgresServer;
    const fenceCommand = `az postgres flexible-server stop --resource-group ${stack.names.primaryResourceGroup} --name ${oldPrimary}`;

    // Before any failover the replica check does not look at the old primary.
    const before = await runHealthCheck('replica', deps);
    expect(before.report.oldPrimary).toBeUndefined();
    expect(before.report.facts.failedOver).toBeUndefined();
    // Until the pair fails over, the replica timer also checks the prerequisites of a failover.
    expect(before.report.prerequisites).toBeDefined();

    await stack.regionDown('primary');
    const failoverDeps = failoverDepsFor(stack, capturingLogger().logger);
    const runId = await postFailover(failoverDeps, { mode: 'forced', reason: 'primary region outage' });
    const run = await runUntilDone(failoverRuntime(failoverDeps), runId, { timeoutInMs: 180_000 });
    expect(run.state).toBe('Succeeded');
    // At the time of the run the old primary could not be fenced, and the report says so.
    expect((run.report as { oldPrimaryFenced: boolean }).oldPrimaryFenced).toBe(false);

    // While its region is down nothing can tell whether it runs: Degraded, not split brain.
    const during = await runHealthCheck('replica', deps);
    expect(during.report.oldPrimary).toMatchObject({
      splitBrain: false,
      status: 'Degraded',
      failoverRunId: runId,
    });
    // The promoted server is judged as the primary it now is, not as a replica that was promoted.
    expect(during.report.facts).toMatchObject({ failedOver: true, failoverRunId: runId, inRecovery: false });
    expect(during.report.reasons.join(' ')).not.toContain('not a read replica');

    // The region comes back: the old primary starts again, out of recovery, and takes a write.
    await stack.regionUp('primary');
    await stack.postgres.primary.query(
      "INSERT INTO kyvos_semantic_model (name, definition) VALUES ('written after the failover', '{}')",
    );
    expect((await stack.postgres.primary.status()).inRecovery).toBe(false);

    await runHealthCheck('storage', deps);
    const splitBrain = await runHealthCheck('replica', deps);
    expect(splitBrain.report.status).toBe('Unhealthy');
    expect(splitBrain.report.oldPrimary).toMatchObject({
      server: oldPrimary,
      splitBrain: true,
      state: 'Ready',
      inRecovery: false,
      readOnly: false,
      autoFenceAllowed: false,
      autoFenced: false,
      fenceCommand,
    });
    const reason = splitBrain.report.reasons.find((r) => r.startsWith('split brain:'));
    expect(reason).toContain(
      `split brain: ${oldPrimary} is running and accepts writes after failover run ${runId}`,
    );
    expect(reason).toContain(fenceCommand);
    expect(log.lines.some((l) => l.event === 'health.splitBrain' && l.failoverRunId === runId)).toBe(true);

    const answered = await getHealth(deps);
    expect(answered.status).toBe(503);
    expect(answered.body.status).toBe('Unhealthy');
    expect(answered.body.oldPrimary).toMatchObject({ splitBrain: true, fenceCommand });
    expect(answered.body.reasons).toContain(`replica: ${reason}`);
    // Without auto-fence nothing stopped it.
    expect(stack.postgres.primary.isRunning()).toBe(true);

    // With auto-fence on, the next check stops it and reports that it did.
    await stack.setSecret(CONFIG_SECRETS.splitBrainAutoFence, 'true');
    const fenced = await runHealthCheck('replica', deps);
    expect(fenced.report.oldPrimary).toMatchObject({
      splitBrain: true,
      autoFenceAllowed: true,
      autoFenced: true,
      status: 'Degraded',
    });
    expect(fenced.report.oldPrimary?.autoFencedAt).toBeTruthy();
    expect(fenced.report.oldPrimary?.autoFenceResult).toMatch(/^stopped through ARM/);
    expect(fenced.report.facts).toMatchObject({ splitBrain: true, autoFenced: true });
    expect(stack.postgres.primary.isRunning()).toBe(false);
    expect(stack.servers.find((s) => s.name === oldPrimary)?.stoppedByArm).toBe(true);

    // The check after that finds it stopped: that part is Healthy, and nothing is stopped again.
    const after = await runHealthCheck('replica', deps);
    expect(after.report.oldPrimary).toMatchObject({
      status: 'Healthy',
      splitBrain: false,
      state: 'Stopped',
      autoFenced: false,
    });
    // No failover is possible any more: the doctor's checks of a failover are not run.
    expect(after.report.prerequisites).toBeUndefined();
    expect(after.report.status).toBe('Degraded');
    const settled = await getHealth(deps);
    expect(settled.status).toBe(200);
    expect(settled.body.oldPrimary).toMatchObject({ splitBrain: false, state: 'Stopped' });
  });
});
