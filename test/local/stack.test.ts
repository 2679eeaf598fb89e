import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('the local stack, through the Azure SDK', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the primary storage account as RA-GRS with hierarchical namespace and live geo-replication', async () => {
    const arm = stack.clients.storageManagement(stack.names.subscriptionId);
    const account = await arm.storageAccounts.getProperties(
      stack.names.primaryResourceGroup,
      stack.names.primaryStorageAccount,
      { expand: 'geoReplicationStats' },
    );
    expect(account.sku?.name).toBe('Standard_RAGRS');
    expect(account.isHnsEnabled).toBe(true);
    expect(account.primaryLocation).toBe(stack.names.regions.primary);
    expect(account.secondaryLocation).toBe(stack.names.regions.dr);
    expect(account.geoReplicationStats?.status).toBe('Live');
    const lag = Date.now() - (account.geoReplicationStats?.lastSyncTime?.getTime() ?? 0);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(60_000);
    // The endpoints ARM returns are the ones the data plane answers on.
    const blob = account.primaryEndpoints?.blob ?? '';
    expect(blob.replace(/\/$/, '')).toBe(stack.clients.blobEndpoint(stack.names.primaryStorageAccount));
    expect(account.secondaryEndpoints?.blob?.replace(/\/$/, '')).toBe(
      stack.clients.blobEndpoint(stack.names.primaryStorageAccount, true),
    );
  });

  it('serves data written to the primary on the read-only secondary endpoint', async () => {
    const { primaryStorageAccount, container } = stack.names;
    const primary = stack.clients.blobService(primaryStorageAccount).getContainerClient(container);
    await primary.getBlockBlobClient('kyvos/engine_work/probe.txt').upload('hello', 5);
    const secondary = stack.clients
      .blobService(primaryStorageAccount, { secondary: true })
      .getContainerClient(container);
    const downloaded = await secondary.getBlockBlobClient('kyvos/engine_work/probe.txt').downloadToBuffer();
    expect(downloaded.toString()).toBe('hello');
    await expect(
      secondary.getBlockBlobClient('written-to-secondary.txt').upload('x', 1),
    ).rejects.toMatchObject({
      statusCode: 403,
    });
  });

  it('replicates a row from the primary server to the replica, which ARM reports as an Active async replica', async () => {
    const pg = stack.clients.postgresManagement(stack.names.subscriptionId);
    const replica = await pg.servers.get(stack.names.drResourceGroup, stack.names.replicaPostgresServer);
    expect(replica.replica?.role).toBe('AsyncReplica');
    expect(replica.replica?.replicationState).toBe('Active');
    expect(replica.state).toBe('Ready');
    const replicas = [];
    for await (const r of pg.replicas.listByServer(
      stack.names.primaryResourceGroup,
      stack.names.primaryPostgresServer,
    )) {
      replicas.push(r.name);
    }
    expect(replicas).toEqual([stack.names.replicaPostgresServer]);

    await stack.postgres.primary.query(
      'CREATE TABLE IF NOT EXISTS stack_probe (id int primary key, note text)',
    );
    await stack.postgres.primary.query("INSERT INTO stack_probe VALUES (1, 'from the primary')");
    let rows: Array<{ note: string }> = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await stack.postgres.replica
        .query<{ note: string }>('SELECT note FROM stack_probe WHERE id = 1')
        .catch(() => []);
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows[0]?.note).toBe('from the primary');
  });

  it('reads and writes Key Vault secrets seeded with the DR configuration', async () => {
    const secrets = stack.clients.secrets(stack.descriptor.keyVaultUrl);
    const name = await secrets.getSecret('kyvos-dr-primary-storage-account');
    expect(name.value).toBe(stack.names.primaryStorageAccount);
    await secrets.setSecret('kyvos-dr-stack-test', 'v1');
    await secrets.setSecret('kyvos-dr-stack-test', 'v2');
    expect((await secrets.getSecret('kyvos-dr-stack-test')).value).toBe('v2');
  });

  it('shows a storage replication pause as a frozen lastSyncTime on both planes', async () => {
    stack.pauseStorageReplication();
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      const arm = stack.clients.storageManagement(stack.names.subscriptionId);
      const account = await arm.storageAccounts.getProperties(
        stack.names.primaryResourceGroup,
        stack.names.primaryStorageAccount,
        { expand: 'geoReplicationStats' },
      );
      const armLag = Date.now() - (account.geoReplicationStats?.lastSyncTime?.getTime() ?? Date.now());
      expect(armLag).toBeGreaterThanOrEqual(1_000);
      const stats = await stack.clients
        .blobService(stack.names.primaryStorageAccount, { secondary: true })
        .getStatistics();
      const dataLag = Date.now() - (stats.geoReplication?.lastSyncOn?.getTime() ?? Date.now());
      expect(dataLag).toBeGreaterThanOrEqual(1_000);
    } finally {
      stack.resumeStorageReplication();
    }
  });

  it("makes every blob request, and a copy's call back to its source, wait the storage latency", async () => {
    const source = stack.clients
      .blobService(stack.names.primaryStorageAccount)
      .getContainerClient(stack.names.container);
    const destination = stack.clients
      .blobService(stack.names.drStorageAccount)
      .getContainerClient('latency-test');
    await destination.createIfNotExists();
    await source.getBlockBlobClient('latency/probe.txt').upload('probe', 5);
    const sas = await stack.clients
      .secrets(stack.descriptor.keyVaultUrl)
      .getSecret(stack.names.sourceSasSecret);
    const sourceUrl = `${source.getBlobClient('latency/probe.txt').url}?${sas.value?.replace(/^\?/, '')}`;
    stack.faults.storageLatencyMs = 300;
    try {
      let started = performance.now();
      await source.getBlobClient('latency/probe.txt').getProperties();
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      started = performance.now();
      await destination.getBlockBlobClient('probe.txt').syncCopyFromURL(sourceUrl);
      // The copy request, then Azurite's read of the source through the front.
      expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    } finally {
      stack.faults.storageLatencyMs = 0;
      await destination.deleteIfExists();
      await source.getBlobClient('latency/probe.txt').deleteIfExists();
    }
  });

  it('makes the secondary endpoint unavailable while the primary still answers', async () => {
    stack.setSecondaryUnavailable(true);
    try {
      const { primaryStorageAccount, container } = stack.names;
      await expect(
        stack.clients
          .blobService(primaryStorageAccount, { secondary: true })
          .getContainerClient(container)
          .exists(),
      ).rejects.toThrow();
      expect(
        await stack.clients.blobService(primaryStorageAccount).getContainerClient(container).exists(),
      ).toBe(true);
      const arm = stack.clients.storageManagement(stack.names.subscriptionId);
      const account = await arm.storageAccounts.getProperties(
        stack.names.primaryResourceGroup,
        primaryStorageAccount,
        { expand: 'geoReplicationStats' },
      );
      expect(account.geoReplicationStats?.status).toBe('Unavailable');
    } finally {
      stack.setSecondaryUnavailable(false);
    }
  });

  it('answers 429 with Retry-After for the next calls, which the SDK retries', async () => {
    stack.throttleArm(2, 429, 0);
    const arm = stack.clients.storageManagement(stack.names.subscriptionId);
    const account = await arm.storageAccounts.getProperties(
      stack.names.primaryResourceGroup,
      stack.names.primaryStorageAccount,
    );
    expect(account.name).toBe(stack.names.primaryStorageAccount);
    expect(stack.faults.armThrottle?.count ?? 0).toBe(0);
  });

  it('pauses database replication so that the replica falls behind', async () => {
    await stack.pauseDatabaseReplication();
    try {
      await stack.postgres.primary.query('CREATE TABLE IF NOT EXISTS lag_probe (id serial primary key)');
      await stack.postgres.primary.query('INSERT INTO lag_probe DEFAULT VALUES');
      await new Promise((r) => setTimeout(r, 500));
      const status = await stack.postgres.replica.status();
      expect(status.replayPaused).toBe(true);
      const [row] = await stack.postgres.replica.query<{ behind: string }>(
        'SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text AS behind',
      );
      expect(Number(row?.behind)).toBeGreaterThan(0);
    } finally {
      await stack.resumeDatabaseReplication();
    }
  });
});

describe('a region outage on the local stack', () => {
  it('takes the primary storage endpoint, database and ARM resources down while the DR side answers', async () => {
    const stack = await startLocalStack();
    try {
      await stack.regionDown('primary');
      const { primaryStorageAccount, container } = stack.names;
      await expect(
        stack.clients.blobService(primaryStorageAccount).getContainerClient(container).exists(),
      ).rejects.toThrow();
      expect(
        await stack.clients
          .blobService(primaryStorageAccount, { secondary: true })
          .getContainerClient(container)
          .exists(),
      ).toBe(true);
      expect((await stack.postgres.primary.status()).running).toBe(false);
      const arm = stack.clients.storageManagement(stack.names.subscriptionId);
      await expect(
        arm.storageAccounts.getProperties(stack.names.primaryResourceGroup, primaryStorageAccount),
      ).rejects.toMatchObject({ statusCode: 503 });
      const pg = stack.clients.postgresManagement(stack.names.subscriptionId);
      const replica = await pg.servers.get(stack.names.drResourceGroup, stack.names.replicaPostgresServer);
      // As on Azure, a replica whose primary is unreachable still reads Active (local/emulator/flexibleServers.ts).
      expect(replica.replica?.replicationState).toBe('Active');
      await stack.regionUp('primary');
      expect(
        await stack.clients.blobService(primaryStorageAccount).getContainerClient(container).exists(),
      ).toBe(true);
    } finally {
      await stack.stop();
    }
  });
});

describe('starting and stopping stacks', () => {
  it('runs two stacks side by side and leaves no process, port or directory behind', async () => {
    const [a, b] = await Promise.all([startLocalStack(), startLocalStack()]);
    const ports = [a, b].flatMap((s) => [
      portOf(s.descriptor.armEndpoint),
      portOf(s.descriptor.keyVaultUrl),
      portOf(s.descriptor.blobEndpointTemplate.replace('{account}', 'x')),
      portOf(s.descriptor.queueEndpointTemplate.replace('{account}', 'x')),
      s.postgres.primary.port,
      s.postgres.replica.port,
    ]);
    expect(new Set(ports).size).toBe(ports.length);
    const dirs = [a.descriptorPath, b.descriptorPath, a.postgres.primary.dataDir, b.postgres.replica.dataDir];
    for (const dir of dirs) expect(existsSync(dir)).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
    // stop() twice is harmless.
    await a.stop();
  });
});
