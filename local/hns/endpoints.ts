/**
 * How the storage front names an account's endpoints, path-style on one origin:
 *
 * | Azure                                      | local stack                          |
 * |--------------------------------------------|--------------------------------------|
 * | `<account>.blob.core.windows.net`          | `https://127.0.0.1:<port>/<account>` |
 * | `<account>-secondary.blob.core.windows.net`| `…/<account>-secondary`              |
 * | `<account>.dfs.core.windows.net`           | `…/<account>-dfs`                    |
 * | `<account>-secondary.dfs.core.windows.net` | `…/<account>-secondary-dfs`          |
 *
 * An RA-GRS account with a hierarchical namespace has a read-only secondary Data Lake endpoint as
 * well as a blob one: ARM lists `secondaryEndpoints.dfs` (`Endpoints` in
 * azure-rest-api-specs specification/storage/resource-manager/Microsoft.Storage/stable/…/storage.json),
 * and the routing-preference page lists `<account>-…-secondary.dfs.core.windows.net` among the
 * read-only secondary endpoints
 * (https://learn.microsoft.com/azure/storage/common/network-routing-preference).
 */
export interface FrontEndpoint {
  /** The storage account, without the `-secondary` and `-dfs` suffixes. */
  accountName: string;
  secondary: boolean;
  /** The Data Lake (`dfs`) endpoint rather than the blob endpoint. */
  dfs: boolean;
  /** The request path on the blob endpoint (`/<account>[-secondary]/…`): what Azurite serves. */
  blobPath: string;
  /** The container (file system), or '' for a request on the account. */
  container: string;
  /** The blob (path) name, decoded, or '' for a request on the account or a container. */
  blobName: string;
}

const SECONDARY_SUFFIX = '-secondary';
const DFS_SUFFIX = '-dfs';

/** Where a request to the front goes, from its path (`/<account>[-secondary][-dfs]/<container>/<blob>`). */
export function endpointOf(pathname: string): FrontEndpoint {
  const [, first = '', ...rest] = pathname.split('/');
  const dfs = first.endsWith(DFS_SUFFIX);
  const withoutDfs = dfs ? first.slice(0, -DFS_SUFFIX.length) : first;
  const secondary = withoutDfs.endsWith(SECONDARY_SUFFIX);
  const accountName = secondary ? withoutDfs.slice(0, -SECONDARY_SUFFIX.length) : withoutDfs;
  const [container = '', ...blobParts] = rest;
  return {
    accountName,
    secondary,
    dfs,
    blobPath: `/${withoutDfs}${rest.length > 0 ? `/${rest.join('/')}` : ''}`,
    container: safeDecode(container),
    blobName: safeDecode(blobParts.join('/')),
  };
}

/** The Data Lake endpoint beside a blob endpoint of the front (`…/<account>[-secondary]` → `…-dfs`). */
export function dfsEndpointOf(blobEndpoint: string): string {
  const trailing = blobEndpoint.endsWith('/');
  const base = trailing ? blobEndpoint.slice(0, -1) : blobEndpoint;
  return `${base}${DFS_SUFFIX}${trailing ? '/' : ''}`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
