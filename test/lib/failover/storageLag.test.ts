import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset, seedMetadataRepository } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import type { FailoverReport } from '../../../src/lib/report/failoverReport.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  expectCompleteFailover,
  failoverDepsFor,
  postFailover,
} from '../../helpers/failoverHarness.js';
import { storageSyncedPast } from '../../helpers/healthStack.js';

/** How far the storage secondary lags its primary on this stack. */
const DELAY_MS = 2_000;

/** One write to the primary, with when it was sent and when the primary acknowledged it. */
interface TimedWrite {
  name: string;
  content: string | null;
  sentAt: number;
  ackedAt: number;
}

describe('failovers over a storage secondary that lags its primary', () => {
  let stack: LocalStack;
  let primary: ContainerClient;
  let blobs: number;

  beforeAll(async () => {
    stack = await startLocalStack({ storageReplicationDelayMs: DELAY_MS });
    primary = stack.clients
      .blobService(stack.names.primaryStorageAccount)
      .getContainerClient(stack.names.container);
    blobs = (
      await seedKyvosDataset(
        stack.clients.blobService(stack.names.primaryStorageAccount),
        stack.names.container,
        {
          prefix: stack.names.engineWorkDirectory,
          files: 40,
        },
      )
    ).blobs;
    await seedMetadataRepository(stack.postgres.primary, 20);
    await syncedPast(Date.now());
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const syncedPast = (time: number) => storageSyncedPast(stack, time);
  const write = async (name: string, content: string | null): Promise<TimedWrite> => {
    const sentAt = Date.now();
    if (content === null) await primary.getBlobClient(name).delete();
    else await primary.getBlockBlobClient(name).upload(content, Buffer.byteLength(content));
    return { name, content, sentAt, ackedAt: Date.now() };
  };
  const drText = async (name: string): Promise<string | null> => {
    const blob = stack.clients
      .blobService(stack.names.drStorageAccount)
      .getContainerClient(stack.names.container)
      .getBlobClient(name);
    return (await blob.exists()) ? (await blob.downloadToBuffer()).toString() : null;
  };

  it('refuses a planned run while the storage RPO, at least the lag, exceeds its threshold, naming it', async () => {
    await stack.setSecret(CONFIG_SECRETS.maxStorageRpoSeconds, '1');
    try {
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const runId = await postFailover(deps, { mode: 'planned', reason: 'planned maintenance' });
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
      expect(run.state).toBe('Refused');
      expect(run.decision?.eligibleForPlannedPromote).toBe(false);
      expect(run.decision?.storageRpoSeconds).toBeGreaterThanOrEqual(DELAY_MS / 1000);
      expect(run.errors.join(' ')).toContain(`storage RPO ${run.decision?.storageRpoSeconds} s exceeds 1 s`);
      for (const step of ['quiesce', 'storage.copy', 'database.promote'] as const) {
        expect(run.steps[step].status).toBe('Skipped');
      }
      expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    } finally {
      await stack.setSecret(CONFIG_SECRETS.maxStorageRpoSeconds, '900');
    }
  });

  it('a forced failover during a primary region outage copies from the secondary, which lacks exactly the writes after lastSyncTime, and the report says since when', async () => {
    // Replicated long before the outage: a new blob, one overwritten later and one deleted later.
    const replicated = [
      await write('lag/replicated.txt', 'replicated'),
      await write('lag/overwritten.txt', 'old'),
      await write('lag/deleted.txt', 'deleted on the primary only'),
    ];
    await syncedPast(Math.max(...replicated.map((w) => w.ackedAt)) + DELAY_MS);
    // Written just before the region goes: younger than the lag, so not on the secondary.
    const recent = [
      await write('lag/recent.txt', 'recent'),
      await write('lag/overwritten.txt', 'new'),
      await write('lag/deleted.txt', null),
    ];
    await stack.regionDown('primary');

    const deps = failoverDepsFor(stack, capturingLogger().logger);
    const runId = await postFailover(deps, { mode: 'forced', reason: 'primary region outage' });
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
    expect(run.errors.filter((e) => !e.startsWith('record'))).toEqual([]);
    expect(run.state).toBe('Succeeded');

    const report = run.report as unknown as FailoverReport;
    const lastSync = Date.parse(report.decision?.storageLastSyncTime as string);
    expect(lastSync).toBe(stack.storageLastSyncTime().getTime());
    // Which writes the report says may be lost: every one after its lastSyncTime.
    for (const w of replicated) expect(w.ackedAt).toBeLessThanOrEqual(lastSync);
    for (const w of recent) expect(w.sentAt).toBeGreaterThan(lastSync);
    expect(report.decision?.estimatedDataLoss).toContain(
      `since the secondary's last sync at ${new Date(lastSync).toISOString()}`,
    );
    // The storage RPO at decision covers the lost window: from lastSyncTime to the decision.
    const decidedAt = Date.parse(report.decision?.decidedAt as string);
    // Measured before the decision, to the second: never more than the window up to it.
    expect((report.decision?.storageRpoSeconds as number) * 1000).toBeLessThanOrEqual(
      decidedAt - lastSync + 1000,
    );
    expect((report.decision?.storageRpoSeconds as number) * 1000).toBeGreaterThanOrEqual(
      Math.max(...recent.map((w) => w.ackedAt)) - lastSync - 500,
    );

    // The DR copy holds the secondary: the writes before lastSyncTime, none after.
    expect(await drText('lag/replicated.txt')).toBe('replicated');
    expect(await drText('lag/overwritten.txt')).toBe('old');
    expect(await drText('lag/deleted.txt')).toBe('deleted on the primary only');
    expect(await drText('lag/recent.txt')).toBeNull();
    // Exactly what the secondary holds (the seed, the three writes before lastSyncTime and the
    // directories the hierarchical namespace made for them); it does not move with the primary out.
    let onSecondary = 0;
    const secondary = stack.clients
      .blobService(stack.names.primaryStorageAccount, { secondary: true })
      .getContainerClient(stack.names.container);
    for await (const _ of secondary.listBlobsFlat()) onSecondary += 1;
    expect(onSecondary).toBeGreaterThanOrEqual(blobs + 3);
    await expectCompleteFailover(stack, run, onSecondary);
    expect(report.blobs.listed).toBe(onSecondary);
    expect(report.verification?.ok).toBe(true);
  });
});

describe('a planned failover over a lagging storage secondary', () => {
  it('waits until the secondary has synced past the quiesce moment, and copies every write made before it', async () => {
    const stack = await startLocalStack({ storageReplicationDelayMs: DELAY_MS });
    try {
      const service = stack.clients.blobService(stack.names.primaryStorageAccount);
      const blobs = (
        await seedKyvosDataset(service, stack.names.container, {
          prefix: stack.names.engineWorkDirectory,
          files: 30,
        })
      ).blobs;
      await seedMetadataRepository(stack.postgres.primary, 20);
      const primary = service.getContainerClient(stack.names.container);
      await storageSyncedPast(stack, Date.now());
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const runId = await postFailover(deps, { mode: 'planned', reason: 'planned maintenance' });
      // Kyvos's last write, just before the operator stops it: not on the secondary yet.
      let lastWriteAt = 0;
      void confirmWhenWaiting(deps, runId, async () => {
        await primary.getBlockBlobClient('lag/last-write.txt').upload('last', 4);
        lastWriteAt = Date.now();
        expect(stack.storageLastSyncTime().getTime()).toBeLessThan(lastWriteAt);
      });
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
      // The write, and the directory `lag` the hierarchical namespace made for it.
      await expectCompleteFailover(stack, run, blobs + 2);
      const quiesce = (run.report as unknown as FailoverReport).quiesce as {
        quiescedAt: string;
        storage: { synced: boolean; lastSyncTime: string };
      };
      expect(quiesce.storage.synced).toBe(true);
      expect(Date.parse(quiesce.storage.lastSyncTime)).toBeGreaterThan(Date.parse(quiesce.quiescedAt));
      // The quiesce had to wait for the lag: the secondary lacked the last write when it was confirmed.
      expect(Date.parse(quiesce.quiescedAt)).toBeGreaterThanOrEqual(lastWriteAt);
      expect(Date.parse(quiesce.storage.lastSyncTime)).toBeGreaterThan(lastWriteAt);
      const copied = stack.clients
        .blobService(stack.names.drStorageAccount)
        .getContainerClient(stack.names.container)
        .getBlobClient('lag/last-write.txt');
      expect((await copied.downloadToBuffer()).toString()).toBe('last');
    } finally {
      await stack.stop();
    }
  });
});
