import { codeOf, copySourceStatusOf, statusOf } from './errors.js';

/**
 * Redaction of secrets in anything that may be logged, stored in a run record or returned.
 * SAS signatures, account keys, passwords in connection strings and bearer tokens are replaced.
 */

const PATTERNS: Array<[RegExp, string]> = [
  [/([?&]sig=)[^&\s"'<>]+/gi, '$1REDACTED'],
  // A SAS URL inside another URL's query string (a copy source, a redirect) is percent-encoded.
  [/((?:%3F|%26)sig%3D)(?:(?!%26)[^&\s"'<>])+/gi, '$1REDACTED'],
  [/(AccountKey=)[^;\s"']+/gi, '$1REDACTED'],
  [/(SharedAccessSignature=)[^;\s"']+/gi, '$1REDACTED'],
  [/(password=)[^;\s"'&]+/gi, '$1REDACTED'],
  // A password as an object field, JSON (`"password":"…"`) or util.inspect (`password: '…'`).
  [/(\bpassword["']?\s*:\s*["'])[^"']+/gi, '$1REDACTED'],
  [/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, '$1REDACTED@'],
  // Not the parameters of a `WWW-Authenticate: Bearer authorization="…"` challenge, which are no secret.
  [/(Bearer\s+)(?![A-Za-z_]+=\\?")[A-Za-z0-9\-_.=]+/g, '$1REDACTED'],
  // An access token outside an Authorization header (a token cache, an object dump): Microsoft
  // Entra tokens are JWTs, whose header and payload are base64url JSON, so both start with `eyJ`.
  [/\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, 'REDACTED'],
];

/** Returns the text with SAS signatures, keys, passwords and tokens replaced by `REDACTED`. */
export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Deep-copies a JSON-like value with every string redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
  return out as T;
}

/** How many errors of a `cause` chain a description follows. */
const MAX_CAUSES = 4;

/** The longest part of a service's answer that a description keeps (an error body can be large). */
const MAX_ANSWER_LENGTH = 500;

/**
 * A thrown value as one redacted text, for logs, run records, reports and answers: its message and
 * the messages of its causes, joined by `: `, a cause the wrapper already quotes left out.
 *
 * A service's answer (an Azure SDK `RestError`: anything with a numeric `statusCode`) reads
 * `403 AuthenticationFailed: <first line of its message>`: the status and service code a reader acts
 * on, then only the first line, because the storage SDK appends `RequestId:` and `Time:` lines, cut to
 * 500 characters. A failed Copy Blob (From URL) adds what the source answered the destination service
 * (`500 CannotVerifyCopySource (the source answered 503): …`). Never the request or its URL.
 *
 * A thrown value that is not an `Error` reads as JSON. An error with no message names its code (a
 * network error's `ECONNRESET`); an `AggregateError` with no message of its own (Node's connection
 * attempts, one per address) is described by its errors.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < MAX_CAUSES; depth++) {
    const text = describeOne(current);
    // A wrapper often quotes its cause already (`SourceAccess.listingFailed` does): do not repeat it.
    if (text && !parts.some((part) => part.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}

/** One error of a chain, redacted, without its cause. */
function describeOne(error: unknown): string {
  const message = error instanceof Error ? messageOf(error) : textOf(error);
  const status = statusOf(error);
  if (status === undefined) return redact(message || (codeOf(error) ?? ''));
  const source = copySourceStatusOf(error);
  const head =
    [status, codeOf(error)].filter((part) => part !== undefined && part !== '').join(' ') +
    (source !== undefined && source !== status ? ` (the source answered ${source})` : '');
  const answer = redact((message.split('\n')[0] ?? '').trim()).slice(0, MAX_ANSWER_LENGTH);
  // An error made from a description (`safeStorageError`) names its status already.
  if (answer.startsWith(head)) return answer;
  return answer ? `${head}: ${answer}` : head;
}

/** A thrown value that is not an `Error`: a string as it is, anything else as JSON when it can be. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function messageOf(error: Error): string {
  if (error.message || !(error instanceof AggregateError)) return error.message;
  return [...new Set(error.errors.map(describeOne))].filter(Boolean).join('; ');
}
