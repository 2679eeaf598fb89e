/**
 * The order in which List Blobs returns a flat listing.
 *
 * - `lexicographic`: by name, character by character (Unicode code point order, the same as
 *   UTF-8 byte order). An account without a hierarchical namespace, and Azurite.
 * - `hierarchical`: an account with a hierarchical namespace (ADLS Gen2, which Kyvos requires)
 *   lists path segment by segment, so a directory's contents come right after it: `A`, `A/x`,
 *   `A-B`, `A.txt`. That is lexicographic order with `/` sorting before every other character.
 *
 * The two differ only for names that share a prefix and then continue one with `/` and the other
 * with a character below `/` (space, `!`…`.`), e.g. `cube/…` and `cube.json`.
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
    return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/**
 * Orders UTF-16 code units as their code points order: surrogates (U+D800–DFFF, which encode
 * U+10000 and above) after U+E000–FFFF.
 */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
