import type { SecretClient } from '@azure/keyvault-secrets';
import { statusOf } from '../errors.js';

/**
 * Whether a secret name is soft-deleted: Key Vault keeps a deleted secret as "deleted but
 * recoverable" for 7 to 90 days, and a SetSecret on its name answers 409 Conflict
 * (ObjectIsDeletedButRecoverable) until it is recovered or purged ("Azure Key Vault soft-delete
 * overview", https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview).
 *
 * - `deleted`: Get Deleted Secret (`GET /deletedsecrets/{name}`, azure-rest-api-specs keyvault
 *   data-plane secrets.json) answered 200;
 * - `notDeleted`: it answered 404;
 * - `forbidden`: 403, the identity may not read deleted secrets. Get Deleted Secret "requires the
 *   secrets/get permission" (its REST reference) in the access-policy model; with Azure RBAC the
 *   secrets data actions of "Key Vault Secrets User" (getSecret/action, readMetadata/action) cover it;
 * - `unreadable`: any other failure, with the error.
 */
export type SoftDeletedState =
  | { name: string; state: 'deleted' | 'notDeleted' }
  | { name: string; state: 'forbidden' | 'unreadable'; error: unknown };

/** Asks Key Vault about each of `names` at once. Never throws: a failure is a state. */
export function readSoftDeletedStates(
  secrets: Pick<SecretClient, 'getDeletedSecret'>,
  names: readonly string[],
  options: { abortSignal?: AbortSignal } = {},
): Promise<SoftDeletedState[]> {
  const read = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  return Promise.all(
    names.map((name) =>
      secrets.getDeletedSecret(name, read).then(
        (): SoftDeletedState => ({ name, state: 'deleted' }),
        (error: unknown): SoftDeletedState => {
          const status = statusOf(error);
          if (status === 404) return { name, state: 'notDeleted' };
          return { name, state: status === 403 ? 'forbidden' : 'unreadable', error };
        },
      ),
    ),
  );
}
