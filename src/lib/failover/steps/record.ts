import type { ClientFactory } from '../../clients/ClientFactory.js';
import { isVaultUnreachable } from '../../config/ConfigSource.js';
import type { DrConfig } from '../../config/DrConfig.js';
import { ACTIVE_SECRETS } from '../../config/secretNames.js';
import { statusOf } from '../../errors.js';
import { describeError } from '../../redact.js';
import { activeStorageOf, type FailoverRun } from '../FailoverRun.js';
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
  const storage = activeStorageOf(run, config);
  const values: Record<string, string> = {
    [ACTIVE_SECRETS.storageAccount]: storage.storageAccount,
    [ACTIVE_SECRETS.container]: storage.container,
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
  let writing = '';
  try {
    for (const [name, value] of Object.entries(values)) {
      writing = name;
      await secrets.setSecret(name, value, {
        contentType: 'text/plain',
        tags: { kyvosDrRun: run.runId },
        abortSignal: ctx.abortSignal,
      });
    }
  } catch (error) {
    if (isDeletedButRecoverable(error)) {
      const failure = new Error(
        `Cannot record the new names in Key Vault ${config.keyVault.name}: the secret "${writing}" is deleted but recoverable (soft-delete), and Key Vault refuses a new value under its name until it is recovered (409 ObjectIsDeletedButRecoverable). Recover it: az keyvault secret recover --vault-name ${config.keyVault.name} --name ${writing}, then retry this run, which overwrites it. The data and the database are in the DR region.`,
      );
      Object.assign(failure, { detail: { activeNames: values, softDeletedSecret: writing } });
      throw failure;
    }
    const why = isVaultUnreachable(error)
      ? `could not be reached (${describeError(error)}): in a region without Key Vault failover it stays down with its region, and elsewhere it takes minutes to fail over and is read-only meanwhile`
      : `${describeError(error)}. Key Vault is read-only while its region fails over`;
    const failure = new Error(
      `Cannot record the new names in Key Vault ${config.keyVault.name}: it ${why}. The data and the database are in the DR region; nothing else is left to do but this step. Resume this run when the vault accepts writes (kyvos-dr retry ${run.runId}), which writes the names again, or set ${Object.keys(values).join(', ')} by hand.`,
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

/**
 * A SetSecret refused because the name is soft-deleted: 409 Conflict with inner error
 * `ObjectIsDeletedButRecoverable` ("Azure Key Vault soft-delete overview",
 * https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview). The SDK's `RestError`
 * carries `code: "Conflict"`; the inner code is in the parsed body (`details`), and the message says
 * "deleted but recoverable".
 */
function isDeletedButRecoverable(error: unknown): boolean {
  if (statusOf(error) !== 409) return false;
  const details = (error as { details?: unknown }).details;
  let body = '';
  try {
    body = JSON.stringify(details ?? '');
  } catch {
    // An unserializable body: the message decides.
  }
  return (
    body.includes('ObjectIsDeletedButRecoverable') || /deleted but recoverable/i.test(describeError(error))
  );
}

/**
 * The value of `kyvos-dr-last-failover-run-id` that means "no completed failover": how an operator
 * resets it for a new DR pair. The secret is overwritten, never deleted: a deleted secret stays
 * soft-deleted for 7 to 90 days and the record step's next write on its name would answer 409
 * (soft-delete overview, above). An empty value means the same.
 */
export const NO_FAILOVER_RECORDED = 'none';

/** The run id recorded in `kyvos-dr-last-failover-run-id`, or undefined for the reset marker. */
function recordedRunIdOf(value: string | undefined): string | undefined {
  const runId = value?.trim();
  if (!runId || runId.toLowerCase() === NO_FAILOVER_RECORDED) return undefined;
  return runId;
}

/** What the fence step found, or "not fenced" when it did not run. */
function fencingOf(run: FailoverRun): {
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
 * when the secret does not exist, holds the reset marker `NO_FAILOVER_RECORDED` (or nothing), or no
 * vault is configured (then nothing was recorded). Any other failure to read it is thrown.
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
    runId = recordedRunIdOf((await secrets.getSecret(ACTIVE_SECRETS.lastFailoverRunId, read)).value);
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
