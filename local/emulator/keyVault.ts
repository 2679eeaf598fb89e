import { ArmError } from './armErrors.js';
import { checkBearerToken } from './bearerToken.js';
import { type JsonResult, parseJsonBody } from './http.js';
import { pathSegments } from './router.js';
import {
  isValidSecretName,
  type SecretStore,
  type SecretVersion,
  type SetSecretOptions,
} from './secretStore.js';

/** The audience of Key Vault tokens, and the `resource` of the challenge. */
export const KEY_VAULT_AUDIENCE = 'https://vault.azure.net';

/** `maxresults` of GetSecrets: 1 to 25, default 25. */
const MAX_PAGE_SIZE = 25;

export interface KeyVaultDeps {
  store: SecretStore;
  /** `https://127.0.0.1:<port>`, without a trailing slash; secret ids start with it. */
  vaultUrl: () => string;
  tenantId: string;
  keyVaultName: string;
}

export interface KeyVaultRequest {
  method: string;
  url: URL;
  authorization: string | undefined;
  rawBody: Buffer;
}

/**
 * The Key Vault secrets data plane (GetSecret, SetSecret, GetSecrets) in the wire format of
 * api-version 2025-07-01.
 *
 * Authentication follows Key Vault's challenge flow: a request without a token gets `401` with
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
 * resource="https://vault.azure.net"`, from which the SDK learns the scope and tenant. The vault's
 * origin is 127.0.0.1, not a `*.vault.azure.net` host, so clients set
 * `disableChallengeResourceVerification: true`.
 *
 * Secret values never leave this module except in the GetSecret/SetSecret answers.
 */
export function handleKeyVaultRequest(deps: KeyVaultDeps, request: KeyVaultRequest): JsonResult {
  authenticate(deps, request.authorization);
  if (!request.url.searchParams.get('api-version')) {
    throw badParameter('The api-version query parameter is missing.');
  }
  const segments = pathSegments(request.url.pathname);
  if (segments[0]?.toLowerCase() !== 'secrets' || segments.length > 3) {
    throw new ArmError(
      404,
      'NotFound',
      `The local Key Vault emulator (vault '${deps.keyVaultName}') serves only /secrets; not ${request.url.pathname}.`,
    );
  }
  const [, name, version] = segments;
  if (name === undefined) {
    if (request.method !== 'GET') throw methodNotAllowed(request.method, ['GET']);
    return listSecrets(deps, request.url);
  }
  if (!isValidSecretName(name)) {
    throw badParameter(
      `The request URI contains an invalid name: ${name}. A secret name is 1 to 127 letters, digits and dashes.`,
    );
  }
  if (request.method === 'GET') return { status: 200, body: bundle(deps, getSecret(deps, name, version)) };
  if (request.method === 'PUT' && version === undefined) {
    return { status: 200, body: bundle(deps, setSecret(deps, name, request.rawBody)) };
  }
  throw methodNotAllowed(request.method, version === undefined ? ['GET', 'PUT'] : ['GET']);
}

function authenticate(deps: KeyVaultDeps, authorization: string | undefined): void {
  const check = checkBearerToken(authorization, { audiences: [KEY_VAULT_AUDIENCE], tenantId: deps.tenantId });
  if (check.ok) return;
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${deps.tenantId}", resource="${KEY_VAULT_AUDIENCE}"`;
  const message =
    check.problem === 'missing'
      ? 'AKV10000: Request is missing a Bearer or PoP token.'
      : `AKV10022: ${check.detail}`;
  throw new ArmError(401, 'Unauthorized', message, { 'WWW-Authenticate': challenge });
}

function getSecret(deps: KeyVaultDeps, name: string, version: string | undefined): SecretVersion {
  const secret = deps.store.getSecret(name, version);
  if (!secret) {
    const id = version ? `${name}/${version}` : name;
    throw new ArmError(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you may be ` +
        'able to recover it using the correct recovery command. For help resolving this issue, please see ' +
        'https://go.microsoft.com/fwlink/?linkid=2125182',
    );
  }
  if (!secret.enabled)
    throw new ArmError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.');
  return secret;
}

function setSecret(deps: KeyVaultDeps, name: string, rawBody: Buffer): SecretVersion {
  let body: unknown;
  try {
    body = parseJsonBody(rawBody);
  } catch (error) {
    throw badParameter(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badParameter('The request body must be a JSON object with a "value".');
  }
  const { value, contentType, tags, attributes } = body as Record<string, unknown>;
  if (typeof value !== 'string')
    throw badParameter('The parameter "value" is required and must be a string.');
  const options: SetSecretOptions = {};
  if (contentType !== undefined) {
    if (typeof contentType !== 'string') throw badParameter('The parameter "contentType" must be a string.');
    options.contentType = contentType;
  }
  if (tags !== undefined && tags !== null) {
    if (
      typeof tags !== 'object' ||
      Array.isArray(tags) ||
      Object.values(tags).some((t) => typeof t !== 'string')
    ) {
      throw badParameter('The parameter "tags" must be an object of strings.');
    }
    options.tags = tags as Record<string, string>;
  }
  if (attributes !== undefined && attributes !== null) {
    if (typeof attributes !== 'object' || Array.isArray(attributes)) {
      throw badParameter('The parameter "attributes" must be an object.');
    }
    const { enabled, exp, nbf } = attributes as Record<string, unknown>;
    if (typeof enabled === 'boolean') options.enabled = enabled;
    if (typeof exp === 'number') options.expiresOn = new Date(exp * 1000);
    if (typeof nbf === 'number') options.notBefore = new Date(nbf * 1000);
  }
  return deps.store.setSecret(name, value, options);
}

function listSecrets(deps: KeyVaultDeps, url: URL): JsonResult {
  const maxParam = url.searchParams.get('maxresults');
  const pageSize = maxParam === null ? MAX_PAGE_SIZE : Number(maxParam);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw badParameter(`maxresults must be an integer from 1 to ${MAX_PAGE_SIZE}; got '${maxParam}'.`);
  }
  const offset = readSkipToken(url.searchParams.get('$skiptoken'));
  const all = deps.store.listSecrets();
  const page = all.slice(offset, offset + pageSize);
  let nextLink: string | null = null;
  if (offset + pageSize < all.length) {
    const next = new URL(`${deps.vaultUrl()}/secrets`);
    next.searchParams.set('api-version', url.searchParams.get('api-version') ?? '');
    next.searchParams.set(
      '$skiptoken',
      Buffer.from(JSON.stringify({ offset: offset + pageSize })).toString('base64url'),
    );
    next.searchParams.set('maxresults', String(pageSize));
    nextLink = next.toString();
  }
  return {
    status: 200,
    body: {
      value: page.map((s) => {
        const item: Record<string, unknown> = {
          id: `${deps.vaultUrl()}/secrets/${s.name}`,
          attributes: attributesOf(s, false),
        };
        if (s.contentType !== undefined) item.contentType = s.contentType;
        if (s.tags !== undefined) item.tags = s.tags;
        return item;
      }),
      nextLink,
    },
  };
}

function readSkipToken(token: string | null): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0)
      return parsed.offset;
  } catch {
    // Falls through to the error below.
  }
  throw badParameter('The $skiptoken is invalid; use the nextLink of the previous page as it is.');
}

/** The SecretBundle of GetSecret/SetSecret. */
function bundle(deps: KeyVaultDeps, secret: SecretVersion): Record<string, unknown> {
  const body: Record<string, unknown> = {
    value: secret.value,
    id: `${deps.vaultUrl()}/secrets/${secret.name}/${secret.version}`,
    attributes: attributesOf(secret, true),
  };
  if (secret.contentType !== undefined) body.contentType = secret.contentType;
  if (secret.tags !== undefined) body.tags = secret.tags;
  return body;
}

/** Times are Unix epoch seconds. List items carry no `recoveryLevel`, as in the GetSecrets example. */
function attributesOf(secret: SecretVersion, withRecoveryLevel: boolean): Record<string, unknown> {
  const attributes: Record<string, unknown> = {
    enabled: secret.enabled,
    created: epochSeconds(secret.created),
    updated: epochSeconds(secret.updated),
  };
  if (secret.expiresOn) attributes.exp = epochSeconds(secret.expiresOn);
  if (secret.notBefore) attributes.nbf = epochSeconds(secret.notBefore);
  if (withRecoveryLevel) attributes.recoveryLevel = 'Recoverable+Purgeable';
  return attributes;
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function badParameter(message: string): ArmError {
  return new ArmError(400, 'BadParameter', message);
}

function methodNotAllowed(method: string, allowed: string[]): ArmError {
  return new ArmError(
    405,
    'MethodNotAllowed',
    `The method ${method} is not allowed here; use ${allowed.join(' or ')}.`,
    {
      Allow: allowed.join(', '),
    },
  );
}
