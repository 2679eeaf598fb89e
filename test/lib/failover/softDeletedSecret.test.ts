import { afterEach, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { ACTIVE_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import { retryFailover } from '../../../src/lib/failover/FailoverService.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { NO_FAILOVER_RECORDED } from '../../../src/lib/failover/steps/record.js';
import { capturingLogger, failoverDepsFor, postFailover } from '../../helpers/failoverHarness.js';

/**
 * Key Vault soft-deletes a deleted secret and refuses writes to its name (409
 * ObjectIsDeletedButRecoverable) until it is recovered. A run whose record step would write such a
 * name must be refused at preflight, before the promote, not fail half-written after it.
 */
describe('a failover while the run-id secret is soft-deleted', () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  async function forcedFailover(stack: LocalStack): Promise<FailoverRun> {
    const deps = failoverDepsFor(stack, capturingLogger().logger);
    const runId = await postFailover(deps, { mode: 'forced', reason: 'primary region degraded' });
    return runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
  }

  it('is refused at preflight naming the secret and the recover command; after recovery a new failover succeeds', async () => {
    // The record of an earlier pair's failover, reset by overwriting it (runbook), then deleted.
    stack = await startLocalStack({ secrets: { [ACTIVE_SECRETS.lastFailoverRunId]: NO_FAILOVER_RECORDED } });
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      { prefix: stack.names.engineWorkDirectory, files: 10 },
    );
    const secrets = stack.clients.secrets(stack.descriptor.keyVaultUrl);
    await (await secrets.beginDeleteSecret(ACTIVE_SECRETS.lastFailoverRunId)).pollUntilDone();

    const refused = await forcedFailover(stack);
    expect(refused.state).toBe('Refused');
    const errors = refused.errors.join('\n');
    expect(errors).toContain(`"${ACTIVE_SECRETS.lastFailoverRunId}"`);
    expect(errors).toContain(
      `az keyvault secret recover --vault-name ${stack.names.keyVaultName} --name ${ACTIVE_SECRETS.lastFailoverRunId}`,
    );
    for (const step of ['storage.ensureAccount', 'database.promote', 'database.fence', 'record'] as const) {
      expect(refused.steps[step].status).toBe('Skipped');
      expect(refused.steps[step].startedAt).toBeUndefined();
    }
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    expect(stack.postgres.primary.isRunning()).toBe(true);
    await expect(secrets.getSecret(ACTIVE_SECRETS.storageAccount)).rejects.toMatchObject({ statusCode: 404 });

    // Recovered, it holds the reset marker again: no completed failover, and the name takes writes.
    await (await secrets.beginRecoverDeletedSecret(ACTIVE_SECRETS.lastFailoverRunId)).pollUntilDone();
    const run = await forcedFailover(stack);
    expect(run.state).toBe('Succeeded');
    expect(run.steps.record.status).toBe('Succeeded');
    expect((await secrets.getSecret(ACTIVE_SECRETS.lastFailoverRunId)).value).toBe(run.runId);
  });

  it('only warns when deleted secrets cannot be read (403); the record step then fails naming the secret and the fix, and a retry after recovery succeeds', async () => {
    stack = await startLocalStack({ secrets: { [ACTIVE_SECRETS.lastFailoverRunId]: NO_FAILOVER_RECORDED } });
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      { prefix: stack.names.engineWorkDirectory, files: 10 },
    );
    const secrets = stack.clients.secrets(stack.descriptor.keyVaultUrl);
    await (await secrets.beginDeleteSecret(ACTIVE_SECRETS.lastFailoverRunId)).pollUntilDone();

    // An identity without permission to read deleted secrets (the emulator does not authorize, so
    // the app's client answers Get Deleted Secret with Key Vault's 403 here); every other call is real.
    const log = capturingLogger();
    const deps = failoverDepsFor(stack, log.logger);
    const realSecrets = deps.clients.secrets.bind(deps.clients);
    const clients = Object.assign(Object.create(deps.clients) as ClientFactory, {
      secrets: (url: string) => {
        const client = realSecrets(url);
        return Object.assign(Object.create(client), {
          getDeletedSecret: async () => {
            throw Object.assign(new Error('Caller is not authorized to perform action on resource.'), {
              statusCode: 403,
              code: 'Forbidden',
            });
          },
        }) as typeof client;
      },
    });
    const runtime = failoverRuntime({ ...deps, clients });
    const runId = await postFailover(
      { ...deps, clients },
      { mode: 'forced', reason: 'primary region degraded' },
    );
    const failed = await runUntilDone(runtime, runId, { timeoutInMs: 180_000 });

    expect(failed.steps.preflight.status).toBe('Succeeded');
    expect(JSON.stringify(failed.steps.preflight.detail)).toContain(
      `cannot check whether the secret \\"${ACTIVE_SECRETS.lastFailoverRunId}\\"`,
    );
    expect(log.lines.join('\n')).toContain('failover.preflight.warning');
    expect(failed.state).toBe('Failed');
    expect(failed.steps.record.status).toBe('Failed');
    expect(failed.steps.record.error).toContain(
      `the secret "${ACTIVE_SECRETS.lastFailoverRunId}" is deleted but recoverable`,
    );
    expect(failed.steps.record.error).toContain(
      `az keyvault secret recover --vault-name ${stack.names.keyVaultName} --name ${ACTIVE_SECRETS.lastFailoverRunId}`,
    );

    await (await secrets.beginRecoverDeletedSecret(ACTIVE_SECRETS.lastFailoverRunId)).pollUntilDone();
    await retryFailover(runtime, runId, { reason: 'secret recovered', requestedBy: 'test' });
    const run = await runUntilDone(runtime, runId, { timeoutInMs: 180_000 });
    expect(run.state).toBe('Succeeded');
    expect((await secrets.getSecret(ACTIVE_SECRETS.lastFailoverRunId)).value).toBe(runId);
  });
});
