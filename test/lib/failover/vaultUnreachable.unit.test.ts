import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { type FailoverRun, newRun } from '../../../src/lib/failover/FailoverRun.js';
import { RunStore } from '../../../src/lib/failover/RunStore.js';
import { advanceRun } from '../../../src/lib/failover/runbook.js';
import { IRREVERSIBLE_STEPS } from '../../../src/lib/failover/runCanFinish.js';
import { promotedInRunHistory } from '../../../src/lib/failover/runHistory.js';
import { DEFAULT_FAILOVER_OPTIONS, type StepContext } from '../../../src/lib/failover/StepContext.js';
import { recordActiveNames } from '../../../src/lib/failover/steps/record.js';
import { createLogger } from '../../../src/lib/log.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const VAULT = { url: 'https://kv-kyvos.vault.azure.net', name: 'kv-kyvos' };
const config = testConfig({ keyVault: VAULT, sourceSasSecretName: 'kyvos-dr-source-sas' });
const request = { mode: 'forced' as const, reason: 'test', dryRun: false, requestedBy: 'test' };

/** A vault that never answers: every call fails as a dropped connection does, without a status. */
const unreachable = () => {
  throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
};
const unreachableVault = {
  secrets: () => ({ getSecret: unreachable, setSecret: unreachable, getDeletedSecret: unreachable }),
} as unknown as ClientFactory;

async function storeWithEarlierRun(change: (run: FailoverRun) => void): Promise<RunStore> {
  const store = new RunStore(new InMemoryDocumentStore());
  const earlier = newRun('fo-20261101T100000Z-000001', { ...request }, new Date('2026-11-01T10:00:00Z'));
  earlier.steps['database.promote'].status = 'Succeeded';
  earlier.steps['database.promote'].endedAt = '2026-11-01T10:05:00.000Z';
  earlier.steps['database.promote'].detail = { server: 'pg-kyvos-dr' };
  change(earlier);
  await store.create(earlier);
  return store;
}

describe('an earlier failover in the run history, while the vault cannot be reached', () => {
  it('is a run of this app that promoted the configured replica', async () => {
    const store = await storeWithEarlierRun(() => {});
    expect(await promotedInRunHistory(store, config, 'fo-20261201T100000Z-abcdef')).toEqual({
      runId: 'fo-20261101T100000Z-000001',
      at: '2026-11-01T10:05:00.000Z',
    });
  });

  it('is not the run itself (a retry), a dry run, a promote that did not succeed, or another server', async () => {
    const self = await storeWithEarlierRun(() => {});
    expect(await promotedInRunHistory(self, config, 'fo-20261101T100000Z-000001')).toBeUndefined();
    const dry = await storeWithEarlierRun((r) => {
      r.request.dryRun = true;
    });
    expect(await promotedInRunHistory(dry, config, 'x')).toBeUndefined();
    const failed = await storeWithEarlierRun((r) => {
      r.steps['database.promote'].status = 'Failed';
    });
    expect(await promotedInRunHistory(failed, config, 'x')).toBeUndefined();
    const other = await storeWithEarlierRun((r) => {
      r.steps['database.promote'].detail = { server: 'pg-kyvos-dr-old' };
    });
    expect(await promotedInRunHistory(other, config, 'x')).toBeUndefined();
  });

  it('refuses a new run at preflight, before anything irreversible', async () => {
    const store = await storeWithEarlierRun(() => {});
    const runId = 'fo-20261201T100000Z-abcdef';
    await store.acquireLock(runId, T0);
    await store.create(newRun(runId, request, T0));
    const { run } = await advanceRun(
      {
        clients: unreachableVault,
        config,
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
    expect(run.errors.join('\n')).toContain('already failed over (run fo-20261101T100000Z-000001');
    for (const step of IRREVERSIBLE_STEPS) expect(run.steps[step].status).toBe('Skipped');
  });
});

describe('the record step while the vault cannot be reached', () => {
  it('fails, naming the vault, the names to set and how to resume the run', async () => {
    const run = newRun('fo-20261201T100000Z-abcdef', request, T0);
    const ctx = {
      config,
      clients: unreachableVault,
      run,
      clock: () => T0,
    } as unknown as StepContext;
    const error = await recordActiveNames(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('Cannot record the new names in Key Vault kv-kyvos: it could not be reached');
    expect(message).toContain('kyvos-dr retry fo-20261201T100000Z-abcdef');
    expect(message).toContain('kyvos-dr-active-pg-server');
    expect(
      (error as { detail?: { activeNames?: Record<string, string> } }).detail?.activeNames,
    ).toMatchObject({
      'kyvos-dr-active-pg-server': 'pg-kyvos-dr',
    });
  });
});
