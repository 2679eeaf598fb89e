import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preProvisionDrStorageAccount } from '../../../local/drStorageAccount.js';
import { seedKyvosDataset } from '../../../local/seed.js';
import { DEFAULT_NAMES, type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverStart } from '../../../src/functions/failoverStart.js';
import { ACTIVE_SECRETS } from '../../../src/lib/config/secretNames.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { capturingLogger, failoverDepsFor, httpRequest, invocation } from '../../helpers/failoverHarness.js';

const BASE = 'https://kyvos-dr.example/api';

/**
 * The local stack enforces the role assignments of infra/ (local/stackAuthorization.ts). This stack
 * plays the assignments as they were before operation-status tracking was granted at the resource
 * groups (the status reads given on the servers), with vault write access limited to the
 * active-name secrets (vaultWriteScope activeSecrets). The default stack, with infra/ as it is,
 * runs every other scenario test and the drill.
 */
describe('a stack with the operation-status reads granted on the servers only', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      rbac: {
        parameters: { 'rbac-primary.json': { vaultWriteScope: 'activeSecrets' } },
        adjustAssignments: (assignments, roleOf) =>
          assignments.map((a) => {
            if (roleOf(a) !== 'Kyvos DR Operation Status Reader') return a;
            const { primaryPostgresServer, replicaPostgresServer, drResourceGroup } = DEFAULT_NAMES;
            const server = a.scope.endsWith(`/${drResourceGroup}`)
              ? replicaPostgresServer
              : primaryPostgresServer;
            return {
              ...a,
              scope: `${a.scope}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server}`,
            };
          }),
      },
    });
    // The DR account is pre-provisioned by the operator (as infra/dr-storage-account.json would be
    // before a drill), so that the run gets as far as the promote: with these assignments the
    // create step could not track its own operation either.
    await preProvisionDrStorageAccount(stack);
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 20,
      },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses a planned run before anything changes, naming the missing role; a forced run promotes the replica but fails the promote step with 403 AuthorizationFailed on the status URL, and never fences the old primary', async () => {
    const deps = failoverDepsFor(stack, capturingLogger().logger);
    // The doctor's permissions check, run by preflight's health checks, finds the status reads
    // missing at the resource group: a planned run is refused before anything irreversible.
    const planned = await failoverStart(
      httpRequest('POST', `${BASE}/failover`, { mode: 'planned', reason: 'rbac drill' }),
      invocation('failoverStart'),
      deps,
    );
    expect(planned.status).toBe(202);
    const refused = await runUntilDone(failoverRuntime(deps), (planned.jsonBody as { runId: string }).runId, {
      timeoutInMs: 180_000,
    });
    expect(refused.state).toBe('Refused');
    expect(JSON.stringify(refused)).toContain('Kyvos DR Operation Status Reader');
    expect(refused.steps['database.promote'].status).not.toBe('Succeeded');
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);

    // A forced run is never refused for a prerequisite: it promotes, and then cannot track the promote.
    const started = await failoverStart(
      httpRequest('POST', `${BASE}/failover`, { mode: 'forced', reason: 'rbac drill' }),
      invocation('failoverStart'),
      deps,
    );
    expect(started.status).toBe(202);
    const { runId } = started.jsonBody as { runId: string };
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });

    expect(run.state).toBe('Failed');
    expect(run.steps['database.promote'].status).toBe('Failed');
    const errors = run.errors.join(' ');
    expect(errors).toContain('The identity lacks a role of infra/ (docs/rbac.md)');
    expect(errors).not.toContain('start a new failover with mode forced');
    expect(errors).toContain(
      "does not have authorization to perform action 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read'",
    );
    expect(run.steps['database.fence'].status).not.toBe('Succeeded');
    expect(
      stack.servers.find((s) => s.role === 'primary' && s.name === stack.names.primaryPostgresServer)
        ?.stoppedByArm,
    ).toBe(false);
    // The PATCH itself was allowed: the replica was promoted although the step failed.
    for (let i = 0; i < 100 && (await stack.postgres.replica.status()).inRecovery; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await stack.postgres.replica.status()).inRecovery).toBe(false);
  });

  it('refuses a Key Vault write outside the active-name secrets with 403 ForbiddenByRbac, and allows one inside', async () => {
    const secrets = stack.clients.secrets(stack.descriptor.keyVaultUrl);
    const refused = await secrets
      .setSecret(stack.names.sourceSasSecret, 'overwritten')
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(String((refused as Error).message)).toContain(
      "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'",
    );
    // The SDK reads the wire's `innererror` into `innerError`.
    const details = (refused as { details?: { error?: { innerError?: { code?: string } } } }).details;
    expect(details?.error?.innerError?.code).toBe('ForbiddenByRbac');
    // Reading is vault-wide; writing an active-name secret is allowed.
    expect((await secrets.getSecret(stack.names.sourceSasSecret)).value).not.toBe('overwritten');
    await secrets.setSecret(ACTIVE_SECRETS.lastFailoverAt, new Date().toISOString());
    // The operator identity of the stack may write it (fixtures only).
    await stack.operatorClients().secrets(stack.descriptor.keyVaultUrl).setSecret('kyvos-dr-fixture', 'x');
  });

  it('answers an ARM call the app may not make with AuthorizationFailed in ARM wording', async () => {
    const { subscriptionId, primaryResourceGroup, primaryStorageAccount } = stack.names;
    const error = await stack.clients
      .storageManagement(subscriptionId)
      .storageAccounts.listKeys(primaryResourceGroup, primaryStorageAccount)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect((error as Error).message).toBe(
      `The client '00000000-0000-0000-0000-0000000d7d70' with object id '00000000-0000-0000-0000-0000000d7d70' does not have authorization to perform action 'Microsoft.Storage/storageAccounts/listkeys/action' over scope '/subscriptions/${subscriptionId}/resourceGroups/${primaryResourceGroup}/providers/Microsoft.Storage/storageAccounts/${primaryStorageAccount}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
    const keys = await stack
      .operatorClients()
      .storageManagement(subscriptionId)
      .storageAccounts.listKeys(primaryResourceGroup, primaryStorageAccount);
    expect(keys.keys?.length).toBeGreaterThan(0);
  });
});
