import { codeOf, statusOf } from '../errors.js';
import { describeError } from '../redact.js';

/**
 * A short account of a failed call for a report: `503 ServerBusy`, `404 ResourceNotFound`, a network
 * code such as `ECONNRESET`, or else the redacted message.
 */
export function errorSummary(error: unknown): string {
  const status = statusOf(error);
  const code = codeOf(error);
  if (status !== undefined) return [status, code].filter(Boolean).join(' ');
  return code ?? describeError(error);
}
