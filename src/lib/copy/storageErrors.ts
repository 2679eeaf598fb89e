import { codeOf, statusOf } from '../errors.js';
import { redact } from '../redact.js';

/**
 * The status the copy source answered the destination service with, for a failed Copy Blob (From
 * URL). Azure reports it in `x-ms-copy-source-status-code` (the SDK puts it in `details`).
 */
export function copySourceStatusOf(error: unknown): number | undefined {
  const details = (error as { details?: { copySourceStatusCode?: unknown } } | undefined)?.details;
  const fromDetails = details?.copySourceStatusCode;
  if (typeof fromDetails === 'number') return fromDetails;
  const header = (
    error as { response?: { headers?: { get(name: string): string | undefined } } } | undefined
  )?.response?.headers?.get?.('x-ms-copy-source-status-code');
  return header && /^\d+$/.test(header) ? Number(header) : undefined;
}

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
  return firstLine(message).trim() === NETWORK_REFUSAL_MESSAGE;
}

/**
 * A one-line, redacted reason for a failed storage call, for run records and logs:
 * `404 CannotVerifyCopySource: The specified blob does not exist.` Never the request URL.
 */
export function describeStorageError(error: unknown): string {
  const status = statusOf(error);
  const code = codeOf(error);
  const inner = copySourceStatusOf(error);
  const message = firstLine(error instanceof Error ? error.message : String(error));
  const head = [status, code].filter((part) => part !== undefined && part !== '').join(' ');
  const innerText = inner !== undefined && inner !== status ? ` (the source answered ${inner})` : '';
  const text = head ? `${head}${innerText}${message ? `: ${message}` : ''}` : message || 'unknown error';
  return redact(text).slice(0, 500);
}

/**
 * An `Error` that is safe to keep as a `cause` or to serialise: the redacted description, the status
 * and the code, and nothing of the request (an SDK `RestError` holds the request URL, with the SAS).
 */
export function safeStorageError(error: unknown): Error & { statusCode?: number; code?: string } {
  const safe = new Error(describeStorageError(error)) as Error & { statusCode?: number; code?: string };
  const status = statusOf(error);
  const code = codeOf(error);
  if (status !== undefined) safe.statusCode = status;
  if (code !== undefined) safe.code = code;
  return safe;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}
