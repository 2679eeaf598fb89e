import type { StorageManagementClient } from '@azure/arm-storage';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { createClientFactory } from '../../src/lib/clients/ClientFactory.js';
import { parseAcl } from '../../src/lib/copy/accessControl.js';
import { primaryAccountSas, waitFor } from '../helpers/healthStack.js';

const CONTAINER = 'failover';

/** Customer-managed account failover of the stack's RA-GRS, HNS primary account, as Azure documents it. */
describe('account failover on the local stack', () => {
  let stack: LocalStack;
  let arm: StorageManagementClient;
  let container: ContainerClient;
  let account: string;
  let resourceGroup: string;

  beforeAll(async () => {
    // Long enough for a write to be tried while a failover runs.
    stack = await startLocalStack({ storageOperationDurationInMs: 3_000 });
    account = stack.names.primaryStorageAccount;
    resourceGroup = stack.names.primaryResourceGroup;
    arm = stack.operatorClients().storageManagement(stack.names.subscriptionId);
    container = stack.clients.blobService(account).getContainerClient(CONTAINER);
    await container.createIfNotExists();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const properties = () =>
    arm.storageAccounts.getProperties(resourceGroup, account, { expand: 'geoReplicationStats' });
  const put = (name: string, text: string) =>
    container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
  const text = async (client: ContainerClient, name: string): Promise<string | null> => {
    try {
      return (await client.getBlobClient(name).downloadToBuffer()).toString();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw error;
    }
  };
  const secondary = () =>
    stack.clients
      .blobService(account, {
        secondary: true,
        sas: primaryAccountSas(stack, { permissions: 'rl', expiresOn: new Date(Date.now() + 3_600_000) }),
      })
      .getContainerClient(CONTAINER);

  it('reports canFailover false while geo-replication is not Live, and refuses the failover', async () => {
    stack.setSecondaryUnavailable(true);
    try {
      const stats = (await properties()).geoReplicationStats;
      expect(stats).toMatchObject({ status: 'Unavailable', canFailover: false, canPlannedFailover: false });
      await expect(arm.storageAccounts.failover(resourceGroup, account)).rejects.toMatchObject({
        statusCode: 409,
        code: 'FailoverNotAllowed',
      });
      expect((await properties()).primaryLocation).toBe(stack.names.regions.primary);
    } finally {
      stack.setSecondaryUnavailable(false);
    }
  });

  it('a planned failover waits for the secondary, loses nothing, keeps RA-GRS and survives the old region going down', async () => {
    stack.setStorageReplicationDelay(600_000);
    await put('planned/late.txt', 'late');
    expect(await text(secondary(), 'planned/late.txt')).toBeNull();

    const poller = arm.storageAccounts.failover(resourceGroup, account, { failoverType: 'Planned' });
    await poller.submitted();
    expect((await properties()).failoverInProgress).toBe(true);
    // Read-only while it runs; a client without retries sees the refusal.
    const once = createClientFactory({
      kind: 'local',
      descriptor: stack.descriptor,
      retry: { maxRetries: 0 },
    });
    await expect(
      once
        .blobService(account)
        .getContainerClient(CONTAINER)
        .getBlockBlobClient('planned/refused.txt')
        .upload('x', 1),
    ).rejects.toMatchObject({ statusCode: 503, code: 'ServerBusy' });
    expect(await text(container, 'planned/late.txt')).toBe('late');
    await poller;
    stack.setStorageReplicationDelay(0);

    const after = await properties();
    expect(after).toMatchObject({
      primaryLocation: stack.names.regions.dr,
      secondaryLocation: stack.names.regions.primary,
      sku: { name: 'Standard_RAGRS' },
      geoReplicationStats: { status: 'Live', canFailover: true },
    });
    expect(after.failoverInProgress).toBeFalsy();
    expect(after.lastGeoFailoverTime).toBeInstanceOf(Date);
    expect(await text(container, 'planned/late.txt')).toBe('late');
    expect(await text(secondary(), 'planned/late.txt')).toBe('late');

    // The account lives in the DR region now: the old primary region's outage leaves it up.
    await stack.regionDown('primary');
    try {
      expect(await text(container, 'planned/late.txt')).toBe('late');
      await put('planned/during-outage.txt', 'written');
      // Its secondary is the old primary region now, down with it.
      await expect(secondary().exists()).rejects.toThrow();
    } finally {
      await stack.regionUp('primary');
    }

    // Failback, so that the next scenario starts from the primary region.
    await arm.storageAccounts.failover(resourceGroup, account, { failoverType: 'Planned' });
    expect((await properties()).primaryLocation).toBe(stack.names.regions.primary);
    expect(await text(container, 'planned/during-outage.txt')).toBe('written');
  });

  it('an unplanned failover during a primary region outage serves what the secondary held, in the DR region, as LRS', async () => {
    await put('outage/kept.txt', 'v1');
    const file = stack.clients
      .dataLakeService(account)
      .getFileSystemClient(CONTAINER)
      .getFileClient('outage/kept.txt');
    await file.setAccessControl(parseAcl('user::rw-,user:a1b2:r--,group::r--,mask::r--,other::---'), {
      owner: 'owner-oid',
    });
    await waitFor(
      () => text(secondary(), 'outage/kept.txt'),
      (value) => value === 'v1',
      { what: 'outage/kept.txt on the secondary' },
    );
    stack.pauseStorageReplication();
    // Written after lastSyncTime: the secondary never gets them.
    await put('outage/lost.txt', 'lost');
    await put('outage/kept.txt', 'v2');
    const lastSync = stack.storageLastSyncTime();

    await stack.regionDown('primary');
    await arm.storageAccounts.failover(resourceGroup, account);

    const after = await properties();
    expect(after).toMatchObject({ primaryLocation: stack.names.regions.dr, sku: { name: 'Standard_LRS' } });
    expect(after.geoReplicationStats).toBeUndefined();
    expect(after.secondaryEndpoints).toBeUndefined();
    expect(after.primaryEndpoints?.blob).toBe(
      `${stack.descriptor.blobEndpointTemplate.replace('{account}', account)}/`,
    );
    expect(after.lastGeoFailoverTime?.getTime()).toBeGreaterThan(lastSync.getTime());

    expect(await text(container, 'outage/kept.txt')).toBe('v1');
    expect(await text(container, 'outage/lost.txt')).toBeNull();
    const access = await file.getAccessControl();
    expect(access.owner).toBe('owner-oid');
    expect(access.acl.map((e) => `${e.accessControlType}:${e.entityId}`)).toContain('user:a1b2');
    // Writable in the DR region, and no secondary endpoint any more.
    await put('outage/after.txt', 'after');
    expect(await text(container, 'outage/after.txt')).toBe('after');
    // Even once the old primary region is back, nothing answers at the secondary endpoint.
    await stack.regionUp('primary');
    await expect(secondary().exists()).rejects.toThrow();
  });

  it('is made geo-redundant again by a SKU update within its zone redundancy, and replicates anew', async () => {
    // Continues from the unplanned failover above: LRS in the DR region.
    await expect(
      arm.storageAccounts.update(resourceGroup, account, { sku: { name: 'Standard_ZRS' } }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidValuesForRequestParameters' });
    await expect(
      arm.storageAccounts.update(resourceGroup, account, { sku: { name: 'Standard_RAGZRS' } }),
    ).rejects.toMatchObject({ statusCode: 400 });

    stack.resumeStorageReplication();
    stack.setStorageReplicationDelay(0);
    const updated = await arm.storageAccounts.update(resourceGroup, account, {
      sku: { name: 'Standard_RAGRS' },
    });
    expect(updated).toMatchObject({
      sku: { name: 'Standard_RAGRS' },
      primaryLocation: stack.names.regions.dr,
      secondaryLocation: stack.names.regions.primary,
    });
    const live = await waitFor(properties, (a) => a.geoReplicationStats?.status === 'Live', {
      what: 'the initial sync of the new secondary',
    });
    expect(live.geoReplicationStats).toMatchObject({ canFailover: true });
    expect(live.geoReplicationStats?.lastSyncTime).toBeInstanceOf(Date);
    // What the account held when it was made geo-redundant, and what is written after, are readable
    // at the secondary endpoint, served from the old primary region.
    expect(await text(secondary(), 'outage/after.txt')).toBe('after');
    expect(await text(secondary(), 'outage/lost.txt')).toBeNull();
    await put('outage/replicated.txt', 'again');
    await waitFor(
      () => text(secondary(), 'outage/replicated.txt'),
      (value) => value === 'again',
      { what: 'a write after the initial sync on the secondary' },
    );
  });
});
