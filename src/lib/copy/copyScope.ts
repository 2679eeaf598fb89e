import { type ListableContainer, normalizePrefix } from './blobListing.js';
import { parseListBlobsXml } from './listBlobsXml.js';

/**
 * What a failover copies. By default the whole container, as the Kyvos DR procedure's
 * `azcopy copy "<container URL>" "<container URL>" --recursive=true` does: Kyvos keeps more in its
 * container than the engine work directory. A prefix (`kyvos-dr-copy-prefix`) narrows it by whole
 * path segments: `a/b` is the blob `a/b` (a directory stub) and everything under `a/b/`, never
 * `a/b2/…` or `a/b.bak/…`.
 */
export interface CopyScope {
  /** '' for the whole container; otherwise the prefix without leading or trailing `/`. */
  prefix: string;
  wholeContainer: boolean;
  /** How the plan, the dry run and the report state it. */
  description: string;
}

export function copyScopeOf(prefix: string): CopyScope {
  const normalized = normalizePrefix(prefix);
  return normalized === ''
    ? { prefix: '', wholeContainer: true, description: 'the whole container (as azcopy --recursive)' }
    : {
        prefix: normalized,
        wholeContainer: false,
        description: `only the prefix "${normalized}/" and the blob "${normalized}" (whole path segments); blobs elsewhere in the container are NOT copied`,
      };
}

/** Whether a blob name is inside the scope: the prefix itself, or under it by whole segments. */
export function isInCopyScope(scope: CopyScope, name: string): boolean {
  if (scope.wholeContainer) return true;
  return name === scope.prefix || name.startsWith(`${scope.prefix}/`);
}

/** Blobs of the container that a prefixed scope leaves behind. */
export interface OutsideScope {
  count: number;
  /** The first few names, in listing order, for the operator to recognise. */
  examples: string[];
}

const EXAMPLES = 5;

/**
 * Counts the source blobs outside a prefixed scope. For the whole container it is 0 without a
 * call. Otherwise it lists the whole container once, names only (no metadata, 5,000 names a
 * request, the service's maximum): one List Blobs call per 5,000 blobs of the container, about what
 * the verification listing itself costs, and nothing is held but the count and a few names.
 */
export async function countBlobsOutsideScope(
  container: ListableContainer,
  scope: CopyScope,
  options: { abortSignal?: AbortSignal } = {},
): Promise<OutsideScope> {
  const outside: OutsideScope = { count: 0, examples: [] };
  if (scope.wholeContainer) return outside;
  let marker: string | undefined;
  do {
    const query: Record<string, string> = { restype: 'container', comp: 'list', maxresults: '5000' };
    if (marker !== undefined) query.marker = marker;
    const body = await container.requests.get(
      query,
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
    const page = parseListBlobsXml(body);
    for (const blob of page.blobs) {
      if (isInCopyScope(scope, blob.name)) continue;
      outside.count += 1;
      if (outside.examples.length < EXAMPLES) outside.examples.push(blob.name);
    }
    marker = page.nextMarker || undefined;
  } while (marker !== undefined);
  return outside;
}
