import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describeError } from '../../src/lib/redact.js';
import type { RegionRole } from '../types.js';
import {
  ArmError,
  internalError,
  invalidRequestContent,
  isArmError,
  methodNotAllowed,
  missingApiVersion,
  regionUnavailable,
  routeNotFound,
  subscriptionNotFound,
  throttled,
} from './armErrors.js';
import { checkAccess } from './authorization/accessCheck.js';
import { authorizationFailed, ForbiddenByRbac } from './authorization/denials.js';
import { checkBearerToken, type TokenClaims, type TokenProblem } from './bearerToken.js';
import { blobContainerRoutes } from './blobContainers.js';
import { handleFaultsAdmin } from './faultsAdmin.js';
import { flexibleServerRoutes } from './flexibleServers.js';
import { BodyTooLarge, isLoopback, type JsonResult, parseJsonBody, readBody, sendJson } from './http.js';
import { handleKeyVaultRequest } from './keyVault.js';
import { keyVaultResourceRoutes } from './keyVaultResource.js';
import { LongRunningOperations } from './lro.js';
import { permissionRoutes } from './permissions.js';
import { type ArmRoute, matchRoute, pathSegments, routeScope } from './router.js';
import { SecretStore } from './secretStore.js';
import { storageAccountRoutes } from './storageAccounts.js';
import type {
  ControlPlaneEmulator,
  ControlPlaneEmulatorOptions,
  EmulatorContext,
  EmulatorRequestEvent,
} from './types.js';

/** The audience of ARM tokens (`https://management.azure.com/.default`). */
const ARM_AUDIENCE = 'https://management.azure.com';

const ARM_TOKEN_ERRORS: Record<TokenProblem, string> = {
  missing: 'AuthenticationFailed',
  malformed: 'InvalidAuthenticationToken',
  expired: 'ExpiredAuthenticationToken',
  audience: 'InvalidAuthenticationTokenAudience',
  tenant: 'InvalidAuthenticationTokenTenant',
};

/**
 * Starts the control-plane emulator: the subset of Azure Resource Manager (Storage, PostgreSQL
 * flexible servers) and of the Key Vault secrets API that kyvos-dr calls, over HTTPS on 127.0.0.1,
 * in the official wire format, backed by the stack's Azurite accounts and PostgreSQL instances.
 *
 * ARM and Key Vault listen on two ports: a Key Vault client takes a vault URL, and a vault on its
 * own origin needs no path prefix. Every request needs a bearer token (unsigned JWTs are accepted;
 * audience, tenant and expiry are checked), and is authorized for the token's `oid` against
 * `options.authorization` (Azure RBAC, `authorization/`). Faults are read from `options.faults` on
 * every request.
 *
 * The emulator never crashes on a request: an unexpected exception answers `500` in the ARM error
 * format. Nothing is logged unless `onRequest` is given; secret values and tokens never are.
 */
export async function startControlPlaneEmulator(
  options: ControlPlaneEmulatorOptions,
): Promise<ControlPlaneEmulator> {
  const secrets = new SecretStore();
  let armEndpoint = '';
  let keyVaultUrl = '';
  let armPort = 0;

  const lro = new LongRunningOperations({
    armEndpoint: () => armEndpoint,
    subscriptionId: options.subscriptionId,
    faults: options.faults,
    retryAfterSeconds: options.lroPollDelaySeconds ?? 1,
  });
  const ctx: EmulatorContext = {
    options,
    lro,
    locationOf: (region) => options.regions[region],
    regionOfLocation: (location) => {
      const wanted = location.toLowerCase().replace(/\s+/g, '');
      return (['primary', 'dr'] as RegionRole[]).find((r) => options.regions[r].toLowerCase() === wanted);
    },
    assertRegionUp: (region, provider) => {
      if (options.faults.regionsDown.has(region)) throw regionUnavailable(provider, options.regions[region]);
    },
    knownResourceGroup: (resourceGroup) => {
      const wanted = resourceGroup.toLowerCase();
      return [
        ...options.storageAccounts.map((a) => a.resourceGroup),
        ...options.servers.map((s) => s.resourceGroup),
        ...(options.keyVault ? [options.keyVault.resourceGroup] : []),
      ].some((group) => group.toLowerCase() === wanted);
    },
  };
  const routes: ArmRoute[] = [
    ...storageAccountRoutes(ctx),
    ...blobContainerRoutes(ctx),
    ...flexibleServerRoutes(ctx),
    ...keyVaultResourceRoutes(ctx, () => keyVaultUrl),
    ...permissionRoutes(ctx),
  ];

  const report = (event: EmulatorRequestEvent) => {
    try {
      options.onRequest?.(event);
    } catch {
      // A failing log hook must not break the answer.
    }
  };

  /** Reads the body, runs the handler, writes the answer, whatever happens. */
  const respond = async (
    service: EmulatorRequestEvent['service'],
    req: IncomingMessage,
    res: ServerResponse,
    handle: (rawBody: Buffer) => Promise<JsonResult>,
  ) => {
    const started = performance.now();
    let result: JsonResult;
    let internal: string | undefined;
    try {
      result = await handle(await readBody(req));
    } catch (error) {
      let armError: ArmError;
      if (isArmError(error)) armError = error;
      else if (error instanceof BodyTooLarge)
        armError = new ArmError(413, 'RequestEntityTooLarge', error.message);
      else {
        internal = describeError(error);
        armError = internalError(error);
      }
      result = { status: armError.status, body: armError.toBody(), headers: armError.headers };
    }
    try {
      sendJson(req, res, result);
    } catch {
      res.destroy();
    }
    const errorCode = (result.body as { error?: { code?: string } } | undefined)?.error?.code;
    report({
      service,
      method: req.method ?? '',
      path: req.url ?? '',
      status: result.status,
      ...(result.status >= 400 && errorCode ? { errorCode } : {}),
      ...(internal ? { internalError: internal } : {}),
      durationInMs: Math.round(performance.now() - started),
    });
  };

  const handleArm = async (req: IncomingMessage, rawBody: Buffer): Promise<JsonResult> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', armEndpoint);
    const check = checkBearerToken(req.headers.authorization, {
      audiences: [ARM_AUDIENCE, armEndpoint, `https://localhost:${armPort}`],
      tenantId: options.tenantId,
    });
    if (!check.ok) {
      throw new ArmError(401, ARM_TOKEN_ERRORS[check.problem], `Authentication failed. ${check.detail}`, {
        'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${options.tenantId}", error="invalid_token", error_description="${check.detail.replace(/"/g, "'")}"`,
      });
    }
    const throttle = options.faults.armThrottle;
    if (throttle && throttle.count > 0) {
      throttle.count -= 1;
      if (throttle.count <= 0) options.faults.armThrottle = null;
      throw throttled(throttle.status, throttle.retryAfterSeconds);
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) throw missingApiVersion();
    let segments: string[];
    try {
      segments = pathSegments(url.pathname);
    } catch {
      throw new ArmError(400, 'InvalidUri', `The request path '${url.pathname}' is not a valid URI path.`);
    }
    const match = matchRoute(routes, method, segments);
    if (match.kind === 'none') throw routeNotFound(method, url.pathname);
    if (match.kind === 'methodNotAllowed') throw methodNotAllowed(method, url.pathname, match.allowed);
    const subscriptionId = match.params.subscriptionId;
    if (
      subscriptionId !== undefined &&
      subscriptionId.toLowerCase() !== options.subscriptionId.toLowerCase()
    ) {
      throw subscriptionNotFound(subscriptionId);
    }
    authorizeArm(check.claims, match.route, segments, match.params);
    let body: unknown;
    try {
      body = parseJsonBody(rawBody);
    } catch (error) {
      throw invalidRequestContent((error as Error).message);
    }
    return match.route.handler({
      method,
      url,
      params: match.params,
      body,
      apiVersion,
      principalId: check.claims.oid ?? '',
    });
  };

  const { policy } = options.authorization;
  /**
   * ARM authorizes a request before the resource provider sees it, so a denied request answers 403
   * even for a resource that does not exist ("…or the scope is invalid").
   */
  const authorizeArm = (
    claims: TokenClaims,
    route: ArmRoute,
    segments: string[],
    params: Record<string, string>,
  ) => {
    const scope = routeScope(route.pattern, segments);
    const operationGroup = route.operationStatus ? lro.resourceGroupOf(params.operationId ?? '') : undefined;
    const decision = checkAccess(policy, {
      principalId: claims.oid ?? '',
      action: route.action,
      scope,
      ...(operationGroup !== undefined
        ? {
            operationResourceGroup: `/subscriptions/${options.subscriptionId}/resourceGroups/${operationGroup}`,
          }
        : {}),
    });
    if (!decision.allowed) throw authorizationFailed(claims, route.action, scope);
  };

  const authorizeKeyVault = (claims: TokenClaims, action: string, secretName: string | undefined) => {
    const { keyVaultResourceId, keyVaultLocation } = options.authorization;
    const resource =
      secretName === undefined ? keyVaultResourceId : `${keyVaultResourceId}/secrets/${secretName}`;
    const decision = checkAccess(policy, {
      principalId: claims.oid ?? '',
      action,
      scope: resource,
      dataAction: true,
    });
    if (!decision.allowed) {
      throw new ForbiddenByRbac(claims, action, resource, options.keyVaultName, keyVaultLocation);
    }
  };

  const handleAdmin = async (req: IncomingMessage, rawBody: Buffer): Promise<JsonResult> => {
    if (!isLoopback(req))
      throw new ArmError(403, 'Forbidden', 'The emulator admin API only answers loopback clients.');
    const url = new URL(req.url ?? '/', armEndpoint);
    if (url.pathname.replace(/\/+$/, '') !== '/_emulator/faults')
      throw routeNotFound(req.method ?? '', url.pathname);
    let body: unknown;
    try {
      body = parseJsonBody(rawBody);
    } catch (error) {
      throw invalidRequestContent((error as Error).message);
    }
    return handleFaultsAdmin(options, (req.method ?? 'GET').toUpperCase(), body);
  };

  const tls = { cert: options.tls.cert, key: options.tls.key };
  const armServer = https.createServer(tls, (req, res) => {
    const admin = (req.url ?? '').startsWith('/_emulator');
    void respond(admin ? 'admin' : 'arm', req, res, (raw) =>
      admin ? handleAdmin(req, raw) : handleArm(req, raw),
    );
  });
  const keyVaultServer = https.createServer(tls, (req, res) => {
    if (options.faults.keyVaultUnavailable) {
      // Unreachable: no answer at all, the connection is closed (the SDK sees a network error and
      // retries, as it would against a vault it cannot reach).
      report({
        service: 'keyVault',
        method: req.method ?? '',
        path: req.url ?? '',
        status: 0,
        errorCode: 'ConnectionDropped',
        durationInMs: 0,
      });
      req.socket.destroy();
      return;
    }
    void respond('keyVault', req, res, async (rawBody) =>
      handleKeyVaultRequest(
        {
          store: secrets,
          vaultUrl: () => keyVaultUrl,
          tenantId: options.tenantId,
          keyVaultName: options.keyVaultName,
          authorize: authorizeKeyVault,
        },
        {
          method: (req.method ?? 'GET').toUpperCase(),
          url: new URL(req.url ?? '/', keyVaultUrl),
          authorization: req.headers.authorization,
          rawBody,
        },
      ),
    );
  });

  armPort = await listen(armServer, options.armPort ?? 0);
  armEndpoint = `https://127.0.0.1:${armPort}`;
  let keyVaultPort: number;
  try {
    keyVaultPort = await listen(keyVaultServer, options.keyVaultPort ?? 0);
  } catch (error) {
    await close(armServer);
    throw error;
  }
  keyVaultUrl = `https://127.0.0.1:${keyVaultPort}`;

  let stopped: Promise<void> | undefined;
  return {
    armEndpoint,
    keyVaultUrl,
    armPort,
    keyVaultPort,
    secrets,
    setSecret: async (name, value, secretOptions) => secrets.setSecret(name, value, secretOptions),
    stop: () => {
      stopped ??= (async () => {
        await lro.settled();
        await Promise.all([close(armServer), close(keyVaultServer)]);
      })();
      return stopped;
    },
  };
}

function listen(server: https.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
