import type { LocalFlexibleServer } from '../types.js';
import { ArmError, invalidRequestContent } from './armErrors.js';
import type { ArmRequest, ArmRoute } from './router.js';
import type { EmulatorContext } from './types.js';

const PROVIDER = 'Microsoft.DBforPostgreSQL';
const RESOURCE_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers/virtualEndpoints';
const ENDPOINTS_PATH =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/virtualendpoints';
const ENDPOINT_PATH = `${ENDPOINTS_PATH}/{virtualEndpointName}`;
/** `VirtualEndpointNameParameter` of VirtualEndpoints.json (2025-08-01): 3 to 63 characters. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

/**
 * One pair of virtual endpoints ("Virtual endpoints for read replicas",
 * https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-virtual-endpoints):
 * the writer endpoint "always points to the current primary server"; the read-only endpoint targets
 * one server, a replica or the primary. "You can create only one writer and one read-only endpoint
 * per primary and one of its replica."
 */
export interface LocalVirtualEndpoint {
  name: string;
  /** The server the writer endpoint points to: the current primary, under which the pair is managed. */
  writer: string;
  /** The server the read-only endpoint points to. */
  reader: string;
}

/** Locates a server the way the flexible-server routes do (404s included). */
export type ServerLookup = (params: Record<string, string>) => LocalFlexibleServer;

/**
 * The virtual endpoints of the stack's servers, shared by their routes and by the promotion, which
 * moves them as Azure documents (`afterPromotion`).
 */
export class VirtualEndpointStore {
  readonly endpoints: LocalVirtualEndpoint[] = [];

  /** The pair managed under `server`, if any. */
  ofServer(server: string): LocalVirtualEndpoint | undefined {
    return this.endpoints.find((e) => same(e.writer, server));
  }

  /**
   * Whether a switchover to `replica` may run: "it's necessary to have a virtual endpoint configured
   * for both the current primary as the writer endpoint, and the replica intended for promotion as
   * the reader endpoint. The promotion is successful only if the targeted replica is included in the
   * reader endpoint configuration" ("Promote read replicas",
   * https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote).
   */
  supportsSwitchover(primary: string, replica: string): boolean {
    const pair = this.ofServer(primary);
    return pair !== undefined && same(pair.reader, replica);
  }

  /**
   * Moves the endpoints after a promotion, per the table "Virtual Endpoints and Promote Behavior" of
   * the virtual-endpoints page: on "promote to primary server" the writer points to the new primary
   * and a read-only endpoint on the replica points to the new replica (the former primary); on
   * "promote to independent server" the writer is unchanged and a read-only endpoint on the promoted
   * replica points to the primary.
   */
  afterPromotion(mode: 'Standalone' | 'Switchover', formerPrimary: string, promoted: string): void {
    const pair = this.ofServer(formerPrimary);
    if (!pair || !same(pair.reader, promoted)) return;
    if (mode === 'Switchover') {
      pair.writer = promoted;
      pair.reader = formerPrimary;
    } else {
      pair.reader = formerPrimary;
    }
  }
}

/**
 * `Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints` (VirtualEndpoints.json, 2025-08-01, in
 * Azure/azure-rest-api-specs `specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/`):
 * create (PUT) and update (PATCH) are LROs in the Azure-AsyncOperation style, delete an LRO whose
 * result is read from `Location`; get and list answer at once.
 *
 * "All operations involving virtual endpoints ... are performed in the context of the primary server"
 * (virtual-endpoints page): the pair lives under the server its writer points to, and moves to the new
 * primary after a switchover. `properties.members` lists the writer's target, then the read-only
 * endpoint's when it is another server: the Azure CLI's recorded scenario test
 * (azure-cli `src/azure-cli/azure/cli/command_modules/postgresql/tests/latest/test_postgres_flexible_commands_replica.py`)
 * creates the pair with `--members <primary>` and sees one member, updates it with `--members <replica>`
 * and sees two. `virtualEndpoints` are `<name>.reader.postgres.database.azure.com` and
 * `<name>.writer.postgres.database.azure.com`, in that order (VirtualEndpointsGet.json).
 */
export function virtualEndpointRoutes(
  ctx: EmulatorContext,
  store: VirtualEndpointStore,
  requireServer: ServerLookup,
): ArmRoute[] {
  /** The server of the request (its region up), the endpoint name asked for, and the server's pair. */
  const locate = (request: ArmRequest) => {
    const server = requireServer(request.params);
    ctx.assertRegionUp(server.region, PROVIDER);
    const name = request.params.virtualEndpointName ?? '';
    const pair = store.ofServer(server.name);
    return { server, name, pair, named: pair !== undefined && same(pair.name, name) };
  };

  /** Creates or updates the pair under a primary server, as an LRO. */
  const write = (request: ArmRequest, mustExist: boolean) => {
    const { server, name, pair: existing, named } = locate(request);
    if (!NAME_PATTERN.test(name) || name.length < 3 || name.endsWith('-')) {
      throw invalidRequestContent(
        `the virtual endpoint name '${name}' must be 3 to 63 letters, digits or hyphens, start with a letter or digit and not end with a hyphen.`,
      );
    }
    if (mustExist && !named) throw endpointNotFound(name, server);
    if (server.role !== 'primary') {
      // The emulator's own code and message: Azure documents that these operations target the
      // primary, not what it answers otherwise.
      throw new ArmError(
        400,
        'VirtualEndpointOnReplica',
        `Server '${server.name}' is a read replica: virtual endpoints are created and changed on the primary server.`,
      );
    }
    const properties = readProperties(request.body, !mustExist);
    const reader = readerOf(ctx, server, properties.members, existing);
    if (existing && !named) {
      // "You can create only one writer and one read-only endpoint per primary": the emulator's own code.
      throw new ArmError(
        409,
        'VirtualEndpointAlreadyExists',
        `Server '${server.name}' already has the virtual endpoint '${existing.name}'; a primary has only one pair. Update or delete it.`,
      );
    }
    const operation = ctx.lro.begin({
      provider: PROVIDER,
      location: ctx.locationOf(server.region),
      resourceGroup: server.resourceGroup,
      apiVersion: request.apiVersion,
      run: async () => {
        const current = store.ofServer(server.name);
        if (current) current.reader = reader;
        else store.endpoints.push({ name, writer: server.name, reader });
      },
      result: () => {
        const pair = store.ofServer(server.name) as LocalVirtualEndpoint;
        return { status: 200, body: endpointBody(ctx, pair, server) };
      },
    });
    return ctx.lro.accepted(operation);
  };

  return [
    {
      method: 'PUT',
      pattern: ENDPOINT_PATH,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/write',
      handler: async (request) => write(request, false),
    },
    {
      method: 'PATCH',
      pattern: ENDPOINT_PATH,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/write',
      handler: async (request) => write(request, true),
    },
    {
      method: 'GET',
      pattern: ENDPOINT_PATH,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/read',
      handler: async (request) => {
        const { server, name, pair, named } = locate(request);
        if (!pair || !named) throw endpointNotFound(name, server);
        return { status: 200, body: endpointBody(ctx, pair, server) };
      },
    },
    {
      method: 'GET',
      pattern: ENDPOINTS_PATH,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/read',
      handler: async (request) => {
        const { server, pair } = locate(request);
        // The Azure CLI's recorded scenario test (see above) expects `virtual-endpoint list` to fail
        // once the server's pair is deleted: a server without one answers an error, not an empty list.
        if (!pair) throw endpointNotFound('', server);
        return { status: 200, body: { value: [endpointBody(ctx, pair, server)] } };
      },
    },
    {
      method: 'DELETE',
      pattern: ENDPOINT_PATH,
      action: 'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/delete',
      handler: async (request) => {
        const { server, pair, named } = locate(request);
        if (!pair || !named) return { status: 204 };
        const operation = ctx.lro.begin({
          provider: PROVIDER,
          location: ctx.locationOf(server.region),
          resourceGroup: server.resourceGroup,
          apiVersion: request.apiVersion,
          run: async () => {
            const index = store.endpoints.indexOf(pair);
            if (index >= 0) store.endpoints.splice(index, 1);
          },
        });
        return ctx.lro.accepted(operation);
      },
    },
  ];
}

function readProperties(body: unknown, create: boolean): { members: string[] | undefined } {
  const properties = (body as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!properties || typeof properties !== 'object') {
    throw invalidRequestContent(
      'a virtual endpoint needs {"properties":{"endpointType":"ReadWrite","members":[...]}}.',
    );
  }
  const { endpointType, members } = properties;
  // VirtualEndpointType has the single value ReadWrite.
  if ((create || endpointType !== undefined) && endpointType !== 'ReadWrite') {
    throw invalidRequestContent(`properties.endpointType must be ReadWrite; got '${String(endpointType)}'.`);
  }
  if (members === undefined && !create) return { members: undefined };
  if (!Array.isArray(members) || members.length === 0 || members.some((m) => typeof m !== 'string')) {
    throw invalidRequestContent('properties.members must list the server the read-only endpoint points to.');
  }
  return { members: members as string[] };
}

/**
 * The target of the read-only endpoint: the one member that is not the primary, else the primary
 * itself. "It can only target one server at a time"; it points "either to a read replica or the
 * primary server" (virtual-endpoints page). Refusals carry the emulator's own code.
 */
function readerOf(
  ctx: EmulatorContext,
  primary: LocalFlexibleServer,
  members: string[] | undefined,
  existing: LocalVirtualEndpoint | undefined,
): string {
  if (members === undefined) return existing?.reader ?? primary.name;
  const others = [...new Set(members.filter((m) => !same(m, primary.name)).map((m) => m.toLowerCase()))];
  if (others.length > 1) {
    throw new ArmError(
      400,
      'InvalidVirtualEndpointMembers',
      `The read-only endpoint can target one server at a time; got ${others.join(', ')}.`,
    );
  }
  const target = others[0];
  if (target === undefined) return primary.name;
  const replica = ctx.options.servers.find(
    (s) => same(s.name, target) && s.role === 'replica' && same(s.sourceServer ?? '', primary.name),
  );
  if (!replica) {
    throw new ArmError(
      400,
      'InvalidVirtualEndpointMembers',
      `Server '${target}' is not a read replica of '${primary.name}': the read-only endpoint can only point to the primary or one of its replicas.`,
    );
  }
  return replica.name;
}

function endpointBody(
  ctx: EmulatorContext,
  pair: LocalVirtualEndpoint,
  server: LocalFlexibleServer,
): Record<string, unknown> {
  const members = same(pair.reader, pair.writer) ? [pair.writer] : [pair.writer, pair.reader];
  return {
    properties: {
      endpointType: 'ReadWrite',
      members,
      virtualEndpoints: [
        `${pair.name}.reader.postgres.database.azure.com`,
        `${pair.name}.writer.postgres.database.azure.com`,
      ],
    },
    id: `/subscriptions/${ctx.options.subscriptionId}/resourceGroups/${server.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server.name}/virtualEndpoints/${pair.name}`,
    name: pair.name,
    type: RESOURCE_TYPE,
  };
}

function endpointNotFound(name: string, server: LocalFlexibleServer): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    name
      ? `The Resource '${RESOURCE_TYPE}/${name}' under server '${server.name}' in resource group '${server.resourceGroup}' was not found.`
      : `Server '${server.name}' in resource group '${server.resourceGroup}' has no virtual endpoints.`,
  );
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
