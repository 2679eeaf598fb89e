import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { primaryAccountSas, storageSyncedPast, waitFor } from '../helpers/healthStack.js';

const DELAY_MS = 3_000;

describe('the lagging storage secondary of the local stack', () => {
  let stack: LocalStack;
  let primary: ContainerClient;
  let secondary: ContainerClient;
  let sas: string;

  beforeAll(async () => {
    stack = await startLocalStack({ storageReplicationDelayMs: DELAY_MS });
    const { names } = stack;
    sas = primaryAccountSas(stack, { permissions: 'rl', expiresOn: new Date(Date.now() + 3_600_000) });
    primary = stack.clients.blobService(names.primaryStorageAccount).getContainerClient(names.container);
    secondary = stack.clients
      .blobService(names.primaryStorageAccount, { secondary: true, sas })
      .getContainerClient(names.container);
    // The container itself reaches the secondary after the delay, as any write.
    await waitFor(
      () => secondary.exists(),
      (exists) => exists,
      { what: 'the container on the secondary', timeoutInMs: 60_000 },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const put = async (name: string, text: string) => {
    await primary.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    return Date.now();
  };
  const secondaryText = async (name: string): Promise<string | null> => {
    try {
      return (await secondary.getBlobClient(name).downloadToBuffer()).toString();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw error;
    }
  };
  const secondaryNames = async (prefix: string) => {
    const names: string[] = [];
    for await (const blob of secondary.listBlobsFlat({ prefix })) names.push(blob.name);
    return names;
  };
  const syncedPast = (time: number) => storageSyncedPast(stack, time);

  it('lacks a write until lastSyncTime passes it, then reads and lists it', async () => {
    const before = stack.storageLastSyncTime().getTime();
    const ackedAt = await put('lag/new.txt', 'new');
    expect(stack.storageLastSyncTime().getTime()).toBeLessThan(ackedAt);
    expect(await secondaryText('lag/new.txt')).toBeNull();
    expect(await secondaryNames('lag/')).toEqual([]);
    expect(await primary.getBlobClient('lag/new.txt').exists()).toBe(true);

    const lastSync = await syncedPast(ackedAt);
    expect(lastSync).toBeGreaterThan(before);
    expect(lastSync % 1_000).toBe(0);
    expect(await secondaryText('lag/new.txt')).toBe('new');
    expect(await secondaryNames('lag/')).toEqual(['lag/new.txt']);
  });

  it('reports the same lastSyncTime in ARM and in the secondary service stats, lagging by the delay', async () => {
    const { names } = stack;
    const arm = await stack.clients
      .storageManagement(names.subscriptionId)
      .storageAccounts.getProperties(names.primaryResourceGroup, names.primaryStorageAccount, {
        expand: 'geoReplicationStats',
      });
    const stats = await stack.clients
      .blobService(names.primaryStorageAccount, { secondary: true, sas })
      .getStatistics();
    const now = Date.now();
    const armLastSync = arm.geoReplicationStats?.lastSyncTime?.getTime() as number;
    const statsLastSync = stats.geoReplication?.lastSyncOn?.getTime() as number;
    expect(Math.abs(armLastSync - statsLastSync)).toBeLessThanOrEqual(1_000);
    expect(now - armLastSync).toBeGreaterThanOrEqual(DELAY_MS);
    expect(now - statsLastSync).toBeGreaterThanOrEqual(DELAY_MS);
  });

  it('keeps the version and the blob that the primary overwrote and deleted after lastSyncTime', async () => {
    const written = await put('lag/kept.txt', 'old');
    await put('lag/deleted.txt', 'still here');
    await syncedPast(written + 1_000);

    const changedAt = await put('lag/kept.txt', 'new');
    await primary.getBlobClient('lag/deleted.txt').delete();
    expect(stack.storageLastSyncTime().getTime()).toBeLessThan(changedAt);
    expect(await secondaryText('lag/kept.txt')).toBe('old');
    expect(await secondaryText('lag/deleted.txt')).toBe('still here');
    expect(await secondaryNames('lag/')).toContain('lag/deleted.txt');

    await syncedPast(Date.now());
    expect(await secondaryText('lag/kept.txt')).toBe('new');
    expect(await secondaryText('lag/deleted.txt')).toBeNull();
  });

  it('copies from the secondary what the secondary holds, with a SAS signed by the primary key', async () => {
    const { names } = stack;
    const syncedAt = await put('lag/copied.txt', 'replicated');
    await syncedPast(syncedAt);
    await put('lag/copied.txt', 'too recent');
    await put('lag/unreplicated.txt', 'too recent');

    const dr = stack.clients.blobService(names.drStorageAccount).getContainerClient('lagcopy');
    await dr.createIfNotExists();
    const sourceUrl = (name: string) => `${secondary.getBlobClient(name).url.split('?')[0]}?${sas}`;
    const copy = await dr.getBlobClient('copied.txt').beginCopyFromURL(sourceUrl('lag/copied.txt'));
    await copy.pollUntilDone();
    expect((await dr.getBlobClient('copied.txt').downloadToBuffer()).toString()).toBe('replicated');
    await expect(
      dr.getBlobClient('unreplicated.txt').beginCopyFromURL(sourceUrl('lag/unreplicated.txt')),
    ).rejects.toMatchObject({ statusCode: 404, code: 'CannotVerifyCopySource' });
  });

  it('refuses a SAS that the account did not sign, on the secondary as on the primary', async () => {
    const forged = sas.replace(/sig=[^&]+/, `sig=${encodeURIComponent(Buffer.alloc(32).toString('base64'))}`);
    const { names } = stack;
    const withForged = stack.clients
      .blobService(names.primaryStorageAccount, { secondary: true, sas: forged })
      .getContainerClient(names.container);
    await expect(withForged.getBlobClient('lag/new.txt').downloadToBuffer()).rejects.toMatchObject({
      statusCode: 403,
    });
    const listing = withForged.listBlobsFlat().next();
    await expect(listing).rejects.toMatchObject({ statusCode: 403 });
  });

  it('does not move while replication is paused: lastSyncTime stays, the writes it has not reached stay missing', async () => {
    const written = await put('lag/outage.txt', 'before the outage');
    stack.pauseStorageReplication();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const frozen = stack.storageLastSyncTime().getTime();
      expect(frozen).toBeLessThan(written);
      await new Promise((resolve) => setTimeout(resolve, DELAY_MS + 1_500));
      expect(stack.storageLastSyncTime().getTime()).toBeLessThanOrEqual(written);
      expect(await secondaryText('lag/outage.txt')).toBeNull();
    } finally {
      stack.resumeStorageReplication();
    }
    await syncedPast(written);
    expect(await secondaryText('lag/outage.txt')).toBe('before the outage');
  });
});
