import { ACTIVE_SECRETS } from '../../config/secretNames.js';
import { describeError } from '../../redact.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/**
 * Records the names Kyvos must use from now on in Key Vault, and fences the old primary server.
 *
 * A Standalone promote leaves the old primary writable; two writers would split the metadata. When
 * configured (`kyvos-dr-stop-old-primary`, default true) the old primary is stopped through ARM; in a
 * region outage that fails, and the report's checklist then starts with fencing it by hand.
 * Idempotent: secrets are overwritten with the same values and stopping a stopped server is a no-op.
 */
export async function recordActiveNames(ctx: StepContext): Promise<StepOutcome> {
  const { config, clients, run, clock } = ctx;
  const promoted = config.dr.replicaServer;
  const values: Record<string, string> = {
    [ACTIVE_SECRETS.storageAccount]: config.dr.storageAccount,
    [ACTIVE_SECRETS.container]: config.dr.container,
    [ACTIVE_SECRETS.postgresServer]: promoted,
    [ACTIVE_SECRETS.fencedPostgresServer]: config.primary.postgresServer,
    [ACTIVE_SECRETS.lastFailoverRunId]: run.runId,
    [ACTIVE_SECRETS.lastFailoverAt]: clock().toISOString(),
  };
  let recordedIn: string;
  if (config.keyVault) {
    const secrets = clients.secrets(config.keyVault.url);
    for (const [name, value] of Object.entries(values)) {
      await secrets.setSecret(name, value, {
        contentType: 'text/plain',
        tags: { kyvosDrRun: run.runId },
        abortSignal: ctx.abortSignal,
      });
    }
    recordedIn = `Key Vault ${config.keyVault.name}`;
  } else {
    recordedIn =
      'nowhere: no Key Vault is configured (KYVOS_DR_KEY_VAULT_URL); set the active names yourself';
  }

  const fencing = await fenceOldPrimary(ctx);
  return { detail: { recordedIn, secrets: Object.keys(values), activeNames: values, ...fencing } };
}

async function fenceOldPrimary(ctx: StepContext): Promise<Record<string, unknown>> {
  const { config, clients, options } = ctx;
  const { resourceGroup, postgresServer } = config.primary;
  if (config.promoteMode === 'Switchover') {
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: true,
      fencing: 'Switchover made it a read replica',
    };
  }
  if (!config.stopOldPrimary) {
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: false,
      fencing: 'not stopped: kyvos-dr-stop-old-primary is false',
    };
  }
  try {
    await clients
      .postgresManagement(config.subscriptionId)
      .servers.beginStopAndWait(resourceGroup, postgresServer, {
        updateIntervalInMs: options.pollIntervalInMs,
        abortSignal: AbortSignal.timeout(Math.min(options.promoteTimeoutInMs, 10 * 60_000)),
      });
    return { oldPrimary: postgresServer, oldPrimaryFenced: true, fencing: 'stopped through ARM' };
  } catch (error) {
    ctx.logger.warn('failover.fence_failed', {
      runId: ctx.run.runId,
      server: postgresServer,
      error: describeError(error),
    });
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: false,
      fencing: `could not stop it: ${describeError(error)}`,
    };
  }
}
