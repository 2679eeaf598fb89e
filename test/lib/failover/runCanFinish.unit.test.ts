import type { StorageAccount } from '@azure/arm-storage';
import { describe, expect, it } from 'vitest';
import type { ClientFactory, StorageEndpoints } from '../../../src/lib/clients/ClientFactory.js';
import { StorageRequestError } from '../../../src/lib/clients/ContainerRequests.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { type FailoverRun, newRun, type StepName } from '../../../src/lib/failover/FailoverRun.js';
import { RunStore } from '../../../src/lib/failover/RunStore.js';
import { advanceRun, readySteps } from '../../../src/lib/failover/runbook.js';
import {
  IRREVERSIBLE_STEPS,
  proveRunCanFinish,
  type RunCanFinish,
  refusalOf,
} from '../../../src/lib/failover/runCanFinish.js';
import { DEFAULT_FAILOVER_OPTIONS } from '../../../src/lib/failover/StepContext.js';
import { createLogger } from '../../../src/lib/log.js';
import { buildReport } from '../../../src/lib/report/failoverReport.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';
import { listingXml } from '../../helpers/listingXml.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const SIG = 'c2VjcmV0LXNpZ25hdHVyZQ%3D%3D';
const SAS = `sv=2025-01-05&ss=b&srt=sco&sp=rl&se=2027-01-01T00:00:00Z&sig=${SIG}`;

const config = {
  subscriptionId: 'sub',
  primary: {
    resourceGroup: 'rg-kyvos',
    region: 'centralus',
    storageAccount: 'kyvosprimdata',
    container: 'kyvos',
    postgresServer: 'pg-kyvos',
  },
  dr: {
    resourceGroup: 'rg-kyvos-dr',
    region: 'eastus2',
    storageAccount: 'kyvosdrdata',
    container: 'kyvos',
    storageSku: 'Standard_LRS',
    replicaServer: 'pg-kyvos-dr',
  },
  engineWorkDirectory: 'kyvos/engine_work',
  copyPrefix: 'kyvos/engine_work',
  sourceSasSecretName: 'kyvos-dr-source-sas',
  thresholds: {
    maxStorageRpoSeconds: 900,
    maxReplicaLagSeconds: 300,
    maxReplicaLagBytes: 1024,
    sasExpiryWarningDays: 14,
  },
  alertFailoverPolicy: 'planned',
  promoteMode: 'Standalone',
  storageStrategy: 'copy',
  stopOldPrimary: true,
} as DrConfig;

/** What the fake secondary endpoint answers: the List Blobs page, and Get Blob Properties. */
interface SourceBehaviour {
  list: () => Promise<string>;
  getProperties?: (name: string) => Promise<unknown>;
  /** The source account as ARM answers it (network rules); open to all networks by default. */
  account?: () => Promise<StorageAccount>;
}

const listing = listingXml;

const restError = (statusCode: number, code: string) =>
  Object.assign(new Error(`${code}: the service refused the request`), { statusCode, code });

/**
 * The few client calls the proof makes, against a scripted source: List Blobs through
 * `containerRequests`, Get Blob Properties through the SDK client. The stub of the work directory
 * does not exist (404), as in a flat-namespace source.
 */
function fakeClients(source: SourceBehaviour, calls: string[] = []): ClientFactory {
  const blobService = (account: string, options?: { secondary?: boolean; sas?: string }) => ({
    getContainerClient: (container: string) => ({
      getBlobClient: (name: string) => ({
        getProperties: async () => {
          calls.push(`properties ${account}${options?.secondary ? '-secondary' : ''}/${container}/${name}`);
          if (name === config.engineWorkDirectory) throw restError(404, 'BlobNotFound');
          return (source.getProperties ?? (async () => ({ contentLength: 10 })))(name);
        },
      }),
    }),
  });
  const known = new Map<string, StorageEndpoints>();
  return {
    blobService,
    useEndpoints: (account: string, endpoints: StorageEndpoints) => known.set(account, endpoints),
    knownEndpoints: (account: string) => known.get(account),
    storageManagement: () => ({
      storageAccounts: {
        getProperties: async (_group: string, name: string) => {
          calls.push(`arm ${name}`);
          if (name !== config.primary.storageAccount) throw restError(404, 'ResourceNotFound');
          return (source.account ?? (async () => ({ name, networkRuleSet: { defaultAction: 'Allow' } })))();
        },
      },
    }),
    blobEndpoint: (account: string, secondary?: boolean) =>
      `https://${account}${secondary ? '-secondary' : ''}.blob.core.windows.net`,
    containerRequests: (
      account: string,
      container: string,
      options?: { secondary?: boolean; sas?: string },
    ) => ({
      get: async () => {
        calls.push(
          `list ${account}${options?.secondary ? '-secondary' : ''}/${container} sas:${Boolean(options?.sas)}`,
        );
        return source.list();
      },
    }),
  } as unknown as ClientFactory;
}

function ctxWith(source: SourceBehaviour, calls: string[] = [], sas = SAS) {
  return {
    clients: fakeClients(source, calls),
    config,
    logger: createLogger(() => {}),
    clock: () => T0,
    appStorageAccount: 'kyvosdrapp',
    // No Key Vault in the config: the SAS comes from the app setting twin of its secret.
    settings: { KYVOS_DR_SOURCE_SAS: sas },
  };
}

const eligible = { eligibleForPlannedPromote: true, eligibilityReasons: [] };
const proven: RunCanFinish = {
  canFinish: true,
  sourceAccess: { access: 'SAS', endpoint: 'https://x-secondary', blobsListed: 1, blobRead: 'a' },
};

describe('the proof that the copy can read its source', () => {
  it('lists the secondary with the SAS and reads one blob before anything irreversible', async () => {
    const calls: string[] = [];
    const proof = await proveRunCanFinish(
      ctxWith({ list: async () => listing('kyvos/engine_work/a/part-0.parquet') }, calls),
    );
    expect(proof).toEqual({
      canFinish: true,
      sourceAccess: {
        access: 'SAS from secret "kyvos-dr-source-sas"',
        endpoint: 'https://kyvosprimdata-secondary.blob.core.windows.net',
        blobsListed: 1,
        blobRead: 'kyvos/engine_work/a/part-0.parquet',
      },
    });
    expect(calls).toContain('list kyvosprimdata-secondary/kyvos sas:true');
    expect(calls).toContain('properties kyvosprimdata-secondary/kyvos/kyvos/engine_work/a/part-0.parquet');
  });

  it('is satisfied by a listing alone when the source is empty', async () => {
    const proof = await proveRunCanFinish(ctxWith({ list: async () => listing() }));
    expect(proof).toMatchObject({ canFinish: true, sourceAccess: { blobsListed: 0 } });
    expect(proof.canFinish && proof.sourceAccess?.blobRead).toBeUndefined();
  });

  it('turns a listing that fails into a reason naming the secondary endpoint, never the SAS', async () => {
    const proof = await proveRunCanFinish(
      ctxWith({
        list: async () => {
          throw new StorageRequestError('The server is unavailable', 503, 'ServerUnavailable');
        },
      }),
    );
    expect(proof.canFinish).toBe(false);
    const reasons = proof.canFinish ? [] : proof.reasons;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain('https://kyvosprimdata-secondary.blob.core.windows.net');
    expect(reasons[0]).toContain('container "kyvos" under "kyvos/engine_work/"');
    expect(reasons[0]).toContain('503');
    expect(reasons.join(' ')).not.toContain(SIG);
  });

  it('turns a SAS that lists but cannot read (no r) into a reason naming the blob', async () => {
    const proof = await proveRunCanFinish(
      ctxWith({
        list: async () => listing('kyvos/engine_work/a/part-0.parquet'),
        getProperties: async () => {
          throw restError(403, 'AuthorizationPermissionMismatch');
        },
      }),
    );
    expect(proof.canFinish).toBe(false);
    const reasons = proof.canFinish ? [] : proof.reasons;
    expect(reasons[0]).toContain('Cannot read the source blob "kyvos/engine_work/a/part-0.parquet"');
    expect(reasons[0]).toContain('read (r)');
  });

  it('turns an expired SAS into a reason without listing', async () => {
    const calls: string[] = [];
    const expired = SAS.replace('se=2027-01-01T00:00:00Z', 'se=2026-01-01T00:00:00Z');
    const proof = await proveRunCanFinish(ctxWith({ list: async () => listing('x') }, calls, expired));
    expect(proof.canFinish).toBe(false);
    expect(proof.canFinish ? '' : proof.reasons[0]).toContain('expired');
    expect(calls.filter((c) => !c.startsWith('arm '))).toEqual([]);
  });
});

describe("the proof that the source's network rules let the DR account's storage service copy", () => {
  const withRules = (account: StorageAccount) => ({
    list: async () => listing('kyvos/engine_work/a/part-0.parquet'),
    account: async () => account,
  });

  it('refuses when the source denies by default and no rule can admit a storage account, with the fix', async () => {
    const proof = await proveRunCanFinish(
      ctxWith(
        withRules({
          name: 'kyvosprimdata',
          location: 'centralus',
          networkRuleSet: {
            defaultAction: 'Deny',
            bypass: 'AzureServices',
            virtualNetworkRules: [{ virtualNetworkResourceId: '/subscriptions/s/.../subnets/func' }],
            resourceAccessRules: [
              { tenantId: 't', resourceId: '/subscriptions/s/.../storageAccounts/kyvosdrdata' },
            ],
          },
        }),
      ),
    );
    expect(proof.canFinish).toBe(false);
    const reasons = proof.canFinish ? [] : proof.reasons;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain('the DR account "kyvosdrdata"');
    expect(reasons[0]).toContain('403 CannotVerifyCopySource');
    expect(reasons[0]).toContain(
      'az storage account update --name kyvosprimdata --resource-group rg-kyvos --public-network-access Enabled --default-action Allow',
    );
    const refusal = refusalOf({ mode: 'forced' }, eligible, proof);
    expect(refusal?.message).toContain('a forced failover does not skip this check');
  });

  it('refuses when public network access is disabled', async () => {
    const proof = await proveRunCanFinish(
      ctxWith(withRules({ name: 'kyvosprimdata', location: 'centralus', publicNetworkAccess: 'Disabled' })),
    );
    expect(proof.canFinish ? '' : proof.reasons[0]).toContain('public network access disabled');
  });

  it('only warns when IP rules might admit the destination, or when ARM cannot show the rules', async () => {
    const withIpRules = await proveRunCanFinish(
      ctxWith(
        withRules({
          name: 'kyvosprimdata',
          location: 'centralus',
          networkRuleSet: { defaultAction: 'Deny', ipRules: [{ iPAddressOrRange: '198.51.100.7' }] },
        }),
      ),
    );
    expect(withIpRules.canFinish).toBe(true);
    expect(withIpRules.warnings?.[0]).toContain('1 IP rule(s)');
    const unreadable = await proveRunCanFinish(
      ctxWith({
        list: async () => listing('a'),
        account: async () => {
          throw restError(503, 'ServiceUnavailable');
        },
      }),
    );
    expect(unreadable.canFinish).toBe(true);
    expect(unreadable.warnings?.[0]).toContain(
      'cannot read the network rules of the source account "kyvosprimdata"',
    );
  });
});

describe("preflight's go/no-go once the facts are in", () => {
  const cannotList: RunCanFinish = {
    canFinish: false,
    reasons: ['the copy cannot read its source: Cannot list container "kyvos" (503)'],
  };

  it('refuses a forced run whose copy cannot read its source, with the reasons', () => {
    const refusal = refusalOf({ mode: 'forced' }, eligible, cannotList);
    expect(refusal?.isPreconditionFailed).toBe(true);
    expect(refusal?.reasons).toEqual(cannotList.canFinish ? [] : cannotList.reasons);
    expect(refusal?.message).toContain('before anything was changed');
    expect(refusal?.message).toContain('Cannot list container "kyvos" (503)');
  });

  it('lets a forced run whose copy can read its source go on, however unhealthy the pair', () => {
    const ineligible = { eligibleForPlannedPromote: false, eligibilityReasons: ['replica lags'] };
    expect(refusalOf({ mode: 'forced' }, ineligible, proven)).toBeUndefined();
  });

  it('refuses a planned run with every reason at once, and does not suggest forced when the copy cannot run', () => {
    const ineligible = { eligibleForPlannedPromote: false, eligibilityReasons: ['replica lags'] };
    const refusal = refusalOf({ mode: 'planned' }, ineligible, cannotList);
    expect(refusal?.reasons).toEqual(['replica lags', ...(cannotList.canFinish ? [] : cannotList.reasons)]);
    expect(refusal?.message).not.toContain('use mode "forced"');
    expect(refusalOf({ mode: 'planned' }, ineligible, proven)?.message).toContain('use mode "forced"');
    expect(refusalOf({ mode: 'planned' }, eligible, proven)).toBeUndefined();
  });
});

const request = { mode: 'forced' as const, reason: 'test', dryRun: false, requestedBy: 'test' };

function runWith(statuses: Partial<Record<StepName, FailoverRun['steps'][StepName]['status']>>): FailoverRun {
  const run = newRun('fo-20261201T100000Z-abcdef', request, T0);
  for (const [name, status] of Object.entries(statuses)) run.steps[name as StepName].status = status;
  return run;
}

describe('the step graph: nothing irreversible before the run can finish', () => {
  it('starts only preflight first', () => {
    expect(readySteps(runWith({}), T0)).toEqual(['preflight']);
  });

  it('does not promote while the DR account is being ensured, after preflight proved the source', () => {
    const ready = readySteps(runWith({ preflight: 'Succeeded', quiesce: 'Succeeded' }), T0);
    expect(ready).toEqual(['storage.ensureAccount']);
    expect(ready).not.toContain('database.promote');
  });

  it('never promotes when ensuring the DR account failed', () => {
    const run = runWith({ preflight: 'Succeeded', quiesce: 'Succeeded', 'storage.ensureAccount': 'Failed' });
    expect(readySteps(run, T0)).toEqual([]);
  });

  it('never promotes when preflight failed or refused, even with the DR account ensured', () => {
    for (const preflight of ['Failed', 'Running', 'Skipped'] as const) {
      const run = runWith({ preflight, 'storage.ensureAccount': 'Succeeded' });
      expect(readySteps(run, T0)).not.toContain('database.promote');
    }
  });

  it('promotes, alongside the copy, once preflight and the DR account have both succeeded', () => {
    const run = runWith({
      preflight: 'Succeeded',
      quiesce: 'Succeeded',
      'storage.ensureAccount': 'Succeeded',
    });
    expect(readySteps(run, T0).sort()).toEqual(['database.promote', 'storage.copy']);
  });
});

describe('the report of the irreversible steps', () => {
  it('says which steps cannot be undone and when each ran', () => {
    const run = runWith({ preflight: 'Succeeded', 'storage.ensureAccount': 'Succeeded' });
    run.state = 'Failed';
    Object.assign(run.steps['database.promote'], {
      status: 'Succeeded',
      startedAt: '2026-12-01T10:01:00.000Z',
      endedAt: '2026-12-01T10:02:00.000Z',
      detail: { server: 'pg-kyvos-dr' },
    });
    Object.assign(run.steps['database.fence'], {
      status: 'Failed',
      startedAt: '2026-12-01T10:02:00.000Z',
      endedAt: '2026-12-01T10:03:00.000Z',
    });
    const report = buildReport(run, config);
    expect(report.irreversible.map((s) => s.step)).toEqual(['database.promote', 'database.fence', 'record']);
    expect(report.irreversible[0]).toMatchObject({
      step: 'database.promote',
      status: 'Succeeded',
      startedAt: '2026-12-01T10:01:00.000Z',
      endedAt: '2026-12-01T10:02:00.000Z',
    });
    expect(report.irreversible[0]?.action).toContain('pg-kyvos-dr');
    expect(report.irreversible[1]).toMatchObject({ step: 'database.fence', status: 'Failed' });
    expect(report.irreversible[2]).toMatchObject({ step: 'record', status: 'Pending', startedAt: null });
  });
});

describe('a run whose Key Vault refuses to be read', () => {
  it('is refused at preflight with the reason, every other step skipped and the lock released', async () => {
    const store = new RunStore(new InMemoryDocumentStore());
    const runId = 'fo-20261201T100000Z-abcdef';
    await store.acquireLock(runId, T0);
    await store.create(newRun(runId, request, T0));
    const clients = {
      secrets: () => ({
        getSecret: async () => {
          throw restError(403, 'Forbidden');
        },
      }),
    } as unknown as ClientFactory;
    const { run } = await advanceRun(
      {
        clients,
        config: { ...config, keyVault: { url: 'https://kv-kyvos.vault.azure.net', name: 'kv-kyvos' } },
        logger: createLogger(() => {}),
        clock: () => T0,
        store,
        options: DEFAULT_FAILOVER_OPTIONS,
        appStorageAccount: 'kyvosdrapp',
        settings: {},
      },
      runId,
    );
    expect(run.state).toBe('Refused');
    expect(run.errors.join('\n')).toContain('Key Vault kv-kyvos could not be read');
    expect(run.errors.join('\n')).toContain('Forbidden');
    for (const step of IRREVERSIBLE_STEPS) expect(run.steps[step].status).toBe('Skipped');
    expect(run.steps['storage.ensureAccount'].status).toBe('Skipped');
    expect(await store.lockHolder()).toBeUndefined();
  });
});

describe('the step graph once a step has failed', () => {
  it('starts no irreversible step after the copy failed, even with the DR account ensured', () => {
    const run = runWith({
      preflight: 'Succeeded',
      quiesce: 'Succeeded',
      'storage.ensureAccount': 'Succeeded',
      'storage.copy': 'Failed',
    });
    expect(readySteps(run, T0)).toEqual([]);
  });

  it('does not fence after a promote once the copy has failed: the old primary keeps its side usable', () => {
    const run = runWith({
      preflight: 'Succeeded',
      'storage.ensureAccount': 'Succeeded',
      'storage.copy': 'Failed',
      'database.promote': 'Succeeded',
    });
    expect(readySteps(run, T0)).not.toContain('database.fence');
  });
});
