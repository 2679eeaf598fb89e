import { describe, expect, it } from 'vitest';
import { ACTIVE_SECRETS } from '../../../src/lib/config/secretNames.js';
import { readSoftDeletedStates, type SoftDeletedState } from '../../../src/lib/config/softDeletedSecrets.js';
import { regionPairFinding, softDeletedFindings } from '../../../src/lib/doctor/keyVaultChecks.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';
import { restError } from '../../helpers/restError.js';

const vault = { url: 'https://kv-kyvos.vault.azure.net/', name: 'kv-kyvos' };
const config = testConfig({ keyVault: vault, sourceSasSecretName: 'kyvos-dr-source-sas' });
const recorded = Object.values(ACTIVE_SECRETS);
const notDeleted = (name: string): SoftDeletedState => ({ name, state: 'notDeleted' });

describe('soft-deleted secret names', () => {
  it('reads each name: 200 is deleted, 404 is not, 403 is forbidden, anything else unreadable', async () => {
    const answers: Record<string, () => Promise<unknown>> = {
      a: async () => ({ name: 'a' }),
      b: () => Promise.reject(restError(404, 'SecretNotFound')),
      c: () => Promise.reject(restError(403, 'Forbidden')),
      d: () => Promise.reject(restError(500, 'InternalError')),
    };
    const secrets = { getDeletedSecret: (name: string) => (answers[name] as () => Promise<never>)() };
    const states = await readSoftDeletedStates(secrets, ['a', 'b', 'c', 'd']);
    expect(states.map((s) => [s.name, s.state])).toEqual([
      ['a', 'deleted'],
      ['b', 'notDeleted'],
      ['c', 'forbidden'],
      ['d', 'unreadable'],
    ]);
  });

  it('every recorded name not deleted, and no configuration name deleted: all pass', () => {
    const findings = softDeletedFindings(
      [...recorded, 'kyvos-dr-copy-prefix'].map(notDeleted),
      config,
      vault,
    );
    expect(findings.every((f) => f.outcome === 'pass')).toBe(true);
    expect(findings.map((f) => f.id)).toEqual([
      ...recorded.map((name) => `keyVault.notSoftDeleted.${name}`),
      'keyVault.notSoftDeleted.configuration',
    ]);
  });

  it('a soft-deleted recorded name fails, naming recover and purge with the vault and the name', () => {
    const states = recorded.map((name) =>
      name === ACTIVE_SECRETS.storageAccount ? { name, state: 'deleted' as const } : notDeleted(name),
    );
    const finding = softDeletedFindings(states, config, vault).find(
      (f) => f.id === `keyVault.notSoftDeleted.${ACTIVE_SECRETS.storageAccount}`,
    );
    expect(finding?.outcome).toBe('fail');
    expect(finding?.fix).toContain(
      'az keyvault secret recover --vault-name kv-kyvos --name kyvos-dr-active-storage-account',
    );
    expect(finding?.fix).toContain(
      'az keyvault secret purge --vault-name kv-kyvos --name kyvos-dr-active-storage-account',
    );
  });

  it('a soft-deleted configuration name warns, and the source SAS secret fails when the copy reads with a stored SAS', () => {
    const states = [
      ...recorded.map(notDeleted),
      { name: 'kyvos-dr-copy-prefix', state: 'deleted' as const },
      { name: 'kyvos-dr-source-sas', state: 'deleted' as const },
    ];
    const findings = softDeletedFindings(states, config, vault);
    expect(findings.find((f) => f.id === 'keyVault.notSoftDeleted.kyvos-dr-copy-prefix')?.outcome).toBe(
      'warn',
    );
    expect(findings.find((f) => f.id === 'keyVault.notSoftDeleted.kyvos-dr-source-sas')?.outcome).toBe(
      'fail',
    );
    expect(findings.some((f) => f.id === 'keyVault.notSoftDeleted.configuration')).toBe(false);
    const delegated = softDeletedFindings(states, { ...config, sourceAuth: 'user-delegation' }, vault);
    expect(delegated.find((f) => f.id === 'keyVault.notSoftDeleted.kyvos-dr-source-sas')?.outcome).toBe(
      'warn',
    );
  });

  it('names the app may not check are unknown, naming the role that lets it read deleted secrets and its scope', () => {
    const forbidden = (name: string): SoftDeletedState => ({
      name,
      state: 'forbidden',
      error: restError(403, 'Forbidden'),
    });
    const findings = softDeletedFindings([...recorded, 'kyvos-dr-copy-prefix'].map(forbidden), config, vault);
    expect(findings.every((f) => f.outcome === 'unknown')).toBe(true);
    expect(findings).toHaveLength(recorded.length + 1);
    expect(findings[0]?.fix).toContain(
      '--role "Key Vault Secrets User" --scope /subscriptions/6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a/resourceGroups/rg-kyvos/providers/Microsoft.KeyVault/vaults/kv-kyvos',
    );
  });
});

describe("the vault's region", () => {
  it('a region with a pair passes', () => {
    expect(regionPairFinding({ region: 'centralus' }, [], vault).outcome).toBe('pass');
  });

  it('a region where Key Vault does not fail over passes once the app-settings fallback is complete, and fails while it lacks settings', () => {
    const complete = regionPairFinding({ region: 'westus3' }, [], vault);
    expect(complete.outcome).toBe('pass');
    expect(complete.detail).toContain('set by hand');
    const failing = regionPairFinding({ region: 'West US 3' }, ['KYVOS_DR_SOURCE_SAS'], vault);
    expect(failing.outcome).toBe('fail');
    expect(failing.fix).toContain('KYVOS_DR_SOURCE_SAS');
  });

  it('a region that cannot be read is unknown, with the reason', () => {
    const finding = regionPairFinding({ error: '403 AuthorizationFailed' }, [], vault);
    expect(finding).toMatchObject({
      outcome: 'unknown',
      detail: expect.stringContaining('403 AuthorizationFailed'),
    });
  });
});
