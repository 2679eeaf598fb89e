import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { ACTIVE_SECRETS } from '../../../src/lib/config/secretNames.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { RunStore } from '../../../src/lib/failover/RunStore.js';
import {
  checkRecordedNamesNotDeleted,
  RECORDED_SECRET_NAMES,
  refusalOf,
} from '../../../src/lib/failover/runCanFinish.js';
import type { StepContext } from '../../../src/lib/failover/StepContext.js';
import { completedFailover } from '../../../src/lib/failover/steps/preflight.js';
import {
  NO_FAILOVER_RECORDED,
  readRecordedFailover,
  recordActiveNames,
} from '../../../src/lib/failover/steps/record.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const keyVault = { url: 'https://kv-kyvos.vault.azure.net', name: 'kv-kyvos' };
const RUN_ID = ACTIVE_SECRETS.lastFailoverRunId;

const restError = (statusCode: number, code: string, message = `${code}: refused`, details?: unknown) =>
  Object.assign(new Error(message), { statusCode, code, ...(details ? { details } : {}) });

/** A vault whose secrets are `values`; `deleted` answers Get Deleted Secret for each name. */
function vault(
  values: Record<string, string>,
  deleted: (name: string) => 'deleted' | 'absent' | 'forbidden' = () => 'absent',
): ClientFactory {
  return {
    secrets: () => ({
      getSecret: async (name: string) => {
        if (!(name in values)) throw restError(404, 'SecretNotFound');
        return { name, value: values[name] };
      },
      getDeletedSecret: async (name: string) => {
        const state = deleted(name);
        if (state === 'deleted') return { name };
        if (state === 'forbidden') throw restError(403, 'Forbidden', 'Caller is not authorized');
        throw restError(404, 'SecretNotFound');
      },
      setSecret: async (name: string, value: string) => {
        if (deleted(name) === 'deleted') {
          throw restError(
            409,
            'Conflict',
            `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
            { error: { code: 'Conflict', innererror: { code: 'ObjectIsDeletedButRecoverable' } } },
          );
        }
        values[name] = value;
        return { name, value };
      },
    }),
  } as unknown as ClientFactory;
}

describe('the reset marker of the run-id secret', () => {
  it('reads "none" (and an empty value) as no completed failover, and a run id as one', async () => {
    expect(NO_FAILOVER_RECORDED).toBe('none');
    const config = { keyVault };
    expect(await readRecordedFailover(config, vault({ [RUN_ID]: 'none' }))).toBeUndefined();
    expect(await readRecordedFailover(config, vault({ [RUN_ID]: '' }))).toBeUndefined();
    expect(await readRecordedFailover(config, vault({ [RUN_ID]: 'fo-1' }))).toEqual({ runId: 'fo-1' });
  });

  it('lets a new failover start once the secret is overwritten with the marker', async () => {
    const store = new RunStore(new InMemoryDocumentStore());
    const ctx = { config: { keyVault } as DrConfig, store };
    // An id this app has no run for is treated as a completed failover (the safe side).
    expect(await completedFailover({ ...ctx, clients: vault({ [RUN_ID]: 'fo-earlier' }) }, 'fo-new')).toEqual(
      { runId: 'fo-earlier' },
    );
    expect(
      await completedFailover({ ...ctx, clients: vault({ [RUN_ID]: NO_FAILOVER_RECORDED }) }, 'fo-new'),
    ).toBeUndefined();
  });
});

describe('a secret name of the record step that is soft-deleted', () => {
  it('refuses the run before anything irreversible, naming the secret and the recover command', async () => {
    const check = await checkRecordedNamesNotDeleted({
      config: { keyVault } as DrConfig,
      clients: vault({}, (name) => (name === RUN_ID ? 'deleted' : 'absent')),
    });
    expect(check.warnings).toEqual([]);
    expect(check.reasons).toHaveLength(1);
    expect(check.reasons[0]).toContain(`"${RUN_ID}"`);
    expect(check.reasons[0]).toContain(`az keyvault secret recover --vault-name kv-kyvos --name ${RUN_ID}`);
    const refusal = refusalOf(
      { mode: 'forced' },
      { eligibleForPlannedPromote: true, eligibilityReasons: [] },
      { canFinish: false, reasons: check.reasons },
    );
    expect(refusal?.message).toContain('Failover refused before anything was changed');
    expect(refusal?.message).toContain(`az keyvault secret recover --vault-name kv-kyvos --name ${RUN_ID}`);
  });

  it('checks every name the record step writes', async () => {
    const asked: string[] = [];
    await checkRecordedNamesNotDeleted({
      config: { keyVault } as DrConfig,
      clients: vault({}, (name) => {
        asked.push(name);
        return 'absent';
      }),
    });
    expect(asked.sort()).toEqual([...Object.values(ACTIVE_SECRETS)].sort());
    expect(RECORDED_SECRET_NAMES).toHaveLength(Object.keys(ACTIVE_SECRETS).length);
  });

  it('only warns when the identity may not read deleted secrets (403): the run is not refused', async () => {
    const check = await checkRecordedNamesNotDeleted({
      config: { keyVault } as DrConfig,
      clients: vault({}, () => 'forbidden'),
    });
    expect(check.reasons).toEqual([]);
    expect(check.warnings).toHaveLength(RECORDED_SECRET_NAMES.length);
    expect(check.warnings.join('\n')).toContain(`cannot check whether the secret "${RUN_ID}"`);
  });

  it('fails the record step with the secret and the fix when SetSecret answers 409 ObjectIsDeletedButRecoverable', async () => {
    const run = newRun('fo-20261201T100000Z-abcdef', { mode: 'forced' } as never, T0);
    const ctx = {
      config: {
        keyVault,
        primary: { postgresServer: 'pg-kyvos' },
        dr: { storageAccount: 'kyvosdrdata', container: 'kyvos', replicaServer: 'pg-kyvos-dr' },
      },
      clients: vault({}, (name) => (name === RUN_ID ? 'deleted' : 'absent')),
      run,
      clock: () => T0,
    } as unknown as StepContext;
    const error = (await recordActiveNames(ctx).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(`the secret "${RUN_ID}" is deleted but recoverable`);
    expect(error.message).toContain(`az keyvault secret recover --vault-name kv-kyvos --name ${RUN_ID}`);
    expect(error.message).toContain('retry this run');
  });
});
