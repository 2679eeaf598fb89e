import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preProvisionDrStorageAccount } from '../../../local/drStorageAccount.js';
import { seedKyvosDataset, seedMetadataRepository } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { rehearsalList } from '../../../src/functions/rehearsalList.js';
import { rehearsalStart } from '../../../src/functions/rehearsalStart.js';
import { rehearsalStatus } from '../../../src/functions/rehearsalStatus.js';
import { rehearsalWorker } from '../../../src/functions/rehearsalWorker.js';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import type { FailoverDeps } from '../../../src/lib/failover/FailoverService.js';
import { encodeMessage, REHEARSAL_QUEUE } from '../../../src/lib/failover/queues.js';
import { RunStore } from '../../../src/lib/failover/RunStore.js';
import type { RehearsalRecord } from '../../../src/lib/rehearsal/Rehearsal.js';
import { scratchContainerOf } from '../../../src/lib/rehearsal/Rehearsal.js';
import { rehearsalRuntime, startRehearsal } from '../../../src/lib/rehearsal/RehearsalService.js';
import type { RehearsalSummary } from '../../../src/lib/rehearsal/rehearsalSummary.js';
import { parseRehearsalRequest } from '../../../src/lib/rehearsal/requests.js';
import { runRehearsal } from '../../../src/lib/rehearsal/runRehearsal.js';
import { capturingLogger, failoverDepsFor, httpRequest, invocation } from '../../helpers/failoverHarness.js';
import { waitFor } from '../../helpers/healthStack.js';

/**
 * Everything a rehearsal promises to leave as it was: the primary's blobs, every container of the DR
 * account and its blobs, the replica (still a replica, same rows, same server state in ARM) and the
 * Key Vault's secrets (names and versions). Read as the stack's operator.
 */
async function snapshot(stack: LocalStack): Promise<Record<string, unknown>> {
  const operator: ClientFactory = stack.operatorClients();
  const blobsOf = async (account: string, container: string) => {
    const blobs: string[] = [];
    for await (const blob of operator.blobService(account).getContainerClient(container).listBlobsFlat()) {
      blobs.push(`${blob.name} ${blob.properties.etag}`);
    }
    return blobs;
  };
  const drContainers: Record<string, string[]> = {};
  for await (const container of operator.blobService(stack.names.drStorageAccount).listContainers()) {
    drContainers[container.name] = await blobsOf(stack.names.drStorageAccount, container.name);
  }
  const secrets: string[] = [];
  const vault = operator.secrets(stack.descriptor.keyVaultUrl);
  for await (const secret of vault.listPropertiesOfSecrets()) {
    // The current version of each (its properties only: a value never goes into a test's output).
    const { properties } = await vault.getSecret(secret.name);
    secrets.push(`${secret.name} ${properties.version} ${properties.updatedOn?.toISOString()}`);
  }
  const [recovery] = await stack.postgres.replica.query<{ inRecovery: boolean }>(
    'SELECT pg_is_in_recovery() AS "inRecovery"',
  );
  const [rows] = await stack.postgres.replica.query<{ checksum: string }>(
    "SELECT md5(string_agg(id::text || name || definition::text, ',' ORDER BY id)) AS checksum FROM kyvos_semantic_model",
  );
  return {
    primary: await blobsOf(stack.names.primaryStorageAccount, stack.names.container),
    drContainers,
    secrets: secrets.sort(),
    replica: { ...recovery, ...rows },
    servers: stack.servers.map((s) => JSON.stringify(s)),
  };
}

describe('a rehearsal on the local stack', () => {
  let stack: LocalStack;
  let deps: FailoverDeps;

  beforeAll(async () => {
    stack = await startLocalStack();
    // Directory stubs, small files and a few blobs over the tests' large-blob threshold (64 KiB),
    // which the copy writes with the asynchronous Copy Blob.
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 60,
        filesPerDirectory: 10,
        largeBlobs: 3,
        largeBlobBytes: 200 * 1024,
      },
    );
    await seedMetadataRepository(stack.postgres.primary, 50);
    // The rows are on the replica before anything is compared.
    await waitFor(
      () =>
        stack.postgres.replica
          .query<{ n: string }>('SELECT count(*) AS n FROM kyvos_semantic_model')
          .catch(() => []),
      (rows) => rows[0]?.n === '50',
      { what: 'the seeded rows on the replica' },
    );
    deps = failoverDepsFor(stack, capturingLogger().logger);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** POST /api/rehearsal, then the rehearsal queue's message handed to the worker, as the host would. */
  const rehearseOverHttp = async (body: unknown): Promise<RehearsalRecord> => {
    const accepted = await rehearsalStart(
      httpRequest('POST', 'https://kyvos-dr.example/api/rehearsal?code=k', body),
      invocation('rehearsalStart'),
      deps,
    );
    expect(accepted.status).toBe(202);
    const { rehearsalId, statusUrl } = accepted.jsonBody as { rehearsalId: string; statusUrl: string };
    expect(statusUrl).toBe(`https://kyvos-dr.example/api/rehearsal/${rehearsalId}`);
    const queue = stack.clients.queueService(stack.names.appStorageAccount).getQueueClient(REHEARSAL_QUEUE);
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 1,
      visibilityTimeout: 600,
    });
    const message = receivedMessageItems[0];
    expect(message).toBeDefined();
    await rehearsalWorker(message?.messageText, invocation('rehearsalWorker'), deps);
    await queue.deleteMessage(message?.messageId as string, message?.popReceipt as string);
    const status = await rehearsalStatus(
      httpRequest('GET', statusUrl, undefined, { rehearsalId }),
      invocation('rehearsalStatus'),
      deps,
    );
    expect(status.status).toBe(200);
    return status.jsonBody as RehearsalRecord;
  };

  it('without a DR storage account, a rehearsal says the copy was not rehearsed, and creates nothing on the DR side', async () => {
    const before = await snapshot(stack);
    const record = await rehearseOverHttp({ sampleBlobs: 20 });
    expect(record.state).toBe('Passed');
    expect(record.report?.checks).toContainEqual(
      expect.objectContaining({
        id: 'copy.sample',
        outcome: 'warn',
        detail: expect.stringMatching(/does not exist yet/),
      }),
    );
    expect(record.report?.source?.blobs).toBeGreaterThan(0);
    expect(record.report?.copy).toBeUndefined();
    expect(record.report?.recovery.rtoSeconds).toBeNull();
    expect(await snapshot(stack)).toEqual(before);
    const account = await stack
      .operatorClients()
      .storageManagement(stack.names.subscriptionId)
      .storageAccounts.getProperties(stack.names.drResourceGroup, stack.names.drStorageAccount)
      .catch((error: { statusCode?: number }) => error.statusCode);
    expect(account).toBe(404);
  });

  it('copies a sample with directories and the largest blobs into a scratch container, verifies and measures it, estimates RPO and RTO, and leaves the primary, the DR container, the replica and Key Vault as they were', async () => {
    await preProvisionDrAccount(stack);
    const before = await snapshot(stack);
    expect(Object.keys(before.drContainers as object)).toEqual([stack.names.container]);

    const record = await rehearseOverHttp({ sampleBlobs: 30, sampleBytes: 10 * 1024 * 1024, instances: 4 });

    expect(record.problems).toEqual([]);
    expect(record.state).toBe('Passed');
    // The evidence names endpoints and blobs, never a SAS.
    expect(JSON.stringify(record)).not.toMatch(/sig=/);
    const report = record.report;
    const source = report?.source;
    expect(source?.blobs).toBeGreaterThan(30);
    expect(source?.largeBlobs).toBe(3);
    expect(source?.histogram.reduce((sum, b) => sum + b.blobs, 0)).toBe(source?.blobs);
    expect(report?.sample).toMatchObject({ largestSampledBytes: 200 * 1024 });
    expect(report?.sample?.directoryStubs).toBeGreaterThan(0);
    expect(report?.sample?.largeBlobs).toBeGreaterThan(0);
    expect(report?.copy).toMatchObject({
      blobsCopied: 30,
      blobsFailed: 0,
      container: scratchContainerOf(record.rehearsalId),
    });
    expect(report?.verification).toMatchObject({
      ok: true,
      matched: 30,
      missingCount: 0,
      mismatchedCount: 0,
    });
    expect(report?.estimate?.bytesPerSecond).toBeGreaterThan(0);
    expect(report?.estimate?.copySeconds).toBeGreaterThan(0);
    expect(report?.cleanup).toEqual({ container: scratchContainerOf(record.rehearsalId), deleted: true });
    expect(report?.replica).toMatchObject({
      server: stack.names.replicaPostgresServer,
      forcedPromoteBlockers: [],
    });
    expect(report?.recovery.rpoSeconds).not.toBeNull();
    expect(report?.recovery.parts.map((p) => [p.name, p.source])).toEqual([
      ['preflight', 'measured'],
      ['storage.copy', 'extrapolated'],
      ['database.promote', 'unknown'],
      ['database.fence', 'unknown'],
      ['record', 'unknown'],
      ['verify', 'measured'],
    ]);
    // Both storage strategies, the configured copy first, with this rehearsal's figure for the copy.
    expect(report?.storageStrategies?.map((s) => [s.strategy, s.configured, s.rto.basis])).toEqual([
      ['copy', true, 'extrapolated'],
      ['accountFailover', false, 'documented'],
    ]);
    expect(report?.storageStrategies?.[0]?.rto.seconds).toBe(report?.estimate?.copySeconds);
    expect(report?.storageStrategies?.[0]?.rto.source).toContain(record.rehearsalId);
    expect(report?.storageStrategies?.[1]?.rpo.seconds).toBe(report?.storageStrategies?.[0]?.rpo.seconds);

    // Nothing changed, and the scratch container is gone.
    expect(await snapshot(stack)).toEqual(before);
    // The copy engine's checkpoints of the sample are gone from the app's storage too; the record stays.
    const state = stack.clients.blobService(stack.names.appStorageAccount).getContainerClient('kyvos-dr');
    const left: string[] = [];
    for await (const blob of state.listBlobsFlat({ prefix: `runs/${record.rehearsalId}/` }))
      left.push(blob.name);
    expect(left).toEqual([]);
    expect(await state.getBlobClient(`rehearsals/${record.rehearsalId}.json`).exists()).toBe(true);

    const list = await rehearsalList(
      httpRequest('GET', 'https://kyvos-dr.example/api/rehearsal?limit=5'),
      invocation('rehearsalList'),
      deps,
    );
    expect(list.status).toBe(200);
    const rows = (list.jsonBody as { rehearsals: RehearsalSummary[] }).rehearsals;
    expect(rows.map((r) => [r.rehearsalId, r.state])[0]).toEqual([record.rehearsalId, 'Passed']);
    expect(rows).toHaveLength(2);
  });

  it('a rehearsal whose worker died mid-way is ended Failed by the next delivery, which deletes its scratch container', async () => {
    const runtime = rehearsalRuntime(deps);
    const record = await startRehearsal(runtime, parseRehearsalRequest({}, 'test'));
    await runtime.rehearsals.update(record.rehearsalId, (r) => {
      r.state = 'Running';
      r.phase = 'copy';
      return true;
    });
    const scratch = stack.clients
      .blobService(stack.names.drStorageAccount)
      .getContainerClient(scratchContainerOf(record.rehearsalId));
    await scratch.create();
    await scratch.getBlockBlobClient('kyvos/left-behind').upload('x', 1);

    await rehearsalWorker(
      encodeMessage({ kind: 'rehearse', rehearsalId: record.rehearsalId }),
      invocation('rehearsalWorker'),
      deps,
    );

    const ended = await runtime.rehearsals.get(record.rehearsalId);
    expect(ended).toMatchObject({ state: 'Failed', error: expect.stringMatching(/cut off during copy/) });
    expect(await scratch.exists()).toBe(false);
  });

  it('a rehearsal interrupted during its verification ends Failed saying so, and its scratch container is gone', async () => {
    const { logger, lines } = capturingLogger();
    const runtime = rehearsalRuntime(failoverDepsFor(stack, logger));
    const record = await startRehearsal(runtime, parseRehearsalRequest({ sampleBlobs: 10 }, 'test'));
    const controller = new AbortController();
    const run = runRehearsal(runtime, record.rehearsalId, {
      abortSignal: controller.signal,
      onPhase: (phase) => {
        if (phase === 'verify') controller.abort(new Error('Interrupted by SIGINT'));
      },
    });
    await expect(run).rejects.toThrow('Interrupted by SIGINT');
    // The sample was copied into the scratch container before the interruption, and the container is gone.
    expect(
      lines.filter((l) => l.includes('"event":"copy.partition.end"') && l.includes(record.rehearsalId)),
    ).not.toEqual([]);
    const scratch = stack.clients
      .blobService(stack.names.drStorageAccount)
      .getContainerClient(scratchContainerOf(record.rehearsalId));
    expect(await scratch.exists()).toBe(false);
    expect(await runtime.rehearsals.get(record.rehearsalId)).toMatchObject({
      state: 'Failed',
      error: expect.stringMatching(/interrupted \(Interrupted by SIGINT\)/),
    });
  });

  it('POST /api/rehearsal answers 409 naming the run while a failover runs', async () => {
    const runs = new RunStore(stack.clients.blobService(stack.names.appStorageAccount));
    const runId = 'fo-20261202T000000Z-abcdef';
    await runs.acquireLock(runId, new Date());
    await runs.create(
      newRun(runId, { mode: 'planned', reason: 't', dryRun: false, requestedBy: 't' }, new Date()),
    );
    try {
      const refused = await rehearsalStart(
        httpRequest('POST', 'https://kyvos-dr.example/api/rehearsal', ''),
        invocation('rehearsalStart'),
        deps,
      );
      expect(refused.status).toBe(409);
      expect(refused.jsonBody).toMatchObject({ error: { code: 'FailoverInProgress', runId } });
    } finally {
      await runs.releaseLock(runId);
    }
  });

  it('answers 400 naming the field for a bad sample size, and 404 for an unknown rehearsal', async () => {
    const bad = await rehearsalStart(
      httpRequest('POST', 'https://kyvos-dr.example/api/rehearsal', { sampleBlobs: 0 }),
      invocation('rehearsalStart'),
      deps,
    );
    expect(bad.status).toBe(400);
    expect(bad.jsonBody).toMatchObject({ error: { field: 'sampleBlobs' } });
    const unknown = await rehearsalStatus(
      httpRequest('GET', 'https://kyvos-dr.example/api/rehearsal/rh-20260101T000000Z-abcdef', undefined, {
        rehearsalId: 'rh-20260101T000000Z-abcdef',
      }),
      invocation('rehearsalStatus'),
      deps,
    );
    expect(unknown.status).toBe(404);
    const notAnId = await rehearsalStatus(
      httpRequest('GET', 'https://kyvos-dr.example/api/rehearsal/fo-1', undefined, { rehearsalId: 'fo-1' }),
      invocation('rehearsalStatus'),
      deps,
    );
    expect(notAnId).toMatchObject({ status: 400, jsonBody: { error: { field: 'rehearsalId' } } });
    const badLimit = await rehearsalList(
      httpRequest('GET', 'https://kyvos-dr.example/api/rehearsal?limit=0'),
      invocation('rehearsalList'),
      deps,
    );
    expect(badLimit).toMatchObject({ status: 400, jsonBody: { error: { field: 'limit' } } });
  });
});

/** The DR account and its container, as infra/dr-storage-account.json deploys them, with a blob of the operator's. */
async function preProvisionDrAccount(stack: LocalStack): Promise<void> {
  await preProvisionDrStorageAccount(stack);
  const operator = stack.operatorClients();
  const container = operator
    .blobService(stack.names.drStorageAccount)
    .getContainerClient(stack.names.container);
  await container.createIfNotExists();
  await container.getBlockBlobClient('placed-by-the-operator.txt').upload('kept', 4);
}
