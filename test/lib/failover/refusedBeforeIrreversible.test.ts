import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterEach, describe, expect, it } from 'vitest';
import { applyFaultsChange } from '../../../local/emulator/faultsAdmin.js';
import { APP_NETWORK } from '../../../local/networkRules.js';
import type { LocalStack } from '../../../local/stack.js';
import { formatRun } from '../../../src/cli/format.js';
import { CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { FailoverRun } from '../../../src/lib/failover/FailoverRun.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import {
  capturingLogger,
  drBlobCount,
  failoverDepsFor,
  postFailover,
  startSeededStack,
} from '../../helpers/failoverHarness.js';

/**
 * A forced failover whose copy cannot read its source must change nothing: promoting the replica
 * and stopping a healthy primary, then failing at the copy, would leave neither side usable.
 */
describe('a forced failover whose storage side cannot proceed', () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  function seededStack(
    secrets: Record<string, string> = {},
    omitSecrets: string[] = [],
  ): Promise<LocalStack> {
    return startSeededStack({ secrets, omitSecrets }, (started) => {
      stack = started;
    });
  }

  async function forcedFailover(stack: LocalStack): Promise<{ run: FailoverRun; lines: string[] }> {
    const log = capturingLogger();
    const deps = failoverDepsFor(stack, log.logger);
    const runId = await postFailover(deps, { mode: 'forced', reason: 'primary region degraded' });
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
    return { run, lines: log.lines };
  }

  /** The replica is still a replica, the primary still runs, no DR account exists, the lock is free. */
  async function expectNothingChanged(stack: LocalStack, run: FailoverRun): Promise<void> {
    for (const step of ['storage.ensureAccount', 'database.promote', 'database.fence', 'record'] as const) {
      expect(run.steps[step].status).toBe('Skipped');
      expect(run.steps[step].startedAt).toBeUndefined();
    }
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    expect(stack.postgres.primary.isRunning()).toBe(true);
    expect((await stack.postgres.primary.status()).inRecovery).toBe(false);
    const arm = stack.clients.storageManagement(stack.names.subscriptionId);
    await expect(
      arm.storageAccounts.getProperties(stack.names.drResourceGroup, stack.names.drStorageAccount),
    ).rejects.toMatchObject({ statusCode: 404 });
    expect(await drBlobCount(stack)).toBe(0);
    const deps = failoverDepsFor(stack, capturingLogger().logger);
    expect(await failoverRuntime(deps).store.lockHolder()).toBeUndefined();
    expect(formatRun(run).join('\n')).toContain('nothing irreversible was done');
  }

  it('is refused with the reason when the secondary endpoint is unavailable, and changes nothing', async () => {
    const stack = await seededStack();
    stack.setSecondaryUnavailable(true);
    const { run } = await forcedFailover(stack);
    expect(run.state).toBe('Refused');
    expect(run.errors.join('\n')).toContain(
      // The whole container is the copy's scope (no kyvos-dr-copy-prefix on the stack).
      `Cannot list container "${stack.names.container}" through the RA-GRS secondary endpoint`,
    );
    expect(run.errors.join('\n')).toContain(`${stack.names.primaryStorageAccount}-secondary`);
    await expectNothingChanged(stack, run);
  });

  it('is refused with the reason when the source SAS is not valid, and changes nothing', async () => {
    // A SAS of the right shape and expiry, signed with a key that is not the account's.
    const badSas = generateAccountSASQueryParameters(
      {
        permissions: AccountSASPermissions.parse('rl'),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        services: AccountSASServices.parse('b').toString(),
        startsOn: new Date(Date.now() - 5 * 60_000),
        expiresOn: new Date(Date.now() + 24 * 3600_000),
      },
      new StorageSharedKeyCredential('kyvosprimdata', Buffer.from('not-the-account-key').toString('base64')),
    ).toString();
    const signatures = [new URLSearchParams(badSas).get('sig') ?? '', /sig=([^&]+)/.exec(badSas)?.[1] ?? ''];
    expect(signatures.every((s) => s.length > 10)).toBe(true);
    const stack = await seededStack({ 'kyvos-dr-source-sas': badSas });
    const { run, lines } = await forcedFailover(stack);
    expect(run.state).toBe('Refused');
    expect(run.errors.join('\n')).toMatch(
      new RegExp(`Cannot list container "${stack.names.container}".*secondary endpoint.*403`, 's'),
    );
    for (const signature of signatures) {
      expect(JSON.stringify(run)).not.toContain(signature);
      expect(lines.join('\n')).not.toContain(signature);
    }
    await expectNothingChanged(stack, run);
  });

  it('is refused, naming how to store a SAS, when no source SAS is stored, and never tries a user-delegation SAS', async () => {
    const stack = await seededStack({}, [CONFIG_SECRETS.sourceSasSecretName]);
    const { run } = await forcedFailover(stack);
    expect(run.state).toBe('Refused');
    const errors = run.errors.join('\n');
    expect(errors).toContain('No source credential is configured');
    expect(errors).toContain(
      `az storage container generate-sas --account-name ${stack.names.primaryStorageAccount}`,
    );
    expect(errors).toContain(`az keyvault secret set --vault-name ${stack.names.keyVaultName}`);
    await expectNothingChanged(stack, run);
  });

  it('is refused when the secondary does not accept the user-delegation SAS it was told to use, and changes nothing', async () => {
    // Azurite answers 403 to a user-delegation SAS on <account>-secondary; whether Azure accepts one
    // is documented nowhere, which is why a run proves it first.
    const stack = await seededStack({ [CONFIG_SECRETS.sourceAuth]: 'user-delegation' });
    const { run } = await forcedFailover(stack);
    expect(run.state).toBe('Refused');
    expect(run.errors.join('\n')).toMatch(
      /the copy cannot read its source \(user-delegation SAS\).*secondary endpoint.*403/s,
    );
    await expectNothingChanged(stack, run);
  });

  it("is refused with the fix when the source account's network rules deny the DR account's storage service, and changes nothing", async () => {
    const stack = await seededStack();
    // Kyvos's "Enhanced security": the primary account admits only the app's subnet. The app can
    // list and read the source; the DR account's storage service, which fetches every copy, cannot.
    applyFaultsChange(stack.faults, {
      storageNetworkRules: {
        [stack.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          bypass: 'AzureServices',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId, action: 'Allow' }],
        },
      },
    });
    const { run } = await forcedFailover(stack);
    expect(run.state).toBe('Refused');
    const errors = run.errors.join('\n');
    expect(errors).toContain(`the DR account "${stack.names.drStorageAccount}"'s storage service`);
    expect(errors).toContain('403 CannotVerifyCopySource');
    expect(errors).toContain(
      `az storage account update --name ${stack.names.primaryStorageAccount} --resource-group ${stack.names.primaryResourceGroup} --public-network-access Enabled --default-action Allow`,
    );
    // The app's own proof passed: the refusal is the network rules', not the SAS's.
    expect(errors).not.toContain('Cannot list container');
    await expectNothingChanged(stack, run);
  });
});
