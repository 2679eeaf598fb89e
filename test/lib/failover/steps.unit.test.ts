import type { StorageAccount, StorageAccountCreateParameters } from '@azure/arm-storage';
import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { RunStore, STATE_CONTAINER } from '../../../src/lib/failover/RunStore.js';
import { DEFAULT_FAILOVER_OPTIONS, type StepContext } from '../../../src/lib/failover/StepContext.js';
import { ensureDrStorage } from '../../../src/lib/failover/steps/ensureDrStorage.js';
import { fenceOldPrimary } from '../../../src/lib/failover/steps/fence.js';
import { writeReport } from '../../../src/lib/failover/steps/report.js';
import { createLogger } from '../../../src/lib/log.js';
import { STOP_IS_TEMPORARY } from '../../../src/lib/promote/stopOldPrimary.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const RUN_ID = 'fo-20261201T100000Z-bbbbbb';

interface Recorded {
  /** `resourceGroup/server` of every ARM stop asked for. */
  stops: string[];
  /** Blob path → body of every upload. */
  uploads: Map<string, string>;
  /** The parameters of every storage account ARM was asked to create. */
  createdAccounts: StorageAccountCreateParameters[];
  /** `account/container` of every container created (or found). */
  containers: string[];
  /** Account → blob endpoint the clients were told to use. */
  endpoints: Map<string, string>;
}

interface FakeClientsOptions {
  stopFails?: Error;
  /** What ARM answers for the DR storage account; none: 404. */
  existingAccount?: StorageAccount;
  /** ARM's answer to the read of the DR storage account, when it is an error other than 404. */
  accountReadFails?: Error;
}

/**
 * Clients that record the two calls these steps make (an ARM stop of a flexible server, a block
 * blob upload); `stopFails` makes the stop throw as ARM does when the primary's region is down.
 */
function fakeClients(options: FakeClientsOptions = {}): { clients: ClientFactory; recorded: Recorded } {
  const recorded: Recorded = {
    stops: [],
    uploads: new Map(),
    createdAccounts: [],
    containers: [],
    endpoints: new Map(),
  };
  const clients = {
    postgresManagement: () => ({
      servers: {
        beginStopAndWait: async (resourceGroup: string, server: string) => {
          recorded.stops.push(`${resourceGroup}/${server}`);
          if (options.stopFails) throw options.stopFails;
        },
      },
    }),
    storageManagement: () => ({
      storageAccounts: {
        getProperties: async () => {
          if (options.accountReadFails) throw options.accountReadFails;
          if (options.existingAccount) return options.existingAccount;
          throw Object.assign(new Error('The Resource was not found.'), { statusCode: 404 });
        },
        beginCreateAndWait: async (
          _group: string,
          name: string,
          parameters: StorageAccountCreateParameters,
        ) => {
          recorded.createdAccounts.push(parameters);
          return { ...parameters, name, primaryEndpoints: { blob: `https://${name}.blob.example/` } };
        },
      },
    }),
    useEndpoints: (account: string, endpoints: { blob: string }) => {
      recorded.endpoints.set(account, endpoints.blob);
    },
    blobService: (account: string) => ({
      getContainerClient: (container: string) => ({
        createIfNotExists: async () => {
          recorded.containers.push(`${account}/${container}`);
          return { succeeded: true };
        },
        getBlockBlobClient: (name: string) => ({
          upload: async (body: string) => {
            recorded.uploads.set(`${account}/${container}/${name}`, body);
            return {};
          },
        }),
      }),
    }),
  } as unknown as ClientFactory;
  return { clients, recorded };
}

async function stepContext(
  config: DrConfig,
  clients: ClientFactory,
): Promise<{ ctx: StepContext; store: RunStore; lines: string[] }> {
  const store = new RunStore(new InMemoryDocumentStore());
  const run = newRun(
    RUN_ID,
    { mode: 'forced', reason: 'region outage', dryRun: false, requestedBy: 'ops' },
    T0,
  );
  await store.create(run);
  const lines: string[] = [];
  const ctx: StepContext = {
    clients,
    config,
    logger: createLogger((_level, line) => lines.push(line)),
    clock: () => T0,
    store,
    run,
    options: DEFAULT_FAILOVER_OPTIONS,
    appStorageAccount: 'kyvosdrapp',
    settings: {},
  };
  return { ctx, store, lines };
}

describe('the fence step', () => {
  it('stops the old primary through ARM and says the stop lasts a week at most', async () => {
    const { clients, recorded } = fakeClients();
    const { ctx } = await stepContext(testConfig(), clients);
    await expect(fenceOldPrimary(ctx)).resolves.toEqual({
      detail: {
        oldPrimary: 'pg-kyvos',
        oldPrimaryFenced: true,
        fencing: `stopped through ARM; ${STOP_IS_TEMPORARY}`,
      },
    });
    expect(recorded.stops).toEqual(['rg-kyvos/pg-kyvos']);
  });

  it('succeeds unfenced, with the reason and a warning, when ARM cannot stop it (a region outage)', async () => {
    const { clients } = fakeClients({ stopFails: new Error('getaddrinfo ENOTFOUND centralus.management') });
    const { ctx, lines } = await stepContext(testConfig(), clients);
    const outcome = await fenceOldPrimary(ctx);
    expect(outcome.detail).toEqual({
      oldPrimary: 'pg-kyvos',
      oldPrimaryFenced: false,
      fencing: 'could not stop it: getaddrinfo ENOTFOUND centralus.management',
    });
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ event: 'failover.fence_failed', level: 'warn', server: 'pg-kyvos' }),
    ]);
  });

  it('does not stop anything when the promote was a switchover or stopping is switched off', async () => {
    const { clients, recorded } = fakeClients();
    const switchover = await stepContext(testConfig({ promoteMode: 'Switchover' }), clients);
    expect((await fenceOldPrimary(switchover.ctx)).detail).toMatchObject({
      oldPrimaryFenced: true,
      fencing: 'Switchover made it a read replica',
    });
    const switchedOff = await stepContext(testConfig({ stopOldPrimary: false }), clients);
    expect((await fenceOldPrimary(switchedOff.ctx)).detail).toMatchObject({
      oldPrimaryFenced: false,
      fencing: 'not stopped: kyvos-dr-stop-old-primary is false',
    });
    expect(recorded.stops).toEqual([]);
  });
});

describe('the report step', () => {
  it('stores the report of a Succeeded run beside the run, and on the run record', async () => {
    const { clients, recorded } = fakeClients();
    const { ctx, store } = await stepContext(testConfig(), clients);
    const outcome = await writeReport(ctx);
    const path = `runs/${RUN_ID}/report.json`;
    expect(outcome).toEqual({ detail: { stored: `${STATE_CONTAINER}/${path}` } });
    const stored = JSON.parse(recorded.uploads.get(`kyvosdrapp/${STATE_CONTAINER}/${path}`) ?? 'null');
    expect(stored).toMatchObject({ runId: RUN_ID, state: 'Succeeded', endedAt: T0.toISOString() });
    expect((await store.get(RUN_ID))?.report).toEqual(stored);
  });

  it('fails, naming the run, when the run record is gone', async () => {
    const { clients, recorded } = fakeClients();
    const { ctx } = await stepContext(testConfig(), clients);
    await expect(writeReport({ ...ctx, store: new RunStore(new InMemoryDocumentStore()) })).rejects.toThrow(
      `Failover run ${RUN_ID} disappeared while reporting.`,
    );
    expect(recorded.uploads.size).toBe(0);
  });
});

describe('the DR storage step', () => {
  it('creates a missing account as the Kyvos template does, in the DR region, and its container', async () => {
    const { clients, recorded } = fakeClients();
    const { ctx } = await stepContext(testConfig(), clients);
    const outcome = await ensureDrStorage(ctx);
    expect(recorded.createdAccounts).toEqual([
      expect.objectContaining({
        location: 'eastus2',
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
        isHnsEnabled: true,
        minimumTlsVersion: 'TLS1_2',
        allowBlobPublicAccess: false,
        tags: expect.objectContaining({ kyvosDrRun: RUN_ID }),
      }),
    ]);
    expect(recorded.endpoints.get('kyvosdrdata')).toBe('https://kyvosdrdata.blob.example');
    expect(recorded.containers).toEqual(['kyvosdrdata/kyvoscontainer']);
    expect(outcome.detail).toMatchObject({ created: true, sku: 'Standard_LRS', containerCreated: true });
  });

  it('keeps an existing account of another SKU, says so, and creates nothing', async () => {
    const existing = {
      name: 'kyvosdrdata',
      location: 'East US 2',
      isHnsEnabled: true,
      sku: { name: 'Standard_ZRS' },
    };
    const { clients, recorded } = fakeClients({ existingAccount: existing as StorageAccount });
    const { ctx, lines } = await stepContext(testConfig(), clients);
    const outcome = await ensureDrStorage(ctx);
    expect(recorded.createdAccounts).toEqual([]);
    expect(outcome.detail).toMatchObject({
      created: false,
      sku: 'Standard_ZRS',
      configuredSku: 'Standard_LRS',
    });
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(['failover.dr_storage_sku']);
  });

  it('fails, naming the account, and creates nothing when ARM cannot read it (anything but a 404)', async () => {
    const forbidden = Object.assign(new Error('AuthorizationFailed'), { statusCode: 403 });
    const { clients, recorded } = fakeClients({ accountReadFails: forbidden });
    await expect(ensureDrStorage((await stepContext(testConfig(), clients)).ctx)).rejects.toThrow(
      'Cannot read the DR storage account "kyvosdrdata" (rg-kyvos-dr)',
    );
    expect(recorded.createdAccounts).toEqual([]);
  });

  it('refuses an existing account without hierarchical namespace, or in another region', async () => {
    const flat = fakeClients({
      existingAccount: { location: 'eastus2', isHnsEnabled: false } as StorageAccount,
    });
    await expect(ensureDrStorage((await stepContext(testConfig(), flat.clients)).ctx)).rejects.toThrow(
      /exists without hierarchical namespace/,
    );
    const elsewhere = fakeClients({
      existingAccount: { location: 'centralus', isHnsEnabled: true } as StorageAccount,
    });
    await expect(ensureDrStorage((await stepContext(testConfig(), elsewhere.clients)).ctx)).rejects.toThrow(
      'is in centralus, not in the DR region eastus2',
    );
    expect([...flat.recorded.containers, ...elsewhere.recorded.containers]).toEqual([]);
  });
});
