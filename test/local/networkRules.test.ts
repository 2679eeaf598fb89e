import type { RestError } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyFaultsChange } from '../../local/emulator/faultsAdmin.js';
import { APP_NETWORK, storageServiceAddress } from '../../local/networkRules.js';
import { copySourceStatusOf } from '../../src/lib/errors.js';
import { type StorageFixture, startStorageFixture } from '../helpers/storageFixture.js';

/** What a Copy Blob From URL into the DR account, from the primary's secondary, answers. */
async function copyFromSecondary(fixture: StorageFixture, name: string) {
  const source = fixture.clients
    .blobService(fixture.names.primaryStorageAccount, { secondary: true, sas: fixture.sourceSas })
    .getContainerClient(fixture.names.container)
    .getBlobClient(name);
  const target = fixture.clients
    .blobService(fixture.names.drStorageAccount)
    .getContainerClient(fixture.names.container)
    .getBlockBlobClient(name);
  return target.syncCopyFromURL(source.url);
}

describe('storage network rules on the local stack', () => {
  let fixture: StorageFixture;
  const blob = 'netrules/probe.txt';

  beforeAll(async () => {
    fixture = await startStorageFixture();
    const { clients, names } = fixture;
    const source = clients.blobService(names.primaryStorageAccount).getContainerClient(names.container);
    await source.createIfNotExists();
    await source.getBlockBlobClient(blob).upload('probe', 5);
    await clients.blobService(names.drStorageAccount).getContainerClient(names.container).createIfNotExists();
  });
  afterAll(async () => {
    await fixture?.stop();
  });
  beforeEach(() => {
    fixture.faults.storageNetworkRules = {};
  });

  const denyAllButTheApp = () =>
    applyFaultsChange(fixture.faults, {
      storageNetworkRules: {
        [fixture.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId, action: 'Allow' }],
        },
      },
    });

  it('refuses a copy whose source account denies the destination: 403 CannotVerifyCopySource, as Azure', async () => {
    denyAllButTheApp();
    const error = (await copyFromSecondary(fixture, blob).then(
      () => undefined,
      (e: unknown) => e,
    )) as RestError | undefined;
    expect(error?.statusCode).toBe(403);
    expect(error?.code).toBe('CannotVerifyCopySource');
    expect(error?.message.split('\n')[0]).toBe('This request is not authorized to perform this operation.');
    expect(copySourceStatusOf(error)).toBe(403);
  });

  it('lets the app list and read the source through its subnet while the copy is refused', async () => {
    denyAllButTheApp();
    const container = fixture.clients
      .blobService(fixture.names.primaryStorageAccount, { secondary: true, sas: fixture.sourceSas })
      .getContainerClient(fixture.names.container);
    const page = await container.listBlobsFlat().byPage({ maxPageSize: 5 }).next();
    expect(page.value.segment.blobItems.map((b: { name: string }) => b.name)).toContain(blob);
    expect((await container.getBlobClient(blob).getProperties()).contentLength).toBe(5);
  });

  it('refuses the app itself when no rule admits its network: 403 AuthorizationFailure', async () => {
    applyFaultsChange(fixture.faults, {
      storageNetworkRules: { [fixture.names.primaryStorageAccount]: { defaultAction: 'Deny' } },
    });
    const error = (await fixture.clients
      .blobService(fixture.names.primaryStorageAccount, { secondary: true, sas: fixture.sourceSas })
      .getContainerClient(fixture.names.container)
      .getBlobClient(blob)
      .getProperties()
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as RestError | undefined;
    expect(error?.statusCode).toBe(403);
  });

  it('copies when the source allows all networks (Azure default) or an IP rule names the destination from another region', async () => {
    const copied = await copyFromSecondary(fixture, blob);
    expect(copied.copyStatus).toBe('success');
    applyFaultsChange(fixture.faults, {
      storageNetworkRules: {
        [fixture.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId }],
          ipRules: [{ value: storageServiceAddress(fixture.names.drStorageAccount) }],
        },
      },
    });
    expect((await copyFromSecondary(fixture, blob)).copyStatus).toBe('success');
  });

  it('trusted services and resource instance rules do not admit a storage account', async () => {
    applyFaultsChange(fixture.faults, {
      storageNetworkRules: {
        [fixture.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          bypass: 'AzureServices',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId }],
          resourceAccessRules: [
            {
              tenantId: '99999999-8888-7777-6666-555555555555',
              resourceId: `/subscriptions/x/resourceGroups/rg-kyvos-dr/providers/Microsoft.Storage/storageAccounts/${fixture.names.drStorageAccount}`,
            },
          ],
        },
      },
    });
    await expect(copyFromSecondary(fixture, blob)).rejects.toMatchObject({ code: 'CannotVerifyCopySource' });
  });
});
