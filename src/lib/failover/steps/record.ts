import type { ClientFactory } from '../../clients/ClientFactory.js';
import type { DrConfig } from '../../config/DrConfig.js';
import { ACTIVE_SECRETS } from '../../config/secretNames.js';
import { statusOf } from '../../errors.js';
import { describeError } from '../../redact.js';
import type { FailoverRun } from '../FailoverRun.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/**
 * Records the names Kyvos must use from now on in Key Vault. Idempotent: the secrets are overwritten
 * with the same values. Key Vault is read-only while it fails over itself; a failed write fails the
 * step with the names to set by hand (the old primary was fenced before, by database.fence).
 */
export async function recordActiveNames(ctx: StepContext): Promise<StepOutcome> {
  const { config, clients, run, clock } = ctx;
  // The old primary was fenced right after the promote (database.fence).
  const fencing = fencingOf(ctx.run);
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
      `Cannot record the new names in Key Vault ${config.keyVault.name} ${describeError(error)}. Key Vault is read-only while its region fails over. The data and the database are in the DR region; set ${Object.keys(values).join(', ')} by hand, or resume this run when the vault accepts writes.`,
    );
    Object.assign(failure, { detail: { activeNames: values } });
    throw failure;
  }
  return {
    detail: {
      recordedIn: `Key Vault ${config.keyVault.name}`,
      secrets: Object.keys(values),
      activeNames: values,
    },
  };
}

/** What the fence step found, or "not fenced" when it did not run. */
export function fencingOf(run: FailoverRun): {
  oldPrimary?: string;
  oldPrimaryFenced: boolean;
  fencing: string;
} {
  const detail = run.steps['database.fence'].detail as
    | { oldPrimary?: string; oldPrimaryFenced?: boolean; fencing?: string }
    | undefined;
  return {
    ...(detail?.oldPrimary ? { oldPrimary: detail.oldPrimary } : {}),
    oldPrimaryFenced: detail?.oldPrimaryFenced === true,
    fencing: detail?.fencing ?? 'the fence step did not run',
  };
}

/** A failover the record step wrote to Key Vault: from then on the DR side is the primary. */
export interface RecordedFailover {
  runId: string;
  /** `kyvos-dr-last-failover-at`, when it could be read. */
  at?: string;
}

/**
 * The failover recorded in Key Vault (`kyvos-dr-last-failover-run-id`), whatever its run's state:
 * the record step runs after the promote, so the secret means the replica was promoted. Undefined
 * when the secret does not exist or no vault is configured (then nothing was recorded). Any other
 * failure to read it is thrown.
 */
export async function readRecordedFailover(
  config: Pick<DrConfig, 'keyVault'>,
  clients: Pick<ClientFactory, 'secrets'>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<RecordedFailover | undefined> {
  if (!config.keyVault) return undefined;
  const secrets = clients.secrets(config.keyVault.url);
  const read = { ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}) };
  let runId: string | undefined;
  try {
    runId = (await secrets.getSecret(ACTIVE_SECRETS.lastFailoverRunId, read)).value;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
  if (!runId) return undefined;
  const at = await secrets
    .getSecret(ACTIVE_SECRETS.lastFailoverAt, read)
    .then((s) => s.value)
    .catch(() => undefined);
  return { runId, ...(at ? { at } : {}) };
}
