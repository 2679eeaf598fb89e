import { inspect } from 'node:util';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { describe, expect, it } from 'vitest';
import { type ClientFactory, createClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { ConfigError } from '../../../src/lib/errors.js';
import { describeError } from '../../../src/lib/redact.js';
import { SourceAccess } from '../../../src/lib/source/SourceAccess.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';
import { listingXml } from '../../helpers/listingXml.js';
import { findLeaks } from '../../helpers/secretLeaks.js';
import { fakeUserDelegationKey } from '../../helpers/userDelegationKey.js';

const SIGNATURE = 'c3RvcmVkU2lnbmF0dXJl';
const STORED_SAS = `sv=2025-01-05&sp=rl&se=2099-01-01T00:00:00Z&sig=${SIGNATURE}`;
const SECONDARY = 'https://kyvosprimdata-secondary.blob.core.windows.net';
const LOCATION = { account: 'kyvosprimdata', container: 'kyvoscontainer', prefix: 'kyvos/engine_work' };

const credential: TokenCredential = {
  getToken: async (): Promise<AccessToken> => ({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }),
};

/**
 * The Azure client factory, with the calls the source makes recorded: which account and endpoint
 * each client was built for, and with which SAS (`stored`, `user-delegation` or `none`). Get User
 * Delegation Key answers with a fixed key; List Blobs answers `listing`, or fails as `refuse` says.
 */
function recordingClients(
  calls: string[],
  options: { listing?: string; refuse?: (url: string) => Error } = {},
): ClientFactory {
  const clients = createClientFactory({ kind: 'azure', credential });
  const kindOf = (sas: string | undefined) =>
    sas === undefined ? 'none' : sas.includes('skoid=') ? 'user-delegation' : 'stored';
  const where = (account: string, secondary: boolean | undefined) =>
    `${account}${secondary ? '-secondary' : ''}`;
  const blobService = clients.blobService.bind(clients);
  clients.blobService = (account, serviceOptions = {}) => {
    calls.push(`blobService ${where(account, serviceOptions.secondary)} sas:${kindOf(serviceOptions.sas)}`);
    const service = blobService(account, serviceOptions);
    const getContainerClient = service.getContainerClient.bind(service);
    service.getContainerClient = (name) => {
      const container = getContainerClient(name);
      const getBlobClient = container.getBlobClient.bind(container);
      container.getBlobClient = (blob) => {
        const client = getBlobClient(blob);
        // Get Blob Properties finds nothing: the prefix has no directory stub, a listed blob was
        // deleted since (which still proves that the SAS reads).
        client.getProperties = async () => {
          calls.push(`properties ${blob}`);
          throw Object.assign(new Error('BlobNotFound'), { statusCode: 404, code: 'BlobNotFound' });
        };
        return client;
      };
      return container;
    };
    service.getUserDelegationKey = (async (startsOn: Date, expiresOn: Date) => {
      calls.push(`userDelegationKey ${where(account, serviceOptions.secondary)}`);
      return fakeUserDelegationKey(startsOn, expiresOn);
    }) as never;
    return service;
  };
  clients.containerRequests = (account, container, requestOptions = {}) => {
    calls.push(
      `containerRequests ${where(account, requestOptions.secondary)} sas:${kindOf(requestOptions.sas)}`,
    );
    const url = `${clients.blobEndpoint(account, requestOptions.secondary)}/${container}?restype=container&comp=list&${requestOptions.sas}`;
    return {
      get: async () => {
        if (options.refuse) throw options.refuse(url);
        return options.listing ?? listingXml();
      },
    } as never;
  };
  return clients;
}

/** What `SourceAccess.open` takes, with the stored SAS as the app setting twin of its secret. */
function openOptions(clients: ClientFactory, overrides: Parameters<typeof testConfig>[0] = {}) {
  return {
    config: testConfig({ copyPrefix: LOCATION.prefix, ...overrides }),
    clients,
    settings: { KYVOS_DR_SOURCE_SAS: STORED_SAS },
    clock: () => new Date(),
  };
}

describe('the credential the source is read with (kyvos-dr-source-auth)', () => {
  it('stored-sas reads the secret and signs nothing', async () => {
    const calls: string[] = [];
    const source = await SourceAccess.open(
      openOptions(recordingClients(calls), { sourceSasSecretName: 'kyvos-dr-source-sas' }),
    );
    expect(source.containerClient().url).toBe(`${SECONDARY}/kyvoscontainer?${STORED_SAS}`);
    expect(calls).toEqual(['blobService kyvosprimdata-secondary sas:stored']);
  });

  it('stored-sas without a secret name refuses, naming the fix, and never signs a user-delegation SAS', async () => {
    const calls: string[] = [];
    const refused = await SourceAccess.open(openOptions(recordingClients(calls))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain('No source credential is configured');
    expect((refused as Error).message).toContain('--permissions rl');
    expect(calls).toEqual([]);
  });

  it('stored-sas with a secret that holds nothing refuses, naming the secret', async () => {
    const options = openOptions(recordingClients([]), { sourceSasSecretName: 'kyvos-dr-source-sas' });
    await expect(SourceAccess.open({ ...options, settings: {} })).rejects.toThrow(
      'The source SAS secret "kyvos-dr-source-sas"',
    );
  });

  it('user-delegation signs a read, list and execute SAS with a key from the primary, even with a stored SAS', async () => {
    const calls: string[] = [];
    const source = await SourceAccess.open(
      openOptions(recordingClients(calls), {
        sourceAuth: 'user-delegation',
        sourceSasSecretName: 'kyvos-dr-source-sas',
      }),
    );
    const url = new URL(source.containerClient().url);
    expect(url.origin + url.pathname).toBe(`${SECONDARY}/kyvoscontainer`);
    expect(url.searchParams.get('sp')).toBe('rle');
    expect(url.searchParams.get('sr')).toBe('c');
    expect(url.searchParams.get('skoid')).toBeTruthy();
    expect(calls).toEqual([
      'blobService kyvosprimdata sas:none',
      'userDelegationKey kyvosprimdata',
      'blobService kyvosprimdata-secondary sas:user-delegation',
    ]);
  });
});

describe('the URLs the source is read at', () => {
  it('reads at the secondary blob endpoint; a blob URL is the copy source, with the SAS however it was stored', () => {
    for (const stored of [STORED_SAS, ` ?${STORED_SAS} `, `${SECONDARY}/kyvoscontainer?${STORED_SAS}`]) {
      const source = new SourceAccess(recordingClients([]), LOCATION, new Sensitive(stored));
      expect(source.containerClient().getBlobClient('kyvos/engine_work/a b#1.parquet').url).toBe(
        `${SECONDARY}/kyvoscontainer/kyvos/engine_work/a%20b%231.parquet?${STORED_SAS}`,
      );
    }
  });

  it('follows the secondary endpoint ARM recorded, and names it without the SAS', () => {
    const clients = recordingClients([]);
    const zoned = 'https://kyvosprimdata-secondary.z21.blob.storage.azure.net';
    clients.useEndpoints('kyvosprimdata', { secondaryBlob: zoned });
    const source = new SourceAccess(clients, LOCATION, STORED_SAS);
    expect(source.endpoint).toBe(zoned);
    expect(source.containerClient().url).toBe(`${zoned}/kyvoscontainer?${STORED_SAS}`);
  });

  it('builds each client once, and lists with the container client it copies from', () => {
    const calls: string[] = [];
    const source = new SourceAccess(recordingClients(calls), LOCATION, STORED_SAS);
    const container = source.containerClient();
    expect(source.containerClient()).toBe(container);
    expect(source.listable().client).toBe(container);
    expect(source.listable()).toBe(source.listable());
    expect(calls).toEqual([
      'blobService kyvosprimdata-secondary sas:stored',
      'containerRequests kyvosprimdata-secondary sas:stored',
    ]);
  });
});

describe('the SAS never leaves the source access', () => {
  it('refuses an expired or unsigned SAS without quoting it', () => {
    const expired = new SourceAccess(
      recordingClients([]),
      LOCATION,
      `sv=2025-01-05&sp=rl&se=2025-01-01T00:00:00Z&sig=${SIGNATURE}`,
    );
    expect(() => expired.containerClient()).toThrow(ConfigError);
    expect(() => expired.listable()).toThrow('The source SAS expired at 2025-01-01T00:00:00.000Z');
    const unsigned = new SourceAccess(recordingClients([]), LOCATION, 'sv=2025-01-05&sp=rl');
    expect(() => unsigned.containerClient()).toThrow('The source SAS has no signature (sig)');
    const message = (() => {
      try {
        expired.containerClient();
      } catch (error) {
        return describeError(error);
      }
    })();
    expect(message).not.toContain(SIGNATURE);
  });

  it('a refused listing names the endpoint, container and prefix, keeps status and code, and not the SAS', async () => {
    const refuse = (url: string) =>
      Object.assign(new Error(`AuthenticationFailed: Server failed to authenticate ${url}`), {
        statusCode: 403,
        code: 'AuthenticationFailed',
      });
    const source = new SourceAccess(recordingClients([], { refuse }), LOCATION, new Sensitive(STORED_SAS));
    const refused = (await source.prove().catch((e: unknown) => e)) as Error & Record<string, unknown>;
    expect(refused.message).toContain(
      `Cannot list container "kyvoscontainer" under "kyvos/engine_work/" through the RA-GRS secondary endpoint ${SECONDARY}: 403 AuthenticationFailed`,
    );
    expect(refused).toMatchObject({ statusCode: 403, code: 'AuthenticationFailed' });
    expect(
      findLeaks(`${describeError(refused)} ${inspect(refused, { depth: 5 })}`, { sas: SIGNATURE }),
    ).toEqual([]);
  });

  it('prints and serialises without the SAS, also once its clients are built', () => {
    const source = new SourceAccess(recordingClients([]), LOCATION, STORED_SAS);
    source.listable();
    expect(
      findLeaks(`${inspect(source, { depth: 5 })} ${JSON.stringify(source)}`, { sas: SIGNATURE }),
    ).toEqual([]);
  });

  it('proves with one listing and one read of a listed blob, with the same SAS', async () => {
    const calls: string[] = [];
    const listing = listingXml('kyvos/engine_work/a.parquet');
    const source = new SourceAccess(recordingClients(calls, { listing }), LOCATION, STORED_SAS);
    await expect(source.prove()).resolves.toEqual({
      endpoint: SECONDARY,
      blobsListed: 1,
      blobRead: 'kyvos/engine_work/a.parquet',
    });
    expect(calls).toEqual([
      'blobService kyvosprimdata-secondary sas:stored',
      'containerRequests kyvosprimdata-secondary sas:stored',
      'properties kyvos/engine_work',
      'properties kyvos/engine_work/a.parquet',
    ]);
  });
});
