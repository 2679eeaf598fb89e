/**
 * Finds secrets in captured output: the shapes any SAS, token or password has (a `sig=` value, a
 * bearer token, a JWT, a password field or connection string password not `REDACTED`), and the
 * literal values a test knows (a stack's passwords, account keys, SAS signature).
 */
const SHAPES: Array<[string, RegExp]> = [
  ['a SAS signature', /sig(?:=|%3D)(?!REDACTED)[^&\s"'<>\\]+/gi],
  ['a bearer token', /Bearer\s+(?!REDACTED)(?![A-Za-z_]+=\\?")[A-Za-z0-9\-_.=]{8,}/g],
  ['a JWT', /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+/g],
  ['a password setting', /password=(?!REDACTED)[^;\s"'&]+/gi],
  ['a password field', /\bpassword["']?\s*:\s*["'](?!REDACTED)[^"']+/gi],
  ['a connection string password', /postgres(?:ql)?:\/\/[^:/\s]+:(?!REDACTED@)[^@\s]+@/gi],
  ['an account key', /AccountKey=(?!REDACTED)[^;\s"']+/gi],
];

export interface Leak {
  what: string;
  count: number;
  /** Up to 160 characters around the first occurrence. */
  excerpt: string;
}

/** Every kind of secret found in `text`, with a count and one excerpt each; empty when none. */
export function findLeaks(text: string, known: Record<string, string> = {}): Leak[] {
  const leaks: Leak[] = [];
  const excerpt = (index: number) => text.slice(Math.max(0, index - 80), index + 80);
  for (const [what, pattern] of SHAPES) {
    const matches = [...text.matchAll(pattern)];
    if (matches.length > 0)
      leaks.push({ what, count: matches.length, excerpt: excerpt(matches[0]?.index ?? 0) });
  }
  for (const [what, value] of Object.entries(known)) {
    if (value.length < 6) throw new Error(`The known secret "${what}" is too short to search for.`);
    for (const form of new Set([value, encodeURIComponent(value), safeDecode(value)])) {
      const index = text.indexOf(form);
      if (index >= 0) leaks.push({ what, count: text.split(form).length - 1, excerpt: excerpt(index) });
    }
  }
  return leaks;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
