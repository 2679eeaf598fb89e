import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStack, LocalStackOptions } from '../../../local/stack.js';
import { CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { checkReplicaHealth } from '../../../src/lib/health/ReplicaHealth.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  failoverDepsFor,
  postFailover,
  startSeededStack,
} from '../../helpers/failoverHarness.js';
import { stackDeps } from '../../helpers/healthStack.js';

/**
 * Azure refuses a promote whose prerequisites do not hold (a switchover's virtual endpoint, server
 * symmetry outside a regional outage). A run must be refused at preflight, before the storage is
 * copied, with the fix; not fail at the promote step.
 */
describe('promote prerequisites checked before a failover starts', () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  function seededStack(options: LocalStackOptions): Promise<LocalStack> {
    return startSeededStack(options, (started) => {
      stack = started;
    });
  }

  async function failover(stack: LocalStack, mode: 'planned' | 'forced'): Promise<FailoverRun> {
    const deps = failoverDepsFor(stack, capturingLogger().logger);
    const runId = await postFailover(deps, { mode, reason: 'promote prerequisites test' });
    if (mode === 'planned') void confirmWhenWaiting(deps, runId);
    return runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
  }

  async function expectRefusedUntouched(stack: LocalStack, run: FailoverRun): Promise<void> {
    expect(run.state).toBe('Refused');
    for (const step of [
      'storage.ensureAccount',
      'storage.copy',
      'database.promote',
      'database.fence',
    ] as const) {
      expect(run.steps[step].status).toBe('Skipped');
    }
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    expect(stack.servers.map((s) => s.role)).toEqual(['primary', 'replica']);
  }

  function promoteThroughArm(stack: LocalStack, promoteMode: string, promoteOption: string) {
    return stack.clients
      .postgresManagement(stack.names.subscriptionId)
      .servers.beginUpdateAndWait(
        stack.names.drResourceGroup,
        stack.names.replicaPostgresServer,
        { replica: { promoteMode, promoteOption } },
        { updateIntervalInMs: 200 },
      )
      .catch((e: unknown) => e);
  }

  it('refuses a switchover run without a virtual endpoint, naming the command, and runs it once the endpoint exists', async () => {
    const stack = await seededStack({ secrets: { [CONFIG_SECRETS.promoteMode]: 'Switchover' } });
    const { primaryPostgresServer: primary, replicaPostgresServer: replica } = stack.names;

    // Health says so first, as a Degraded line with the fix.
    const deps = stackDeps(stack);
    const health = await checkReplicaHealth(await deps.config(), deps);
    expect(health.status).toBe('Degraded');
    expect(health.reasons.join('\n')).toContain(
      `Replica "${replica}" cannot be promoted (promote mode Switchover): a switchover needs a virtual endpoint on the primary ${primary} whose read-only endpoint points to ${replica}, and ${primary} has none`,
    );

    const refused = await failover(stack, 'forced');
    await expectRefusedUntouched(stack, refused);
    expect(refused.errors.join('\n')).toContain(
      `create it (az postgres flexible-server virtual-endpoint create --resource-group ${stack.names.primaryResourceGroup} --server-name ${primary} --name <name> --endpoint-type ReadWrite --members ${replica}) or set kyvos-dr-promote-mode to Standalone`,
    );
    // Bypassing the check, Azure's own refusal: the emulator answers the PATCH with an error.
    expect(await promoteThroughArm(stack, 'Switchover', 'Forced')).toMatchObject({
      statusCode: 409,
      code: 'ReadReplicaPromotionFailed',
    });
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);

    // The operator creates it: the app's roles do not include virtualendpoints/write.
    await stack
      .operatorClients()
      .postgresManagement(stack.names.subscriptionId)
      .virtualEndpoints.beginCreateAndWait(
        stack.names.primaryResourceGroup,
        primary,
        'kyvos',
        { endpointType: 'ReadWrite', members: [replica] },
        { updateIntervalInMs: 200 },
      );
    expect((await checkReplicaHealth(await deps.config(), deps)).reasons.join('\n')).not.toContain(
      'cannot be promoted',
    );
    const run = await failover(stack, 'planned');
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('Succeeded');
    expect((await stack.postgres.replica.status()).inRecovery).toBe(false);
    expect(stack.servers.map((s) => [s.name, s.role])).toEqual([
      [primary, 'replica'],
      [replica, 'primary'],
    ]);
  });

  it('refuses a forced run while the replica is smaller than the primary, and runs it during a primary region outage', async () => {
    const stack = await seededStack({
      serverSizes: { replica: { skuName: 'Standard_D2ds_v5', tier: 'GeneralPurpose', storageSizeGB: 64 } },
    });
    const deps = stackDeps(stack);
    const health = await checkReplicaHealth(await deps.config(), deps);
    expect(health.status).toBe('Degraded');
    expect(health.reasons.join('\n')).toContain(
      `the replica ${stack.names.replicaPostgresServer} is Standard_D2ds_v5 (GeneralPurpose) with 64 GB of storage, the primary ${stack.names.primaryPostgresServer} Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage`,
    );

    const refused = await failover(stack, 'forced');
    await expectRefusedUntouched(stack, refused);
    expect(refused.errors.join('\n')).toContain(
      "a promote needs the replica's tier and storage at least the primary's: scale the replica to Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage or larger",
    );
    expect(await promoteThroughArm(stack, 'Standalone', 'Forced')).toMatchObject({
      statusCode: 409,
      code: 'ReadReplicaPromotionFailed',
    });
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);

    // In a regional outage Azure skips the symmetry check of a forced promote, and so does preflight.
    await stack.regionDown('primary');
    const run = await failover(stack, 'forced');
    expect(run.errors.filter((e) => !e.startsWith('record'))).toEqual([]);
    expect(run.state).toBe('Succeeded');
    expect((await stack.postgres.replica.status()).inRecovery).toBe(false);
  });
});
