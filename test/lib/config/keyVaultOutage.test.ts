import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { failoverRetry } from '../../../src/functions/failoverRetry.js';
import { ACTIVE_SECRETS, APP_SETTINGS } from '../../../src/lib/config/secretNames.js';
import { createDeps } from '../../../src/lib/deps.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { getLatestReadiness } from '../../../src/lib/health/readiness.js';
import { runHealthCheck } from '../../../src/lib/health/runHealthCheck.js';
import { buildReport } from '../../../src/lib/report/failoverReport.js';
import {
  capturingLogger,
  expectCompleteFailover,
  failoverDepsFor,
  httpRequest,
  invocation,
  postFailover,
} from '../../helpers/failoverHarness.js';

const FALLBACK_REASON = /^app settings \(KYVOS_DR_\*\), because Key Vault kv-kyvos .*could not be reached/;

/**
 * The vault sits in West US 3, where Key Vault does not fail over to another region: when it cannot
 * be reached, the configuration comes from the `KYVOS_DR_*` app settings, and health and the run say so.
 */
describe('a Key Vault in a region without failover, and unreachable', () => {
  let stack: LocalStack;
  let blobs: number;

  beforeAll(async () => {
    stack = await startLocalStack({ keyVaultLocation: 'westus3' });
    ({ blobs } = await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 20,
      },
    ));
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(() => {
    stack.setKeyVaultUnavailable(false);
  });

  /** The stack's app settings with the fallback populated, and no configuration cache. */
  const withFallback = () => ({
    ...stack.settings,
    ...stack.fallbackSettings,
    [APP_SETTINGS.configCacheSeconds]: '0',
  });

  it("health reads the vault's region from ARM and names the app settings to populate while the fallback is empty", async () => {
    const empty = await runHealthCheck('storage', createDeps(stack.settings, { clients: stack.clients }));
    expect(empty.report.facts).toMatchObject({
      configSource: 'Key Vault kv-kyvos',
      keyVaultRegion: 'westus3',
      keyVaultFailover: 'none',
      appSettingsFallbackComplete: false,
      sourceAuth: 'stored-sas',
      sourceAuthProven: true,
    });
    const warning = empty.report.reasons.find((r) => r.includes('where Key Vault does not fail over'));
    expect(warning).toContain('KYVOS_DR_SUBSCRIPTION_ID');
    expect(warning).toContain('KYVOS_DR_SOURCE_SAS');

    const populated = await runHealthCheck('storage', createDeps(withFallback(), { clients: stack.clients }));
    expect(populated.report.facts.appSettingsFallbackComplete).toBe(true);
    expect(populated.report.reasons.join(' ')).not.toContain('where Key Vault does not fail over');
    expect(populated.report.facts.appSettingsFallbackDrift).toBeNull();

    const stale = { ...withFallback(), KYVOS_DR_DR_STORAGE_ACCOUNT: 'kyvosdrold' };
    const drifted = await runHealthCheck('storage', createDeps(stale, { clients: stack.clients }));
    expect(drifted.report.reasons.join(' ')).toContain(
      'differs from Key Vault kv-kyvos in dr.storageAccount',
    );
  });

  it('health reads the configuration from the app settings while the vault is unreachable, and says so', async () => {
    stack.setKeyVaultUnavailable(true);
    const deps = createDeps(withFallback(), { clients: stack.clients });
    const recorded = await runHealthCheck('storage', deps);
    expect(String(recorded.report.facts.configSource)).toMatch(FALLBACK_REASON);
    expect(recorded.report.status).toBe('Degraded');
    expect(recorded.report.reasons.join(' ')).toContain('record step cannot write the new names');
    // The source SAS came from its break-glass app setting, and still lists the secondary.
    expect(recorded.report.facts).toMatchObject({ sasCanListSecondary: true, sourceAuthProven: true });
    // GET /api/health shows both first.
    const readiness = await getLatestReadiness(deps);
    expect(readiness.configuration).toMatch(FALLBACK_REASON);
    expect(readiness.sourceAccess).toEqual({
      auth: 'stored-sas',
      access: 'SAS from secret "kyvos-dr-source-sas"',
      proven: true,
    });
  });

  it('a forced failover reads its configuration from the app settings, stops at the record step, and finishes once the vault is back', async () => {
    stack.setKeyVaultUnavailable(true);
    const deps = failoverDepsFor(stack, capturingLogger().logger, {}, withFallback());
    const runId = await postFailover(deps, {
      mode: 'forced',
      reason: 'primary region and its vault are down',
    });
    const failed = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
    expect(failed.state).toBe('Failed');
    const preflight = failed.steps.preflight.detail as { configuration: string; warnings: string[] };
    expect(preflight.configuration).toMatch(FALLBACK_REASON);
    expect(preflight.warnings.join(' ')).toContain("looked up in this app's run history instead");
    expect(buildReport(failed, await deps.config()).configuration).toMatch(FALLBACK_REASON);
    expect(failed.steps['database.promote'].status).toBe('Succeeded');
    expect(failed.steps.record.status).toBe('Failed');
    expect(failed.steps.record.error).toContain(
      'Cannot record the new names in Key Vault kv-kyvos: it could not be reached',
    );
    expect(failed.steps.record.error).toContain(`kyvos-dr retry ${runId}`);

    stack.setKeyVaultUnavailable(false);
    const retried = await failoverRetry(
      httpRequest(
        'POST',
        `https://kyvos-dr.example/api/failover/${runId}/retry`,
        { reason: 'vault back', requestedBy: 'oncall' },
        { runId },
      ),
      invocation('failoverRetry'),
      deps,
    );
    expect(retried.status).toBe(202);
    const done = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 180_000 });
    await expectCompleteFailover(stack, done, blobs);
    const vault = stack.clients.secrets(stack.descriptor.keyVaultUrl);
    expect((await vault.getSecret(ACTIVE_SECRETS.postgresServer)).value).toBe(
      stack.names.replicaPostgresServer,
    );
    expect((await vault.getSecret(ACTIVE_SECRETS.lastFailoverRunId)).value).toBe(runId);
  });
});
