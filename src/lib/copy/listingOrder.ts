/**
 * The order in which List Blobs returns a flat listing.
 *
 * - `lexicographic`: by name, UTF-16 code unit by code unit. An account without a hierarchical
 *   namespace, and Azurite.
 * - `hierarchical`: an account with a hierarchical namespace (ADLS Gen2, which Kyvos requires)
 *   lists path segment by segment, so a directory's contents come right after it: `A`, `A/x`,
 *   `A-B`, `A.txt`. That is lexicographic order with `/` sorting before every other character.
 *
 * The two differ only for names that share a prefix and then continue one with `/` and the other
 * with a character below `/` (space, `!`…`.`), e.g. `cube/…` and `cube.json`.
 *
 * Why UTF-16 and not code points (UTF-8 bytes): List Blobs promises only that "blobs are listed in
 * alphabetical order in the response body, with upper-case letters listed first"
 * (https://learn.microsoft.com/rest/api/storageservices/list-blobs). Measured with a blob for every
 * Unicode character, Azure orders them by UTF-16 (big-endian) code units
 * (https://github.com/blobfile/blobfile/pull/238), and Azurite sorts names with JavaScript's string
 * comparison, which is UTF-16 code unit order too. The two orders differ for a character beyond
 * the Basic Multilingual Plane (a surrogate pair, U+D800–DFFF) next to one in U+E000–FFFF:
 * `\u{1F600}` sorts before `\uFF21`.
 */
export type ListingOrder = 'lexicographic' | 'hierarchical';

const SLASH = 0x2f;

/** Compares two blob names in a listing order: negative, zero or positive. */
export function compareBlobNames(order: ListingOrder, a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (order === 'hierarchical') {
      if (x === SLASH) return -1;
      if (y === SLASH) return 1;
    }
    return x - y;
  }
  return a.length - b.length;
}
