import { codeOf, statusOf } from '../errors.js';
import { describeError } from '../redact.js';

/** Azure's message for a request its firewall refuses (error code `AuthorizationFailure`). */
const NETWORK_REFUSAL_MESSAGE = 'This request is not authorized to perform this operation.';

/**
 * Whether a failed Copy Blob (From URL) was refused by the source account's network rules: the
 * destination's storage service, which fetches the source, answers `403 CannotVerifyCopySource` with
 * the firewall's `AuthorizationFailure` message ("This request is not authorized to perform this
 * operation.", Azure/azure-storage-azcopy#755, #504), and, in recent service versions, the source's
 * code in `x-ms-copy-source-error-code`. A SAS the source refuses reads otherwise ("Server failed
 * to authenticate the request…", "…using this permission.").
 */
export function isCopySourceNetworkRefusal(error: unknown): boolean {
  if (codeOf(error) !== 'CannotVerifyCopySource' || statusOf(error) !== 403) return false;
  const sourceCode = (
    error as { response?: { headers?: { get(name: string): string | undefined } } } | undefined
  )?.response?.headers?.get?.('x-ms-copy-source-error-code');
  if (sourceCode) return sourceCode === 'AuthorizationFailure';
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').trim() === NETWORK_REFUSAL_MESSAGE;
}

/**
 * An `Error` that is safe to keep as a `cause` or to serialise: `describeError`'s text as its message,
 * the status and the code, and nothing else of the original. An SDK `RestError` holds the request
 * (its URL carries the SAS) and the response, which `util.inspect`, a logger or a JSON run record
 * would write out; text alone (`describeError`) would lose the status and code a caller tests.
 */
export function safeStorageError(error: unknown): Error & { statusCode?: number; code?: string } {
  const safe = new Error(describeError(error)) as Error & { statusCode?: number; code?: string };
  const status = statusOf(error);
  const code = codeOf(error);
  if (status !== undefined) safe.statusCode = status;
  if (code !== undefined) safe.code = code;
  return safe;
}
