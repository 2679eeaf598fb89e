import { describe, expect, it } from 'vitest';
import type { ClientFactory, StorageEndpoints } from '../../../src/lib/clients/ClientFactory.js';
import { sourceAuth } from '../../../src/lib/config/rules.js';
import { proveRunCanFinish } from '../../../src/lib/failover/runCanFinish.js';
import { ReportBuilder } from '../../../src/lib/health/HealthReport.js';
import { checkSourceAuth } from '../../../src/lib/health/sourceAccessHealth.js';
import { createLogger } from '../../../src/lib/log.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';
import { listingXml } from '../../helpers/listingXml.js';
import { fakeUserDelegationKey } from '../../helpers/userDelegationKey.js';

// Now: the copy checks a SAS's expiry against the real clock, and a user-delegation SAS signed at a
// fixed past time would have expired.
const T0 = new Date();
const STORED_SAS = 'sv=2025-01-05&sp=rl&se=2027-01-01T00:00:00Z&sig=c3RvcmVk';

const listing = listingXml;

/**
 * The calls the credential and its proof make: Get User Delegation Key on the primary endpoint, List
 * Blobs and Get Blob Properties on the secondary (`sas` says which SAS authorised them). `secondary`
 * decides what the secondary answers to a SAS.
 */
function fakeClients(calls: string[], secondary: (sas: string) => Promise<void> = async () => {}) {
  const refused = () =>
    Object.assign(new Error('AuthenticationFailed: Server failed to authenticate the request'), {
      statusCode: 403,
      code: 'AuthenticationFailed',
    });
  const kindOf = (sas: string | undefined) =>
    sas === undefined ? 'none' : sas.includes('skoid=') ? 'user-delegation' : 'stored';
  const known = new Map<string, StorageEndpoints>();
  return {
    useEndpoints: (account: string, endpoints: StorageEndpoints) => known.set(account, endpoints),
    knownEndpoints: (account: string) => known.get(account),
    // The source account as ARM shows it: no network rules, so the proof is about the credential.
    storageManagement: () => ({
      storageAccounts: {
        getProperties: async (_group: string, name: string) => ({
          name,
          networkRuleSet: { defaultAction: 'Allow' },
        }),
      },
    }),
    blobEndpoint: (account: string, isSecondary?: boolean) =>
      `https://${account}${isSecondary ? '-secondary' : ''}.blob.core.windows.net`,
    blobService: (account: string, options?: { secondary?: boolean; sas?: string }) => ({
      getUserDelegationKey: async (startsOn: Date, expiresOn: Date) => {
        calls.push(`userDelegationKey ${account}${options?.secondary ? '-secondary' : ''}`);
        return fakeUserDelegationKey(startsOn, expiresOn);
      },
      getContainerClient: () => ({
        getBlobClient: (name: string) => ({
          getProperties: async () => {
            calls.push(`properties ${name} sas:${kindOf(options?.sas)}`);
            if (options?.sas) await secondary(options.sas).catch(() => Promise.reject(refused()));
            return {};
          },
        }),
      }),
    }),
    containerRequests: (
      account: string,
      _container: string,
      options?: { secondary?: boolean; sas?: string },
    ) => ({
      get: async () => {
        calls.push(`list ${account}${options?.secondary ? '-secondary' : ''} sas:${kindOf(options?.sas)}`);
        if (options?.sas) await secondary(options.sas).catch(() => Promise.reject(refused()));
        return listing('kyvos/engine_work/a/part-0.parquet');
      },
    }),
  } as unknown as ClientFactory;
}

function ctx(
  config: ReturnType<typeof testConfig>,
  clients: ClientFactory,
  settings: Record<string, string> = {},
) {
  return {
    clients,
    config,
    logger: createLogger(() => {}),
    clock: () => T0,
    appStorageAccount: 'kyvosdrapp',
    settings,
  };
}

describe('kyvos-dr-source-auth', () => {
  it('is stored-sas or user-delegation, in any case, and nothing else', () => {
    expect(sourceAuth('stored-sas')).toEqual({ ok: true, value: 'stored-sas' });
    expect(sourceAuth('User-Delegation')).toEqual({ ok: true, value: 'user-delegation' });
    expect(sourceAuth('identity')).toMatchObject({ ok: false });
  });
});

describe("preflight's proof of the copy's source credential", () => {
  it('refuses a run without a stored SAS, naming the fix, and never falls back to a user-delegation SAS', async () => {
    const calls: string[] = [];
    const proof = await proveRunCanFinish(ctx(testConfig(), fakeClients(calls)));
    expect(proof.canFinish).toBe(false);
    const reason = proof.canFinish ? '' : (proof.reasons[0] ?? '');
    expect(reason).toContain('No source credential is configured');
    expect(reason).toContain('az storage container generate-sas --account-name kyvosprimdata');
    expect(reason).toContain('--permissions rl');
    expect(reason).toContain('kyvos-dr-source-sas-secret-name');
    expect(calls).toEqual([]);
  });

  it('proves a stored SAS with that SAS on the secondary', async () => {
    const calls: string[] = [];
    const config = testConfig({ sourceSasSecretName: 'kyvos-dr-source-sas' });
    const proof = await proveRunCanFinish(
      ctx(config, fakeClients(calls), { KYVOS_DR_SOURCE_SAS: STORED_SAS }),
    );
    expect(proof).toMatchObject({
      canFinish: true,
      sourceAccess: { access: 'SAS from secret "kyvos-dr-source-sas"' },
    });
    expect(calls).toContain('list kyvosprimdata-secondary sas:stored');
    expect(calls.some((c) => c.startsWith('userDelegationKey'))).toBe(false);
  });

  it('with user-delegation, proves on the secondary the user-delegation SAS the copy will use', async () => {
    const calls: string[] = [];
    // A stored SAS is configured too: with user-delegation chosen, it is not what is proven.
    const config = testConfig({ sourceAuth: 'user-delegation', sourceSasSecretName: 'kyvos-dr-source-sas' });
    const proof = await proveRunCanFinish(
      ctx(config, fakeClients(calls), { KYVOS_DR_SOURCE_SAS: STORED_SAS }),
    );
    expect(proof).toMatchObject({ canFinish: true, sourceAccess: { access: 'user-delegation SAS' } });
    expect(calls[0]).toBe('userDelegationKey kyvosprimdata');
    expect(calls).toContain('list kyvosprimdata-secondary sas:user-delegation');
    expect(calls).toContain('properties kyvos/engine_work/a/part-0.parquet sas:user-delegation');
    expect(calls.some((c) => c.includes('sas:stored'))).toBe(false);
  });

  it('with user-delegation, refuses the run when the secondary does not accept that SAS', async () => {
    const clients = fakeClients([], async (sas) => {
      if (sas.includes('skoid=')) throw new Error('refused');
    });
    const proof = await proveRunCanFinish(ctx(testConfig({ sourceAuth: 'user-delegation' }), clients));
    expect(proof.canFinish).toBe(false);
    expect(proof.canFinish ? '' : proof.reasons[0]).toContain(
      'the copy cannot read its source (user-delegation SAS)',
    );
  });
});

describe('health: which source credential is in use, and whether it was proven', () => {
  const context = (clients: ClientFactory) => ({
    clients,
    settings: {},
    clock: () => T0,
    secondaryReachable: true,
  });

  it('is Unhealthy without a stored SAS, saying how to store one', async () => {
    const report = new ReportBuilder();
    await checkSourceAuth(testConfig(), report, context(fakeClients([])));
    expect(report.status).toBe('Unhealthy');
    expect(report.facts).toMatchObject({ sourceAuth: 'stored-sas', sourceAuthProven: false });
    expect(report.reasons[0]).toContain('az storage container generate-sas');
  });

  it('takes the proof of a stored SAS from the listing the SAS check made', async () => {
    const report = new ReportBuilder();
    report.facts.sasCanListSecondary = true;
    await checkSourceAuth(
      testConfig({ sourceSasSecretName: 'kyvos-dr-source-sas' }),
      report,
      context(fakeClients([])),
    );
    expect(report.facts).toMatchObject({
      sourceAuth: 'stored-sas',
      sourceAccess: 'SAS from secret "kyvos-dr-source-sas"',
      sourceAuthProven: true,
    });
    expect(report.status).toBe('Healthy');
  });

  it('proves a user-delegation SAS by reading the secondary with it', async () => {
    const calls: string[] = [];
    const report = new ReportBuilder();
    await checkSourceAuth(testConfig({ sourceAuth: 'user-delegation' }), report, context(fakeClients(calls)));
    expect(report.facts).toMatchObject({ sourceAuth: 'user-delegation', sourceAuthProven: true });
    expect(calls).toContain('list kyvosprimdata-secondary sas:user-delegation');
  });

  it('is Unhealthy when the secondary refuses the user-delegation SAS, advising a stored SAS', async () => {
    const report = new ReportBuilder();
    const clients = fakeClients([], async () => {
      throw new Error('refused');
    });
    await checkSourceAuth(testConfig({ sourceAuth: 'user-delegation' }), report, context(clients));
    expect(report.status).toBe('Unhealthy');
    expect(report.facts.sourceAuthProven).toBe(false);
    expect(report.reasons[0]).toContain('set kyvos-dr-source-auth to stored-sas');
  });
});
