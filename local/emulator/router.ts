import type { JsonResult } from './http.js';

/** A parsed ARM request, as a route handler sees it. */
export interface ArmRequest {
  method: string;
  url: URL;
  /** Values of the `{name}` segments of the route pattern, URL-decoded. */
  params: Record<string, string>;
  /** The parsed JSON body; `undefined` when there was none. */
  body: unknown;
  /** The `api-version` the client sent; echoed into the URLs the emulator hands out. */
  apiVersion: string;
  /** Object ID of the caller (the bearer token's `oid`): whose role assignments apply. */
  principalId: string;
}

type ArmHandler = (request: ArmRequest) => Promise<JsonResult>;

export interface ArmRoute {
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** `/subscriptions/{subscriptionId}/…`; literal segments match case-insensitively, as in ARM. */
  pattern: string;
  /**
   * The operation ARM authorizes the request as (`Microsoft.Storage/storageAccounts/read`), at the
   * scope of the pattern up to its last `{parameter}` (the resource, or the operation for a status
   * URL). Names come from the provider's operations list (azure-docs
   * `articles/role-based-access-control/permissions/*.md`).
   */
  action: string;
  /** The route answers the status of an asynchronous operation (see `authorization/accessCheck.ts`). */
  operationStatus?: boolean;
  handler: ArmHandler;
}

export type RouteMatch =
  | { kind: 'match'; route: ArmRoute; params: Record<string, string> }
  | { kind: 'methodNotAllowed'; allowed: string[] }
  | { kind: 'none' };

/** Finds the route for a method and a path (already split into decoded segments). */
export function matchRoute(routes: ArmRoute[], method: string, segments: string[]): RouteMatch {
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPattern(route.pattern, segments);
    if (!params) continue;
    if (route.method === method) return { kind: 'match', route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'methodNotAllowed', allowed } : { kind: 'none' };
}

/**
 * Splits a URL path into decoded segments, ignoring empty ones (a trailing slash or `//`).
 * Throws `URIError` on a malformed escape.
 */
export function pathSegments(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
}

function matchPattern(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter((s) => s !== '');
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const segment = segments[i] as string;
    if (part.startsWith('{') && part.endsWith('}')) params[part.slice(1, -1)] = segment;
    else if (part.toLowerCase() !== segment.toLowerCase()) return undefined;
  }
  return params;
}

/**
 * The scope ARM checks a request at: the path up to the pattern's last `{parameter}` segment
 * (`…/storageAccounts/{accountName}/listKeys` is checked at the account).
 */
export function routeScope(pattern: string, segments: string[]): string {
  const parts = pattern.split('/').filter((s) => s !== '');
  let last = parts.length - 1;
  while (last >= 0 && !(parts[last] as string).startsWith('{')) last -= 1;
  return `/${segments.slice(0, last + 1).join('/')}`;
}
