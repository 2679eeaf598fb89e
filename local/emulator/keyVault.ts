import { ArmError } from './armErrors.js';
import { keyVaultDataAction } from './authorization/keyVaultActions.js';
import { checkBearerToken, type TokenClaims } from './bearerToken.js';
import { type JsonResult, parseJsonBody } from './http.js';
import { pathSegments } from './router.js';
import {
  type DeletedSecret,
  isValidSecretName,
  SecretDeletedButRecoverable,
  type SecretStore,
  type SecretVersion,
  type SetSecretOptions,
} from './secretStore.js';

/** The audience of Key Vault tokens, and the `resource` of the challenge. */
const KEY_VAULT_AUDIENCE = 'https://vault.azure.net';

/** `maxresults` of GetSecrets: 1 to 25, default 25. */
const MAX_PAGE_SIZE = 25;

export interface KeyVaultDeps {
  store: SecretStore;
  /** `https://127.0.0.1:<port>`, without a trailing slash; secret ids start with it. */
  vaultUrl: () => string;
  tenantId: string;
  keyVaultName: string;
  /**
   * Throws `ForbiddenByRbac` unless the caller may perform the data action, on the secret when
   * `secretName` is given, else on the vault.
   */
  authorize(claims: TokenClaims, action: string, secretName: string | undefined): void;
}

export interface KeyVaultRequest {
  method: string;
  url: URL;
  authorization: string | undefined;
  rawBody: Buffer;
}

/**
 * The Key Vault secrets data plane (GetSecret, SetSecret, GetSecrets, DeleteSecret and the
 * soft-delete operations on deleted secrets) in the wire format of
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
  const claims = authenticate(deps, request.authorization);
  if (!request.url.searchParams.get('api-version')) {
    throw badParameter('The api-version query parameter is missing.');
  }
  const segments = pathSegments(request.url.pathname);
  const operation = keyVaultDataAction(request.method, segments);
  if (operation) deps.authorize(claims, operation.action, operation.secretName);
  const collection = segments[0]?.toLowerCase();
  if (collection === 'deletedsecrets') return handleDeletedSecret(deps, request, segments);
  if (collection !== 'secrets' || segments.length > 3) {
    throw new ArmError(
      404,
      'NotFound',
      `The local Key Vault emulator (vault '${deps.keyVaultName}') serves only /secrets and /deletedsecrets; not ${request.url.pathname}.`,
    );
  }
  const [, name, version] = segments;
  if (name === undefined) {
    if (request.method !== 'GET') throw methodNotAllowed(request.method, ['GET']);
    return listSecrets(deps, request.url);
  }
  checkName(name);
  if (request.method === 'GET') return { status: 200, body: bundle(deps, getSecret(deps, name, version)) };
  if (request.method === 'PUT' && version === undefined) {
    return { status: 200, body: bundle(deps, setSecret(deps, name, request.rawBody)) };
  }
  if (request.method === 'DELETE' && version === undefined) {
    // DeleteSecret answers the DeletedSecretBundle (secrets.json, "DeleteSecret"); with soft-delete,
    // always on since February 2025 (soft-delete overview), the secret is kept as a deleted secret.
    const deleted = deps.store.deleteSecret(name);
    if (!deleted) throw secretNotFound(name);
    return { status: 200, body: deletedBundle(deps, deleted) };
  }
  throw methodNotAllowed(request.method, version === undefined ? ['GET', 'PUT', 'DELETE'] : ['GET']);
}

/**
 * The soft-delete operations of the secrets data plane (azure-rest-api-specs,
 * specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/secrets.json):
 * GetDeletedSecret `GET /deletedsecrets/{name}` (200 DeletedSecretBundle, without the value),
 * PurgeDeletedSecret `DELETE /deletedsecrets/{name}` (204), RecoverDeletedSecret
 * `POST /deletedsecrets/{name}/recover` (200 SecretBundle). A name that is not deleted answers
 * 404 SecretNotFound. The data action each needs is checked in `handleKeyVaultRequest`
 * (`authorization/keyVaultActions.ts`).
 */
function handleDeletedSecret(deps: KeyVaultDeps, request: KeyVaultRequest, segments: string[]): JsonResult {
  const [, name, action] = segments;
  if (name === undefined || segments.length > 3 || (action !== undefined && action !== 'recover')) {
    throw new ArmError(
      404,
      'NotFound',
      `The local Key Vault emulator serves GET/DELETE /deletedsecrets/{name} and POST /deletedsecrets/{name}/recover; not ${request.url.pathname}.`,
    );
  }
  checkName(name);
  if (action === 'recover') {
    if (request.method !== 'POST') throw methodNotAllowed(request.method, ['POST']);
    const recovered = deps.store.recoverDeletedSecret(name);
    if (!recovered) throw deletedSecretNotFound(name);
    return { status: 200, body: bundle(deps, recovered) };
  }
  const deleted = deps.store.getDeletedSecret(name);
  if (request.method === 'GET') {
    if (!deleted) throw deletedSecretNotFound(name);
    return { status: 200, body: deletedBundle(deps, deleted) };
  }
  if (request.method === 'DELETE') {
    if (!deleted || !deps.store.purgeDeletedSecret(name)) throw deletedSecretNotFound(name);
    return { status: 204 };
  }
  throw methodNotAllowed(request.method, ['GET', 'DELETE']);
}

function checkName(name: string): void {
  if (!isValidSecretName(name)) {
    throw badParameter(
      `The request URI contains an invalid name: ${name}. A secret name is 1 to 127 letters, digits and dashes.`,
    );
  }
}

/**
 * An error whose body carries Key Vault's `innererror` (the `Error` definition of the data-plane
 * specs, common.json: `code`, `message`, `innererror`).
 */
class KeyVaultError extends ArmError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly innerCode: string,
  ) {
    super(status, code, message);
  }

  override toBody(): { error: { code: string; message: string; innererror: { code: string } } } {
    return { error: { code: this.code, message: this.message, innererror: { code: this.innerCode } } };
  }
}

function secretNotFound(id: string): ArmError {
  return new ArmError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you may be ` +
      'able to recover it using the correct recovery command. For help resolving this issue, please see ' +
      'https://go.microsoft.com/fwlink/?linkid=2125182',
  );
}

function deletedSecretNotFound(name: string): ArmError {
  return new ArmError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

/** DeletedSecretBundle: the current version's bundle without its value, plus the soft-delete dates. */
function deletedBundle(deps: KeyVaultDeps, deleted: DeletedSecret): Record<string, unknown> {
  const current = deleted.versions[deleted.versions.length - 1] as SecretVersion;
  const { value: _value, ...rest } = bundle(deps, current);
  return {
    ...rest,
    recoveryId: `${deps.vaultUrl()}/deletedsecrets/${current.name}`,
    deletedDate: epochSeconds(deleted.deleted),
    scheduledPurgeDate: epochSeconds(deleted.scheduledPurge),
  };
}

function authenticate(deps: KeyVaultDeps, authorization: string | undefined): TokenClaims {
  const check = checkBearerToken(authorization, { audiences: [KEY_VAULT_AUDIENCE], tenantId: deps.tenantId });
  if (check.ok) return check.claims;
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${deps.tenantId}", resource="${KEY_VAULT_AUDIENCE}"`;
  const message =
    check.problem === 'missing'
      ? 'AKV10000: Request is missing a Bearer or PoP token.'
      : `AKV10022: ${check.detail}`;
  throw new ArmError(401, 'Unauthorized', message, { 'WWW-Authenticate': challenge });
}

function getSecret(deps: KeyVaultDeps, name: string, version: string | undefined): SecretVersion {
  const secret = deps.store.getSecret(name, version);
  if (!secret) throw secretNotFound(version ? `${name}/${version}` : name);
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
  try {
    return deps.store.setSecret(name, value, options);
  } catch (error) {
    // SetSecret on a soft-deleted name: 409 Conflict, inner error ObjectIsDeletedButRecoverable, with
    // this message (as Key Vault answers it, e.g. Azure/azure-sdk-for-python#9743,
    // ansible-collections/azure#1145, ironmansoftware/powershell-universal#1990; soft-delete overview).
    if (error instanceof SecretDeletedButRecoverable) {
      throw new KeyVaultError(409, 'Conflict', error.message, 'ObjectIsDeletedButRecoverable');
    }
    throw error;
  }
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
