import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedKyvosDataset, seedMetadataRepository, startMetadataWriter } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import {
  capturingLogger,
  confirmKyvosStopped,
  confirmWhenWaiting,
  expectCompleteFailover,
  failoverDepsFor,
  postFailover,
} from '../../helpers/failoverHarness.js';

describe('a planned failover while Kyvos keeps writing', () => {
  let stack: LocalStack;
  let blobs: number;

  beforeEach(async () => {
    stack = await startLocalStack();
    blobs = (
      await seedKyvosDataset(
        stack.clients.blobService(stack.names.primaryStorageAccount),
        stack.names.container,
        {
          prefix: stack.names.engineWorkDirectory,
          files: 60,
        },
      )
    ).blobs;
    await seedMetadataRepository(stack.postgres.primary, 50);
  });
  afterEach(async () => {
    await stack?.stop();
  });

  it('pauses until the operator confirms Kyvos stopped, then loses none of the rows the primary acknowledged', async () => {
    // Kyvos writes every 20 ms until the operator stops it.
    const writer = startMetadataWriter(stack.postgres.primary, 20);
    const deps = failoverDepsFor(stack, capturingLogger().logger);
    const runId = await postFailover(deps, { mode: 'planned', reason: 'planned maintenance' });

    // Not waiting yet (nothing has advanced the run): a confirmation now is refused.
    const early = await confirmKyvosStopped(deps, runId);
    expect(early.status).toBe(409);
    expect(early.body.error?.code).toBe('RunNotWaiting');

    let writesBeforeStop = 0;
    const operator = confirmWhenWaiting(deps, runId, async () => {
      // The run is paused: nothing was promoted yet, and Kyvos is still writing.
      expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
      writesBeforeStop = writer.acknowledgedIds.length;
      await writer.stop();
      // A body that does not say Kyvos stopped confirms nothing.
      const bad = await confirmKyvosStopped(deps, runId, { kyvosStopped: 'yes' });
      expect(bad.status).toBe(400);
      expect(bad.body.error?.message).toContain('kyvosStopped must be true');
    });
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
    await expectCompleteFailover(stack, run, blobs);

    // Every acknowledged row, looked up by id, is on the promoted server.
    await writer.stop();
    const acknowledged = writer.acknowledgedIds;
    expect(acknowledged.length).toBeGreaterThanOrEqual(writesBeforeStop);
    const present = await stack.postgres.replica.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM kyvos_semantic_model WHERE id = ANY($1::bigint[])',
      [acknowledged],
    );
    expect(Number(present[0]?.n)).toBe(acknowledged.length);
    const [all] = await stack.postgres.replica.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM kyvos_semantic_model WHERE name NOT LIKE 'live_%'",
    );
    expect(Number(all?.n)).toBe(50);
    const confirmed = await operator;
    expect(confirmed?.status).toBe(202);
    expect(writesBeforeStop).toBeGreaterThan(0);

    // The run and its report record the quiesce: when, by whom, the WAL positions, the storage sync.
    expect(run.quiesce).toEqual({ confirmedAt: confirmed?.body.quiescedAt, confirmedBy: 'test operator' });
    const report = run.report as {
      quiesce: {
        quiescedAt: string;
        database: { replicaReplayLsn: string; finalLsn: string };
        storage: { lastSyncTime: string };
      };
    };
    expect(report.quiesce).toMatchObject({
      required: true,
      quiescedAt: confirmed?.body.quiescedAt,
      confirmedBy: 'test operator',
      database: { quiesced: true, basis: 'primary' },
      storage: { synced: true },
    });
    expect(report.quiesce.database.replicaReplayLsn).toBe(report.quiesce.database.finalLsn);
    expect(Date.parse(report.quiesce.storage.lastSyncTime)).toBeGreaterThan(
      Date.parse(report.quiesce.quiescedAt),
    );

    // Once confirmed, a second confirmation is refused: the first one's moment stands.
    const again = await confirmKyvosStopped(deps, runId);
    expect(again.status).toBe(409);
  });

  it('fails, naming the account, and promotes nothing when the storage secondary does not sync past the quiesce moment', async () => {
    stack.pauseStorageReplication();
    const deps = failoverDepsFor(stack, capturingLogger().logger, { storageSyncTimeoutInMs: 2_000 });
    const runId = await postFailover(deps, { mode: 'planned', reason: 'planned maintenance' });
    void confirmWhenWaiting(deps, runId);
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
    expect(run.state).toBe('Failed');
    expect(run.steps.quiesce.status).toBe('Failed');
    expect(run.steps.quiesce.error).toContain(
      `The storage secondary of "${stack.names.primaryStorageAccount}" has not synced past the quiesce moment ${run.quiesce?.confirmedAt} within 2 s`,
    );
    expect(run.steps['database.promote'].status).toBe('Skipped');
    expect(run.steps['storage.copy'].status).toBe('Skipped');
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
  });
});
