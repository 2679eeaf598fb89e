import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset, seedMetadataRepository } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import { failoverStatus } from '../../../src/functions/failoverStatus.js';
import { ACTIVE_SECRETS, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import type { FailoverReport } from '../../../src/lib/report/failoverReport.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  failoverDepsFor,
  httpRequest,
  invocation,
} from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

async function listAll(stack: LocalStack, account: string, prefix: string, secondary = false) {
  const container = stack.clients
    .blobService(account, { secondary })
    .getContainerClient(stack.names.container);
  const blobs = new Map<string, { size: number; md5: string; type: string; metadata: string }>();
  for await (const b of container.listBlobsFlat({ prefix, includeMetadata: true })) {
    blobs.set(b.name, {
      size: b.properties.contentLength ?? -1,
      md5: b.properties.contentMD5 ? Buffer.from(b.properties.contentMD5).toString('base64') : '',
      type: b.properties.contentType ?? '',
      metadata: JSON.stringify(b.metadata ?? {}),
    });
  }
  return blobs;
}

describe('a planned failover on a healthy stack', () => {
  let stack: LocalStack;
  const log = capturingLogger();

  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('copies exactly the source set, promotes the replica with its rows, records the names and reports, with two workers', async () => {
    const dataset = await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 320,
        largeBlobs: 1,
        largeBlobBytes: 200 * 1024,
      },
    );
    // Siblings that share the work directory's name as a string, not as a path segment.
    const primary = stack.clients
      .blobService(stack.names.primaryStorageAccount)
      .getContainerClient(stack.names.container);
    await primary.getBlockBlobClient('kyvos/engine_work2/not-copied.txt').upload('x', 1);
    await primary.getBlockBlobClient('kyvos/engine_work.bak/not-copied.txt').upload('x', 1);
    // The copy is limited to the work directory on purpose (the default is the whole container).
    await stack.setSecret(CONFIG_SECRETS.copyPrefix, stack.names.engineWorkDirectory);
    await seedMetadataRepository(stack.postgres.primary, 250);
    // A multi-zone DR account, as the Kyvos template's MultiAzStorageAccount makes it (any case).
    await stack.setSecret(CONFIG_SECRETS.drStorageSku, 'standard_zrs');

    const deps = failoverDepsFor(stack, log.logger);
    const started = await failoverStart(
      httpRequest('POST', `${BASE}/failover`, {
        mode: 'planned',
        reason: 'drill: planned failover',
        requestedBy: 'test',
      }),
      invocation('failoverStart'),
      deps,
    );
    expect(started.status).toBe(202);
    const body = started.jsonBody as { runId: string; statusUrl: string };
    expect(body.statusUrl).toBe(`${BASE}/failover/${body.runId}`);
    expect((started.headers as Record<string, string>).location).toBe(body.statusUrl);

    // Two workers drain the same queues, as two Function instances would; neither runs a step twice.
    const otherWorker = failoverDepsFor(stack, log.logger);
    const operator = confirmWhenWaiting(deps, body.runId);
    const [run] = await Promise.all([
      runUntilDone(failoverRuntime(deps), body.runId, { timeoutInMs: 240_000 }),
      runUntilDone(failoverRuntime(otherWorker), body.runId, { timeoutInMs: 240_000 }),
    ]);
    // Every step of the copy strategy ran once; the account failover's is not part of the run.
    const { 'storage.accountFailover': accountFailover, ...taken } = run.steps;
    expect(accountFailover).toMatchObject({ status: 'Skipped', attempts: 0 });
    expect(Object.values(taken).map((s) => s.attempts)).toEqual(Object.values(taken).map(() => 1));
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('Succeeded');
    expect((await operator)?.status).toBe(202);

    // The run paused until Kyvos was confirmed stopped, then checked the WAL and the storage sync
    // before it promoted and copied.
    const quiesce = run.steps.quiesce.detail as {
      quiescedAt: string;
      confirmedBy: string;
      database: { finalLsn: string; replicaReplayLsn: string };
      storage: { lastSyncTime: string };
    };
    expect(quiesce.confirmedBy).toBe('test operator');
    expect(quiesce.quiescedAt).toBe(run.quiesce?.confirmedAt);
    expect(quiesce.database.finalLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(Date.parse(quiesce.storage.lastSyncTime)).toBeGreaterThan(Date.parse(quiesce.quiescedAt));
    for (const next of ['database.promote', 'storage.copy'] as const) {
      expect(Date.parse(run.steps[next].startedAt ?? '')).toBeGreaterThanOrEqual(
        Date.parse(run.steps.quiesce.endedAt ?? ''),
      );
    }

    // The DR account holds exactly the source set: names, sizes, MD5, content types and metadata.
    const source = await listAll(
      stack,
      stack.names.primaryStorageAccount,
      `${stack.names.engineWorkDirectory}`,
      true,
    );
    const copied = await listAll(stack, stack.names.drStorageAccount, '');
    const expected = new Map(
      [...source].filter(([name]) => name === 'kyvos/engine_work' || name.startsWith('kyvos/engine_work/')),
    );
    expect(expected.size).toBe(dataset.blobsUnderPrefix);
    // The DR account's hierarchical namespace made the parent of the copied prefix, as ADLS Gen2 does.
    expect(copied.get('kyvos')?.metadata).toContain('hdi_isfolder');
    copied.delete('kyvos');
    expect(copied).toEqual(expected);
    expect(copied.get('kyvos/engine_work/cubes/empty_cube/segments')?.metadata).toContain('hdi_isfolder');

    // The DR account was created, with hierarchical namespace and the configured SKU.
    const drAccount = await stack.clients
      .storageManagement(stack.names.subscriptionId)
      .storageAccounts.getProperties(stack.names.drResourceGroup, stack.names.drStorageAccount);
    expect(drAccount.sku?.name).toBe('Standard_ZRS');
    expect(drAccount.isHnsEnabled).toBe(true);
    expect(run.steps['storage.ensureAccount'].detail).toMatchObject({ created: true, sku: 'Standard_ZRS' });

    // The replica is promoted, writable, and has the rows written on the primary.
    expect((await stack.postgres.replica.status()).inRecovery).toBe(false);
    const [count] = await stack.postgres.replica.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM kyvos_semantic_model',
    );
    expect(Number(count?.n)).toBe(250);
    const arm = stack.clients.postgresManagement(stack.names.subscriptionId);
    const promoted = await arm.servers.get(stack.names.drResourceGroup, stack.names.replicaPostgresServer);
    expect(promoted.replica?.role).not.toBe('AsyncReplica');
    // The old primary was fenced right after the promote, not after the copy.
    const old = await arm.servers.get(stack.names.primaryResourceGroup, stack.names.primaryPostgresServer);
    expect(old.state).toBe('Stopped');
    const fence = run.steps['database.fence'];
    expect(fence.detail).toMatchObject({ oldPrimaryFenced: true });
    expect(Date.parse(fence.startedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(run.steps['database.promote'].endedAt ?? ''),
    );

    // Key Vault holds the new names.
    const secrets = stack.clients.secrets(stack.descriptor.keyVaultUrl);
    expect((await secrets.getSecret(ACTIVE_SECRETS.storageAccount)).value).toBe(stack.names.drStorageAccount);
    expect((await secrets.getSecret(ACTIVE_SECRETS.postgresServer)).value).toBe(
      stack.names.replicaPostgresServer,
    );
    expect((await secrets.getSecret(ACTIVE_SECRETS.lastFailoverRunId)).value).toBe(run.runId);

    // The status URL shows the finished run with its report.
    const status = await failoverStatus(
      httpRequest('GET', body.statusUrl, undefined, { runId: body.runId }),
      invocation('failoverStatus'),
      deps,
    );
    expect(status.status).toBe(200);
    const report = (status.jsonBody as { report: FailoverReport }).report;
    expect(report.state).toBe('Succeeded');
    expect(report.blobs.listed).toBe(dataset.blobsUnderPrefix);
    expect(report.blobs.copied + report.blobs.skipped).toBe(dataset.blobsUnderPrefix);
    // The scope is stated, and the checklist warns first of the blobs it left out: the parent stub
    // `kyvos`, the two string siblings and their directories (made by the hierarchical namespace).
    expect(report.scope).toMatchObject({
      prefix: stack.names.engineWorkDirectory,
      blobsOutsideScope: { count: 5 },
    });
    expect(report.scope.description).toContain('only the prefix "kyvos/engine_work/"');
    expect(report.checklist[0]?.id).toBe('copy-scope-partial');
    expect(report.checklist[0]?.text).toContain('5 blob(s)');
    expect(report.blobs.failed).toBe(0);
    expect(report.bytes.copied).toBe(dataset.bytes);
    expect(report.verification?.ok).toBe(true);
    // Both accounts have a hierarchical namespace: owner, group and ACLs were carried and compared.
    expect(report.verification?.details).toMatchObject({ accessControlChecked: true });
    expect(report.promotedServer).toBe(stack.names.replicaPostgresServer);
    expect(report.quiesce).toMatchObject({ required: true, confirmedBy: 'test operator' });
    expect(report.rtoSeconds).toBeGreaterThan(0);
    expect(report.rpoSeconds).not.toBeNull();
    expect(
      report.steps.every(
        (s) => s.status === (s.name === 'storage.accountFailover' ? 'Skipped' : 'Succeeded'),
      ),
    ).toBe(true);
    const params = report.kyvosDeploymentParameters as { parameters: Record<string, { value: unknown }> };
    expect(params.parameters.EnableDR?.value).toBe(true);
    expect(params.parameters.StorageAccountName?.value).toBe(stack.names.drStorageAccount);
    expect(params.parameters.KyvosPostgresServerName?.value).toBe(stack.names.replicaPostgresServer);
    // The Kyvos procedure asks for the vault's DNS name (its URI's host); the bare name is beside it.
    expect(params.parameters.KeyVaultName?.value).toBe(new URL(stack.descriptor.keyVaultUrl).hostname);
    expect(report.keyVault).toEqual({
      dnsName: new URL(stack.descriptor.keyVaultUrl).hostname,
      name: stack.names.keyVaultName,
    });
    expect(params.parameters.EngineWorkDirectory?.value).toBe(stack.names.engineWorkDirectory);
    expect(report.checklist.map((c) => c.id)).toContain('datasets-storage-name');

    // The DR side is the primary now: a second failover, even forced, is refused with the reason.
    const again = await failoverStart(
      httpRequest('POST', `${BASE}/failover`, { mode: 'forced', reason: 'again' }),
      invocation('failoverStart'),
      deps,
    );
    expect(again.status).toBe(202);
    const second = await runUntilDone(failoverRuntime(deps), (again.jsonBody as { runId: string }).runId, {
      timeoutInMs: 60_000,
    });
    expect(second.state).toBe('Refused');
    expect(second.errors.join(' ')).toContain(`already failed over (run ${run.runId}`);
    expect(second.steps['storage.copy'].status).toBe('Skipped');

    // No SAS signature anywhere in what was logged or stored.
    expect(log.lines.join('\n')).not.toMatch(/sig=(?!REDACTED)/);
    expect(JSON.stringify(status.jsonBody)).not.toMatch(/sig=(?!REDACTED)/);
  });
});
