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
  // Fence first: it does not depend on Key Vault, which is read-only while it fails over itself.
  const fencing = await fenceOldPrimary(ctx);
  const values: Record<string, string> = {
    [ACTIVE_SECRETS.storageAccount]: config.dr.storageAccount,
    [ACTIVE_SECRETS.container]: config.dr.container,
    [ACTIVE_SECRETS.postgresServer]: config.dr.replicaServer,
    [ACTIVE_SECRETS.lastFailoverRunId]: run.runId,
    [ACTIVE_SECRETS.lastFailoverAt]: clock().toISOString(),
  };
  if (fencing.oldPrimaryFenced) values[ACTIVE_SECRETS.fencedPostgresServer] = config.primary.postgresServer;
  if (!config.keyVault) {
    return {
      detail: {
        recordedIn:
          'nowhere: no Key Vault is configured (KYVOS_DR_KEY_VAULT_URL); set the active names yourself',
        activeNames: values,
        ...fencing,
      },
    };
  }
  const secrets = clients.secrets(config.keyVault.url);
  try {
    for (const [name, value] of Object.entries(values)) {
      await secrets.setSecret(name, value, {
        contentType: 'text/plain',
        tags: { kyvosDrRun: run.runId },
        abortSignal: ctx.abortSignal,
      });
    }
  } catch (error) {
    const failure = new Error(
      `Cannot record the new names in Key Vault ${config.keyVault.name} (it is read-only while it fails over itself): ${describeError(error)}. The data and the database are in the DR region; set ${Object.keys(values).join(', ')} by hand, or resume this run when the vault accepts writes.`,
    );
    Object.assign(failure, { detail: { activeNames: values, ...fencing } });
    throw failure;
  }
  return {
    detail: {
      recordedIn: `Key Vault ${config.keyVault.name}`,
      secrets: Object.keys(values),
      activeNames: values,
      ...fencing,
    },
  };
}

async function fenceOldPrimary(
  ctx: StepContext,
): Promise<{ oldPrimary: string; oldPrimaryFenced: boolean; fencing: string }> {
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
    return {
      oldPrimary: postgresServer,
      oldPrimaryFenced: true,
      // Azure starts a stopped flexible server again after seven days.
      fencing:
        'stopped through ARM; Azure restarts a stopped server after 7 days: delete it or cut its network before then',
    };
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
