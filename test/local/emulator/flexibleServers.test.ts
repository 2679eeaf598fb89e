import type {
  PostgreSQLManagementFlexibleServerClient,
  Server,
  VirtualEndpoint,
} from '@azure/arm-postgresql-flexible';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import { type PostgresPair, startPostgresPair, waitFor } from '../../../local/postgres.js';
import type { LocalFlexibleServer, LocalServerSize } from '../../../local/types.js';
import {
  createTestCertificate,
  DR_RG,
  PRIMARY_RG,
  SUBSCRIPTION_ID,
  startTestEmulator,
  type TestEmulator,
  testClients,
} from './helpers.js';

const PRIMARY = 'pg-kyvos';
const REPLICA = 'pg-kyvos-dr';
const POLL = { updateIntervalInMs: 200 };

let tls: StackCertificate;
let pair: PostgresPair | undefined;
let stack: TestEmulator | undefined;

beforeAll(async () => {
  tls = await createTestCertificate();
});

afterEach(async () => {
  await stack?.stop();
  await pair?.stop();
  stack = undefined;
  pair = undefined;
});

/** A PostgreSQL pair behind the emulator, as local/stack.ts wires it. */
async function startStack(
  overrides: { plannedPromoteTimeoutInMs?: number } = {},
  sizes: Partial<Record<'primary' | 'replica', LocalServerSize>> = {},
) {
  pair = await startPostgresPair({ primaryName: PRIMARY, replicaName: REPLICA });
  const servers: LocalFlexibleServer[] = [
    {
      name: PRIMARY,
      resourceGroup: PRIMARY_RG,
      region: 'primary',
      role: 'primary',
      instance: pair.primary,
      stoppedByArm: false,
      ...(sizes.primary ? { size: sizes.primary } : {}),
    },
    {
      name: REPLICA,
      resourceGroup: DR_RG,
      region: 'dr',
      role: 'replica',
      sourceServer: PRIMARY,
      instance: pair.replica,
      stoppedByArm: false,
      ...(sizes.replica ? { size: sizes.replica } : {}),
    },
  ];
  stack = await startTestEmulator(tls, { servers, ...overrides });
  const client = testClients(stack, tls).postgresManagement(SUBSCRIPTION_ID);
  return { pair, stack, servers, client };
}

async function inRecovery(instance: PostgresPair['replica']): Promise<boolean> {
  const [row] = await instance.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
  return row?.r === true;
}

describe('PostgreSQL flexible servers through the control-plane emulator', () => {
  it('answers the primary and its replica in the ServersGet/ReplicasListByServer shapes', async () => {
    const { client, pair } = await startStack();
    const primary = await client.servers.get(PRIMARY_RG, PRIMARY);
    expect(primary).toMatchObject({
      id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${PRIMARY}`,
      name: PRIMARY,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers',
      location: 'centralus',
      sku: { name: 'Standard_D4ds_v5', tier: 'GeneralPurpose' },
      state: 'Ready',
      fullyQualifiedDomainName: pair.primary.host,
      replica: { role: 'Primary', capacity: 5 },
      replicationRole: 'Primary',
    });
    expect(primary.version).toMatch(/^\d+$/);
    expect(primary.sourceServerResourceId).toBeUndefined();

    const replica = await client.servers.get(DR_RG, REPLICA);
    expect(replica).toMatchObject({
      location: 'eastus2',
      state: 'Ready',
      replica: { role: 'AsyncReplica', capacity: 0, replicationState: 'Active' },
      replicationRole: 'AsyncReplica',
      sourceServerResourceId: primary.id,
    });

    const listed: Server[] = [];
    for await (const server of client.replicas.listByServer(PRIMARY_RG, PRIMARY)) listed.push(server);
    expect(listed.map((s) => s.name)).toEqual([REPLICA]);
  });

  it('a planned standalone promotion makes the replica a writable primary and leaves the old primary writable', async () => {
    const { client, pair, servers } = await startStack();
    await pair.primary.query('CREATE TABLE before_promote (id int)');
    await pair.primary.query('INSERT INTO before_promote VALUES (1)');

    const promoted = await client.servers.beginUpdateAndWait(
      DR_RG,
      REPLICA,
      { replica: { promoteMode: 'Standalone', promoteOption: 'Planned' } },
      POLL,
    );
    expect(promoted.replica?.role).toBe('Primary');
    expect(await inRecovery(pair.replica)).toBe(false);
    // Planned: everything the primary had committed is there.
    expect(await pair.replica.query('SELECT id FROM before_promote')).toEqual([{ id: 1 }]);
    await pair.replica.query('CREATE TABLE after_promote (id int)');
    await pair.replica.query('INSERT INTO after_promote VALUES (1)');

    const server = await client.servers.get(DR_RG, REPLICA);
    expect(server.replica?.role).toBe('Primary');
    expect(server.sourceServerResourceId).toBeUndefined();
    expect(servers[1]).toMatchObject({ role: 'primary', sourceServer: undefined });
    await pair.primary.query('INSERT INTO before_promote VALUES (2)');
    const left: Server[] = [];
    for await (const s of client.replicas.listByServer(PRIMARY_RG, PRIMARY)) left.push(s);
    expect(left).toEqual([]);

    // The Azure-AsyncOperation status was polled to Succeeded.
    const asyncPolls = stack?.requests.filter((r) => r.path.includes('/azureAsyncOperation/')) ?? [];
    expect(asyncPolls.length).toBeGreaterThan(0);
    expect(asyncPolls.every((r) => r.status === 200)).toBe(true);
  });

  it('a forced promotion succeeds at once while the primary is down', async () => {
    const { client, pair } = await startStack();
    await pair.primary.stop('immediate');
    await client.servers.beginUpdateAndWait(
      DR_RG,
      REPLICA,
      { replica: { promoteMode: 'Standalone', promoteOption: 'Forced' } },
      POLL,
    );
    expect(await inRecovery(pair.replica)).toBe(false);
    await pair.replica.query('CREATE TABLE written_after_forced (id int)');
    expect((await client.servers.get(PRIMARY_RG, PRIMARY)).state).toBe('Inaccessible');
  });

  it('refuses a planned promotion while the primary is down, at the request, and says to use Forced', async () => {
    const { client, pair } = await startStack();
    await pair.primary.stop('immediate');
    // Azure's replicationState is the service's view of the link: the replica still reads Active.
    expect((await client.servers.get(DR_RG, REPLICA)).replica?.replicationState).toBe('Active');
    expect((await client.servers.get(PRIMARY_RG, PRIMARY)).state).toBe('Inaccessible');
    const error = await client.servers
      .beginUpdateAndWait(
        DR_RG,
        REPLICA,
        { replica: { promoteMode: 'Standalone', promoteOption: 'Planned' } },
        POLL,
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 409, code: 'ReadReplicaPromotionFailed' });
    expect((error as Error).message).toContain(
      `its primary server "${PRIMARY}" is Inaccessible. A planned promote needs both servers available; use promoteOption Forced`,
    );
    expect(await inRecovery(pair.replica)).toBe(true);
    expect((await client.servers.get(DR_RG, REPLICA)).replica?.role).toBe('AsyncReplica');
  });

  it('during a primary region outage a Planned promotion is refused and a Forced one promotes', async () => {
    const { client, pair, stack } = await startStack();
    stack.options.faults.regionsDown.add('primary');
    await pair.primary.stop('immediate');
    expect((await client.servers.get(DR_RG, REPLICA)).replica?.replicationState).toBe('Active');
    const planned = await client.servers
      .beginUpdateAndWait(
        DR_RG,
        REPLICA,
        { replica: { promoteMode: 'Standalone', promoteOption: 'Planned' } },
        POLL,
      )
      .catch((e: unknown) => e);
    expect(planned).toMatchObject({ statusCode: 409, code: 'ReadReplicaPromotionFailed' });
    expect((planned as Error).message).toContain(
      `its primary server "${PRIMARY}" is unreachable (its region is down). A planned promote needs both servers available; use promoteOption Forced if the primary region is down.`,
    );
    expect(await inRecovery(pair.replica)).toBe(true);

    await client.servers.beginUpdateAndWait(
      DR_RG,
      REPLICA,
      { replica: { promoteMode: 'Standalone', promoteOption: 'Forced' } },
      POLL,
    );
    expect(await inRecovery(pair.replica)).toBe(false);
    expect((await client.servers.get(DR_RG, REPLICA)).replica?.role).toBe('Primary');
  });

  it('a planned promotion waits for the replica to replay what the primary committed, and fails when it cannot', async () => {
    const { client, pair } = await startStack({ plannedPromoteTimeoutInMs: 1_500 });
    await pair.replica.pauseReplay();
    // A pause request takes effect at the next WAL record.
    await waitFor(
      async () => {
        const [row] = await pair.replica.query<{ state: string }>(
          'SELECT pg_get_wal_replay_pause_state() AS state',
        );
        return row?.state === 'paused';
      },
      { timeoutInMs: 10_000, description: 'WAL replay to be paused on the replica' },
    );
    await pair.primary.query('CREATE TABLE not_yet_replayed (id int)');
    const error = await client.servers
      .beginUpdateAndWait(
        DR_RG,
        REPLICA,
        { replica: { promoteMode: 'Standalone', promoteOption: 'Planned' } },
        POLL,
      )
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('has not replayed up to LSN');
    expect((error as Error).message).toContain('WAL replay is paused');
    expect(await inRecovery(pair.replica)).toBe(true);

    // Resumed in time, the same request succeeds with the table there.
    setTimeout(() => void pair.replica.resumeReplay(), 300);
    await client.servers.beginUpdateAndWait(
      DR_RG,
      REPLICA,
      { replica: { promoteMode: 'Standalone', promoteOption: 'Planned' } },
      POLL,
    );
    expect(await pair.replica.query('SELECT count(*)::int AS n FROM not_yet_replayed')).toEqual([{ n: 0 }]);
  });

  it('a planned switchover swaps the roles: the old primary follows the new one', async () => {
    const { client, pair, servers } = await startStack();
    await createEndpoint(client, REPLICA);
    await client.servers.beginUpdateAndWait(
      DR_RG,
      REPLICA,
      { replica: { promoteMode: 'Switchover', promoteOption: 'Planned' } },
      POLL,
    );
    expect(servers.map((s) => [s.name, s.role, s.sourceServer])).toEqual([
      [PRIMARY, 'replica', REPLICA],
      [REPLICA, 'primary', undefined],
    ]);
    expect(await inRecovery(pair.replica)).toBe(false);
    expect(await inRecovery(pair.primary)).toBe(true);
    const oldPrimary = await client.servers.get(PRIMARY_RG, PRIMARY);
    expect(oldPrimary.replica?.role).toBe('AsyncReplica');
    expect(oldPrimary.replica?.replicationState).toBe('Active');
    expect(oldPrimary.sourceServerResourceId).toContain(`/flexibleServers/${REPLICA}`);
    const listed: Server[] = [];
    for await (const s of client.replicas.listByServer(DR_RG, REPLICA)) listed.push(s);
    expect(listed.map((s) => s.name)).toEqual([PRIMARY]);
    // The writer endpoint follows the new primary, the read-only one the new replica.
    const endpoint = await client.virtualEndpoints.get(DR_RG, REPLICA, 'kyvos');
    expect(endpoint.members).toEqual([REPLICA, PRIMARY]);
    expect(await listEndpoints(client, PRIMARY_RG, PRIMARY).catch((e: unknown) => e)).toMatchObject({
      statusCode: 404,
    });
  });

  it('stops and starts a server; a stopped server reports state Stopped', async () => {
    const { client, pair, servers } = await startStack();
    await client.servers.beginStopAndWait(PRIMARY_RG, PRIMARY, POLL);
    expect(pair.primary.isRunning()).toBe(false);
    expect(servers[0]?.stoppedByArm).toBe(true);
    expect((await client.servers.get(PRIMARY_RG, PRIMARY)).state).toBe('Stopped');

    await client.servers.beginStartAndWait(PRIMARY_RG, PRIMARY, POLL);
    expect(pair.primary.isRunning()).toBe(true);
    expect((await client.servers.get(PRIMARY_RG, PRIMARY)).state).toBe('Ready');
  });

  it('refuses to promote a server that is not a replica, and answers 503 for a region in outage', async () => {
    const { client, stack } = await startStack();
    const notReplica = await client.servers
      .beginUpdateAndWait(
        PRIMARY_RG,
        PRIMARY,
        { replica: { promoteMode: 'Standalone', promoteOption: 'Forced' } },
        POLL,
      )
      .catch((e: unknown) => e);
    expect(notReplica).toMatchObject({ statusCode: 400, code: 'ServerIsNotReadReplica' });

    stack.options.faults.regionsDown.add('primary');
    const noRetry = testClients(stack, tls, { retry: { maxRetries: 0 } }).postgresManagement(SUBSCRIPTION_ID);
    const down = await noRetry.servers.get(PRIMARY_RG, PRIMARY).catch((e: unknown) => e);
    expect(down).toMatchObject({ statusCode: 503, code: 'ServiceUnavailable' });
    // The replica lives in the DR region and still answers.
    expect((await noRetry.servers.get(DR_RG, REPLICA)).name).toBe(REPLICA);
  });

  it('an injected LRO failure fails the promotion without touching the replica', async () => {
    const { client, pair, stack } = await startStack();
    stack.options.faults.lroFailures = { count: 1, code: 'InternalServerError', message: 'Injected.' };
    const error = await client.servers
      .beginUpdateAndWait(
        DR_RG,
        REPLICA,
        { replica: { promoteMode: 'Standalone', promoteOption: 'Forced' } },
        POLL,
      )
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'The long-running operation has failed. InternalServerError. Injected.',
    );
    expect(await inRecovery(pair.replica)).toBe(true);
  });
});

type ManagementClient = PostgreSQLManagementFlexibleServerClient;

async function listEndpoints(client: ManagementClient, resourceGroup: string, server: string) {
  const listed: VirtualEndpoint[] = [];
  for await (const e of client.virtualEndpoints.listByServer(resourceGroup, server)) listed.push(e);
  return listed;
}

/** Creates the virtual endpoint `kyvos` on the primary, its read-only endpoint on `reader`. */
function createEndpoint(client: ManagementClient, reader: string) {
  return client.virtualEndpoints.beginCreateAndWait(
    PRIMARY_RG,
    PRIMARY,
    'kyvos',
    { endpointType: 'ReadWrite', members: [reader] },
    POLL,
  );
}

function promote(client: ManagementClient, promoteMode: string, promoteOption: string) {
  return client.servers
    .beginUpdateAndWait(DR_RG, REPLICA, { replica: { promoteMode, promoteOption } }, POLL)
    .catch((e: unknown) => e);
}

const SMALL: LocalServerSize = { skuName: 'Standard_D2ds_v5', tier: 'GeneralPurpose', storageSizeGB: 64 };
const LARGE: LocalServerSize = { skuName: 'Standard_D8ds_v5', tier: 'GeneralPurpose', storageSizeGB: 256 };

describe('promotion prerequisites: virtual endpoints and server symmetry', () => {
  it('reports each server with its own compute and storage', async () => {
    const { client } = await startStack({}, { replica: SMALL });
    expect(await client.servers.get(PRIMARY_RG, PRIMARY)).toMatchObject({
      sku: { name: 'Standard_D4ds_v5', tier: 'GeneralPurpose' },
      storage: { storageSizeGB: 128, tier: 'P10', iops: 500 },
    });
    expect(await client.servers.get(DR_RG, REPLICA)).toMatchObject({
      sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
      storage: { storageSizeGB: 64, tier: 'P6', iops: 240 },
    });
  });

  it('creates, reads, lists and deletes the virtual endpoints of a primary in the VirtualEndpoints shapes', async () => {
    const { client } = await startStack();
    expect(await listEndpoints(client, PRIMARY_RG, PRIMARY).catch((e: unknown) => e)).toMatchObject({
      statusCode: 404,
    });
    const created = await createEndpoint(client, PRIMARY);
    expect(created).toMatchObject({
      name: 'kyvos',
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/virtualEndpoints',
      id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${PRIMARY}/virtualEndpoints/kyvos`,
      endpointType: 'ReadWrite',
      members: [PRIMARY],
      virtualEndpoints: [
        'kyvos.reader.postgres.database.azure.com',
        'kyvos.writer.postgres.database.azure.com',
      ],
    });
    await client.virtualEndpoints.beginUpdateAndWait(
      PRIMARY_RG,
      PRIMARY,
      'kyvos',
      { members: [REPLICA] },
      POLL,
    );
    expect((await client.virtualEndpoints.get(PRIMARY_RG, PRIMARY, 'kyvos')).members).toEqual([
      PRIMARY,
      REPLICA,
    ]);
    expect((await listEndpoints(client, PRIMARY_RG, PRIMARY)).map((e) => e.name)).toEqual(['kyvos']);

    const second = await client.virtualEndpoints
      .beginCreateAndWait(
        PRIMARY_RG,
        PRIMARY,
        'other',
        { endpointType: 'ReadWrite', members: [REPLICA] },
        POLL,
      )
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ statusCode: 409 });
    const onReplica = await client.virtualEndpoints
      .beginCreateAndWait(DR_RG, REPLICA, 'kyvos2', { endpointType: 'ReadWrite', members: [REPLICA] }, POLL)
      .catch((e: unknown) => e);
    expect(onReplica).toMatchObject({ statusCode: 400 });

    await client.virtualEndpoints.beginDeleteAndWait(PRIMARY_RG, PRIMARY, 'kyvos', POLL);
    expect(
      await client.virtualEndpoints.get(PRIMARY_RG, PRIMARY, 'kyvos').catch((e: unknown) => e),
    ).toMatchObject({ statusCode: 404 });
  });

  it('refuses a switchover unless a virtual endpoint has the primary as writer and the replica as reader', async () => {
    const { client, pair, servers } = await startStack();
    const none = await promote(client, 'Switchover', 'Planned');
    expect(none).toMatchObject({ statusCode: 409, code: 'ReadReplicaPromotionFailed' });
    expect((none as Error).message).toContain(
      `promoteMode Switchover needs a virtual endpoint on the primary server "${PRIMARY}" whose read-only endpoint points to "${REPLICA}"`,
    );
    // A read-only endpoint on the primary does not do.
    await createEndpoint(client, PRIMARY);
    expect(await promote(client, 'Switchover', 'Forced')).toMatchObject({
      code: 'ReadReplicaPromotionFailed',
    });
    expect(await inRecovery(pair.replica)).toBe(true);
    expect(servers.map((s) => s.role)).toEqual(['primary', 'replica']);
  });

  it('refuses a switchover between servers of different sizes, even to a larger replica; standalone takes it', async () => {
    const { client, pair } = await startStack({}, { replica: LARGE });
    await createEndpoint(client, REPLICA);
    const error = await promote(client, 'Switchover', 'Planned');
    expect(error).toMatchObject({ statusCode: 409, code: 'ReadReplicaPromotionFailed' });
    expect((error as Error).message).toContain(
      'compute size and storage size must be identical to the primary',
    );
    expect(await inRecovery(pair.replica)).toBe(true);

    expect(await promote(client, 'Standalone', 'Planned')).toMatchObject({ replica: { role: 'Primary' } });
    // The read-only endpoint of the promoted replica points to the primary again.
    expect((await client.virtualEndpoints.get(PRIMARY_RG, PRIMARY, 'kyvos')).members).toEqual([PRIMARY]);
  });

  it('refuses a forced promotion of a smaller replica while the primary region is up, and takes it during its outage', async () => {
    const { client, pair, stack } = await startStack({}, { replica: SMALL });
    for (const option of ['Forced', 'Planned']) {
      const error = await promote(client, 'Standalone', option);
      expect(error).toMatchObject({ statusCode: 409, code: 'ReadReplicaPromotionFailed' });
      expect((error as Error).message).toContain(
        `its compute size and storage size must be at least the primary server "${PRIMARY}"'s (Standard_D4ds_v5 (GeneralPurpose), 128 GB of storage; the replica has Standard_D2ds_v5 (GeneralPurpose), 64 GB of storage). Scale the replica.`,
      );
    }
    expect(await inRecovery(pair.replica)).toBe(true);

    stack.options.faults.regionsDown.add('primary');
    await pair.primary.stop('immediate');
    expect(await promote(client, 'Standalone', 'Forced')).toMatchObject({ replica: { role: 'Primary' } });
    expect(await inRecovery(pair.replica)).toBe(false);
  });
});
