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

/** The message of an error, redacted, with the messages of its causes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    // A wrapper often quotes its cause already (`SourceAccess.listingFailed` does): do not repeat it.
    if (message && !parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return redact(parts.join(': '));
}
