import type { LocalFlexibleServer, PgInstance, RegionRole } from '../types.js';
import {
  ArmError,
  conflictingOperation,
  invalidRequestContent,
  resourceGroupNotFound,
  resourceNotFound,
} from './armErrors.js';
import type { JsonResult } from './http.js';
import { promotePrerequisiteRefusal, sizeOf, storageBody } from './promotePrerequisites.js';
import {
  type PromoteMode,
  type PromoteOption,
  plannedPromoteRefusal,
  primaryAvailability,
  promoteReplica,
  readStatus,
  replicationStateOf,
} from './replicaPromotion.js';
import type { ArmRequest, ArmRoute } from './router.js';
import type { EmulatorContext } from './types.js';
import { VirtualEndpointStore, virtualEndpointRoutes } from './virtualEndpoints.js';

const PROVIDER = 'Microsoft.DBforPostgreSQL';
const RESOURCE_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers';
const SERVER_PATH =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}';
const OPERATIONS_PATH =
  '/subscriptions/{subscriptionId}/providers/Microsoft.DBforPostgreSQL/locations/{location}';

/** Server states shown while an operation runs on the server. */
type BusyState = 'Updating' | 'Stopping' | 'Starting';

/**
 * Microsoft.DBforPostgreSQL flexible servers, backed by the stack's PostgreSQL instances.
 *
 * `GET` reads the instance: `state` is `Ready` while it runs, `Stopped` after an ARM stop,
 * `Inaccessible` when it is down otherwise (the nearest value of the ServerState enum), and
 * `Updating`/`Stopping`/`Starting` while an operation runs. A replica's `replicationState` comes
 * from its WAL receiver (`streaming` → Active, `catchup`/`starting` → Catchup, else Broken while
 * its primary is up, Active while the primary is unreachable: see `replicationStateOf`).
 * `fullyQualifiedDomainName` is the instance's host; the port is not part of an FQDN, clients on
 * the stack take it from their connection settings.
 *
 * `sku` and `properties.storage` come from the server's `size` (`promotePrerequisites.ts`).
 *
 * `PATCH` only promotes a read replica (see `promoteReplica`), once its prerequisites hold
 * (`plannedPromoteRefusal`, `promotePrerequisiteRefusal`); `stop`/`start` stop and start the
 * instance. All three are LROs in the Azure-AsyncOperation style. The servers' virtual endpoints are
 * served by `virtualEndpointRoutes` and move with a promotion.
 */
export function flexibleServerRoutes(ctx: EmulatorContext): ArmRoute[] {
  const busy = new Map<string, BusyState>();
  const createdAt = new Date();
  const versions = new WeakMap<PgInstance, { major: string; minor: string }>();
  const endpoints = new VirtualEndpointStore();

  const body = (server: LocalFlexibleServer) => serverBody(ctx, server, busy, versions, createdAt);

  /** Starts an LRO on the servers, marking them busy until it ends. */
  const beginOperation = (
    request: ArmRequest,
    servers: Array<{ server: LocalFlexibleServer; state: BusyState }>,
    run: () => Promise<void>,
    result: () => Promise<JsonResult>,
  ): JsonResult => {
    for (const { server } of servers) {
      if (busy.has(key(server))) throw conflictingOperation(`server '${server.name}'`);
    }
    const first = servers[0]?.server as LocalFlexibleServer;
    for (const { server, state } of servers) busy.set(key(server), state);
    const operation = ctx.lro.begin({
      provider: PROVIDER,
      location: ctx.locationOf(first.region),
      resourceGroup: first.resourceGroup,
      apiVersion: request.apiVersion,
      run,
      result,
    });
    void operation.settled.then(() => {
      for (const { server } of servers) busy.delete(key(server));
    });
    return ctx.lro.accepted(operation);
  };

  return [
    {
      method: 'GET',
      pattern: SERVER_PATH,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/read',
      handler: async (request) => {
        const server = requireServer(ctx, request.params);
        ctx.assertRegionUp(server.region, PROVIDER);
        return { status: 200, body: await body(server) };
      },
    },
    {
      method: 'PATCH',
      pattern: SERVER_PATH,
      // A promote is an update of the replica (Servers_Update), so ARM checks write on it.
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/write',
      handler: async (request) => {
        const server = requireServer(ctx, request.params);
        ctx.assertRegionUp(server.region, PROVIDER);
        const { mode, option } = readPromoteRequest(request.body);
        if (server.role !== 'replica') {
          throw new ArmError(
            400,
            'ServerIsNotReadReplica',
            `Server '${server.name}' is not a read replica; only a read replica can be promoted (promoteMode ${mode}).`,
          );
        }
        const source = ctx.options.servers.find((s) => s.name === server.sourceServer);
        const isRegionDown = (region: RegionRole) => ctx.options.faults.regionsDown.has(region);
        if (option === 'Planned') {
          const refusal = plannedPromoteRefusal(server, source, isRegionDown);
          if (refusal) throw refusal;
        }
        const unmet = promotePrerequisiteRefusal({
          replica: server,
          source,
          mode,
          option,
          endpoints,
          isRegionDown,
        });
        if (unmet) throw unmet;
        const involved: Array<{ server: LocalFlexibleServer; state: BusyState }> = [
          { server, state: 'Updating' },
        ];
        if (mode === 'Switchover' && source) involved.push({ server: source, state: 'Updating' });
        return beginOperation(
          request,
          involved,
          async () => {
            await promoteReplica({
              replica: server,
              source,
              mode,
              option,
              plannedTimeoutInMs: ctx.options.plannedPromoteTimeoutInMs ?? 60_000,
              isRegionDown,
            });
            if (source) endpoints.afterPromotion(mode, source.name, server.name);
          },
          async () => ({ status: 200, body: await body(server) }),
        );
      },
    },
    {
      method: 'POST',
      pattern: `${SERVER_PATH}/stop`,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/stop/action',
      handler: async (request) => {
        const server = requireServer(ctx, request.params);
        ctx.assertRegionUp(server.region, PROVIDER);
        return beginOperation(
          request,
          [{ server, state: 'Stopping' }],
          async () => {
            server.stoppedByArm = true;
            if (server.instance.isRunning()) await server.instance.stop('fast');
          },
          async () => ({ status: 204 }),
        );
      },
    },
    {
      method: 'POST',
      pattern: `${SERVER_PATH}/start`,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/start/action',
      handler: async (request) => {
        const server = requireServer(ctx, request.params);
        ctx.assertRegionUp(server.region, PROVIDER);
        return beginOperation(
          request,
          [{ server, state: 'Starting' }],
          async () => {
            if (!server.instance.isRunning()) await server.instance.start();
            server.stoppedByArm = false;
          },
          async () => ({ status: 204 }),
        );
      },
    },
    {
      method: 'GET',
      pattern: `${SERVER_PATH}/replicas`,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/replicas/read',
      handler: async (request) => {
        const server = requireServer(ctx, request.params);
        ctx.assertRegionUp(server.region, PROVIDER);
        const replicas = ctx.options.servers.filter(
          (s) => s.role === 'replica' && s.sourceServer === server.name,
        );
        return { status: 200, body: { value: await Promise.all(replicas.map(body)) } };
      },
    },
    ...virtualEndpointRoutes(ctx, endpoints, (params) => requireServer(ctx, params)),
    {
      method: 'GET',
      pattern: `${OPERATIONS_PATH}/azureAsyncOperation/{operationId}`,
      // Microsoft.DBforPostgreSQL operations list (azure-docs permissions/databases.md):
      // locations/azureAsyncOperation/read "Return PostgreSQL Server Operation Results".
      action: 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read',
      operationStatus: true,
      handler: async (request) => ctx.lro.asyncOperationStatus(request.params.operationId ?? ''),
    },
    {
      method: 'GET',
      pattern: `${OPERATIONS_PATH}/operationResults/{operationId}`,
      action: 'Microsoft.DBforPostgreSQL/locations/operationResults/read',
      operationStatus: true,
      handler: (request) => ctx.lro.operationResult(request.params.operationId ?? ''),
    },
  ];
}

function requireServer(ctx: EmulatorContext, params: Record<string, string>): LocalFlexibleServer {
  const resourceGroup = params.resourceGroupName ?? '';
  const name = params.serverName ?? '';
  const server = ctx.options.servers.find(
    (s) =>
      s.name.toLowerCase() === name.toLowerCase() &&
      s.resourceGroup.toLowerCase() === resourceGroup.toLowerCase(),
  );
  if (server) return server;
  if (!ctx.knownResourceGroup(resourceGroup)) throw resourceGroupNotFound(resourceGroup);
  throw resourceNotFound(RESOURCE_TYPE, name, resourceGroup);
}

function readPromoteRequest(body: unknown): { mode: PromoteMode; option: PromoteOption } {
  const replica = (body as { properties?: { replica?: Record<string, unknown> } } | undefined)?.properties
    ?.replica;
  if (!replica || typeof replica !== 'object') {
    throw invalidRequestContent(
      'the local stack only supports PATCH {"properties":{"replica":{"promoteMode":"Standalone"|"Switchover",' +
        '"promoteOption":"Planned"|"Forced"}}} on a flexible server.',
    );
  }
  const mode = pick(replica.promoteMode, ['Standalone', 'Switchover'] as const);
  // promoteOption defaults to Planned, the option that cannot lose data.
  const option =
    replica.promoteOption === undefined
      ? 'Planned'
      : pick(replica.promoteOption, ['Planned', 'Forced'] as const);
  if (!mode || !option) {
    throw invalidRequestContent(
      `properties.replica.promoteMode must be Standalone or Switchover and promoteOption Planned or Forced; got ` +
        `'${String(replica.promoteMode)}' and '${String(replica.promoteOption)}'.`,
    );
  }
  return { mode, option };
}

function pick<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
}

function key(server: LocalFlexibleServer): string {
  return server.name.toLowerCase();
}

async function serverBody(
  ctx: EmulatorContext,
  server: LocalFlexibleServer,
  busy: Map<string, BusyState>,
  versions: WeakMap<PgInstance, { major: string; minor: string }>,
  createdAt: Date,
): Promise<Record<string, unknown>> {
  const status = await readStatus(server.instance);
  const busyState = busy.get(key(server));
  const state = busyState ?? (server.stoppedByArm ? 'Stopped' : status.running ? 'Ready' : 'Inaccessible');
  const version = status.running
    ? await readVersion(server.instance, versions)
    : versions.get(server.instance);
  const isReplica = server.role === 'replica';
  const replica: Record<string, unknown> = isReplica
    ? {
        role: 'AsyncReplica',
        capacity: 0,
        replicationState:
          busyState === 'Updating'
            ? 'Updating'
            : replicationStateOf(
                status,
                primaryAvailability(
                  ctx.options.servers.find((s) => s.name === server.sourceServer),
                  (region) => ctx.options.faults.regionsDown.has(region),
                ).available,
              ),
      }
    : { role: 'Primary', capacity: 5 };
  const properties: Record<string, unknown> = {
    replica,
    storage: storageBody(sizeOf(server)),
    network: { publicNetworkAccess: 'Enabled' },
    privateEndpointConnections: [],
    dataEncryption: { type: 'SystemManaged' },
    authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' },
    fullyQualifiedDomainName: server.instance.host,
    administratorLogin: server.instance.user,
    state,
    availabilityZone: '1',
    backup: {
      backupRetentionDays: 7,
      geoRedundantBackup: 'Disabled',
      earliestRestoreDate: createdAt.toISOString(),
    },
    highAvailability: { mode: 'Disabled', state: 'NotEnabled' },
    maintenanceWindow: { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 },
    replicationRole: isReplica ? 'AsyncReplica' : 'Primary',
    replicaCapacity: isReplica ? 0 : 5,
  };
  if (version) {
    properties.version = version.major;
    properties.minorVersion = version.minor;
  }
  const source = isReplica ? ctx.options.servers.find((s) => s.name === server.sourceServer) : undefined;
  if (source) properties.sourceServerResourceId = serverId(ctx, source);
  return {
    sku: { name: sizeOf(server).skuName, tier: sizeOf(server).tier },
    systemData: { createdAt: createdAt.toISOString() },
    properties,
    location: ctx.locationOf(server.region),
    id: serverId(ctx, server),
    name: server.name,
    type: RESOURCE_TYPE,
  };
}

function serverId(ctx: EmulatorContext, server: LocalFlexibleServer): string {
  return `/subscriptions/${ctx.options.subscriptionId}/resourceGroups/${server.resourceGroup}/providers/${RESOURCE_TYPE}/${server.name}`;
}

/** The PostgreSQL major and minor version, read once per instance. */
async function readVersion(
  instance: PgInstance,
  versions: WeakMap<PgInstance, { major: string; minor: string }>,
): Promise<{ major: string; minor: string } | undefined> {
  const known = versions.get(instance);
  if (known) return known;
  try {
    const [row] = await instance.query<{ num: string }>(
      "SELECT current_setting('server_version_num') AS num",
    );
    const num = Number(row?.num);
    if (!Number.isInteger(num)) return undefined;
    const version = { major: String(Math.floor(num / 10_000)), minor: String(num % 10_000) };
    versions.set(instance, version);
    return version;
  } catch {
    return undefined;
  }
}
