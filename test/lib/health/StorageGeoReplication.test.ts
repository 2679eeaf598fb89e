import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyFaultsChange } from '../../../local/emulator/faultsAdmin.js';
import { APP_NETWORK } from '../../../local/networkRules.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import type { LocalStorageAccount } from '../../../local/types.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import type { Deps } from '../../../src/lib/deps.js';
import { checkStorageGeoReplication } from '../../../src/lib/health/StorageGeoReplication.js';
import {
  primaryAccountSas,
  signatureOf,
  sleep,
  stackDeps,
  waitFor,
  withThresholds,
} from '../../helpers/healthStack.js';

describe('storage geo-replication check on the local stack', () => {
  let stack: LocalStack;
  let deps: Deps;
  let config: DrConfig;
  let originalSas: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    deps = stackDeps(stack);
    config = await deps.config();
    originalSas = primaryAccountSas(stack, {
      permissions: 'rl',
      expiresOn: new Date(Date.now() + 90 * 86_400_000),
    });
    await stack.setSecret(stack.names.sourceSasSecret, originalSas);
  });
  afterEach(async () => {
    stack.setStorageReplicationDelay(0);
    stack.setSecondaryUnavailable(false);
    stack.resumeStorageReplication();
    stack.faults.armThrottle = null;
    stack.faults.storageNetworkRules = {};
    await stack.setSecret(stack.names.sourceSasSecret, originalSas);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const primaryAccount = () =>
    stack.accounts.find((a) => a.name === stack.names.primaryStorageAccount) as LocalStorageAccount;

  it('a healthy RA-GRS account reports Live, both sources, and an RPO measured from the real lastSyncTime', async () => {
    const report = await checkStorageGeoReplication(config, deps);
    expect(report).toMatchObject({ check: 'storage', status: 'Healthy', reasons: [] });
    expect(report.facts).toMatchObject({
      account: 'kyvosprimdata',
      source: 'both',
      sku: 'Standard_RAGRS',
      isHnsEnabled: true,
      geoStatus: 'Live',
      dataPlaneStatus: 'live',
      canFailover: true,
      secondaryLocation: 'eastus2',
      maxRpoSeconds: 900,
      sasSecretName: stack.names.sourceSasSecret,
      sasCanListSecondary: true,
    });
    // The RPO is the age of the stack's own lastSyncTime (whole seconds) at the time of the check.
    const lastSync = Date.parse(report.facts.rpoLastSyncTime as string);
    const expected = (Date.parse(report.checkedAt) - lastSync) / 1000;
    expect(report.rpoSeconds).toBeGreaterThanOrEqual(0);
    expect(report.rpoSeconds).toBeLessThan(3);
    expect(Math.abs((report.rpoSeconds as number) - expected)).toBeLessThan(1);
    expect(report.facts.sasDaysToExpiry).toBeCloseTo(90, 0);
  });

  it('paused replication makes the measured RPO grow: Degraded over the threshold, Unhealthy over twice it', async () => {
    const small = withThresholds(config, { maxStorageRpoSeconds: 2 });
    stack.pauseStorageReplication();
    const pausedAt = stack.faults.storageReplicationPausedAt as Date;
    await sleep(2_300);

    const degraded = await checkStorageGeoReplication(small, deps);
    const frozen = Date.parse(degraded.facts.lastSyncTime as string);
    expect(frozen).toBeLessThanOrEqual(pausedAt.getTime());
    expect(frozen).toBeGreaterThan(pausedAt.getTime() - 1_000);
    expect(degraded.facts.dataPlaneLastSyncTime).toBe(degraded.facts.lastSyncTime);
    expect(degraded.status).toBe('Degraded');
    expect(degraded.rpoSeconds).toBeGreaterThan(2);
    expect(degraded.rpoSeconds).toBeLessThanOrEqual(4);
    expect(degraded.reasons).toEqual([
      `Storage RPO is ${degraded.rpoSeconds} s (last sync ${new Date(frozen).toISOString()}), over the threshold of 2 s: geo-replication is behind, and a failover now would lose the writes since the last sync.`,
    ]);

    await sleep(4_100 - (Date.now() - frozen));
    const unhealthy = await checkStorageGeoReplication(small, deps);
    expect(unhealthy.status).toBe('Unhealthy');
    expect(unhealthy.rpoSeconds).toBeGreaterThan(4);
    expect(unhealthy.reasons[0]).toContain('over twice the threshold of 2 s');

    stack.resumeStorageReplication();
    // Replication catches up on its own once resumed.
    const recovered = await waitFor(
      () => checkStorageGeoReplication(small, deps),
      (report) => report.status === 'Healthy',
      { what: 'a Healthy storage report after replication resumed' },
    );
    expect(recovered.rpoSeconds).toBeLessThan(2);
  });

  it('a secondary that lags its primary gives an RPO of at least the lag, measured from its real lastSyncTime', async () => {
    const delayMs = 3_000;
    stack.setStorageReplicationDelay(delayMs);
    const primary = stack.clients
      .blobService(stack.names.primaryStorageAccount)
      .getContainerClient(stack.names.container);
    await primary.getBlockBlobClient('rpo/lagging.txt').upload('x', 1);
    // lastSyncTime does not go back when the lag grows: wait until it is the lag behind.
    await waitFor(
      async () => Date.now() - stack.storageLastSyncTime().getTime(),
      (age) => age >= delayMs,
      { what: 'lastSyncTime the lag behind' },
    );
    const before = stack.storageLastSyncTime().getTime();
    const report = await checkStorageGeoReplication(config, deps);
    const after = stack.storageLastSyncTime().getTime();

    const lastSync = Date.parse(report.facts.rpoLastSyncTime as string);
    expect(lastSync).toBeGreaterThanOrEqual(before);
    expect(lastSync).toBeLessThanOrEqual(after);
    expect(report.rpoSeconds).toBeGreaterThanOrEqual(delayMs / 1000);
    expect(
      Math.abs((report.rpoSeconds as number) - (Date.parse(report.checkedAt) - lastSync) / 1000),
    ).toBeLessThanOrEqual(1);
    expect(report.status).toBe('Healthy');
  });

  it('an unavailable secondary endpoint is Unhealthy while the primary still answers', async () => {
    stack.setSecondaryUnavailable(true);
    const report = await checkStorageGeoReplication(config, deps);
    expect(report.status).toBe('Unhealthy');
    expect(report.facts.geoStatus).toBe('Unavailable');
    expect(report.facts.source).toBe('management');
    expect(report.reasons).toContain(
      `Secondary endpoint unreachable (${stack.clients.blobEndpoint('kyvosprimdata', true)}: ${report.facts.dataPlaneError}): a failover could not read the data.`,
    );
    expect(report.rpoSeconds).toBeNull();
    expect(report.facts.sasCanListSecondary).toBeNull();

    const primary = stack.clients
      .blobService(stack.names.primaryStorageAccount)
      .getContainerClient(stack.names.container);
    await primary.getBlockBlobClient('kyvos/engine_work/still-here.txt').upload('ok', 2);
    expect(
      (await primary.getBlockBlobClient('kyvos/engine_work/still-here.txt').downloadToBuffer()).toString(),
    ).toBe('ok');
  });

  it('a source SAS close to expiry is Degraded with its expiry date, and the SAS never appears', async () => {
    const expiresOn = new Date(Date.now() + 3 * 86_400_000);
    const sas = primaryAccountSas(stack, { permissions: 'rl', expiresOn });
    await stack.setSecret(stack.names.sourceSasSecret, sas);
    const report = await checkStorageGeoReplication(config, deps);
    const date = new Date(Math.floor(expiresOn.getTime() / 1000) * 1000).toISOString();
    expect(report.status).toBe('Degraded');
    expect(report.facts).toMatchObject({ sasExpiresOn: date, sasCanListSecondary: true });
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toMatch(
      new RegExp(
        `^The source SAS in secret "kyvos-dr-source-sas" expires on ${date.replace(/[.]/g, '\\.')} \\(in 3\\.0 days\\), within the 14-day warning window`,
      ),
    );
    expect(JSON.stringify(report)).not.toContain(signatureOf(sas));
  });

  it('a source SAS that cannot list the container on the secondary is Unhealthy', async () => {
    const sas = primaryAccountSas(stack, {
      permissions: 'r',
      expiresOn: new Date(Date.now() + 60 * 86_400_000),
    });
    await stack.setSecret(stack.names.sourceSasSecret, sas);
    const report = await checkStorageGeoReplication(config, deps);
    expect(report.status).toBe('Unhealthy');
    expect(report.facts.sasCanListSecondary).toBe(false);
    expect(report.reasons).toEqual([
      expect.stringMatching(
        /^The source SAS in secret "kyvos-dr-source-sas" cannot list container "kyvoscontainer" on the secondary endpoint \(403 \w+: [^)]+\)/,
      ),
    ]);
    expect(JSON.stringify(report)).not.toContain(signatureOf(sas));
  });

  it('an account without read access to its secondary is Unhealthy, with the command that fixes it', async () => {
    const account = primaryAccount();
    account.sku = 'Standard_GRS';
    try {
      const report = await checkStorageGeoReplication(config, deps);
      expect(report.status).toBe('Unhealthy');
      expect(report.facts.sku).toBe('Standard_GRS');
      expect(report.reasons[0]).toBe(
        'Storage account "kyvosprimdata" has SKU Standard_GRS, without a readable secondary: the DR procedure copies from the RA-GRS secondary endpoint. Enable read access: az storage account update --name kyvosprimdata --resource-group rg-kyvos --sku Standard_RAGRS',
      );
    } finally {
      account.sku = 'Standard_RAGRS';
    }
  });

  it('a DR region other than the secondary region of the account is Degraded, naming both', async () => {
    const report = await checkStorageGeoReplication(
      { ...config, dr: { ...config.dr, region: 'westus3' } },
      deps,
    );
    expect(report.status).toBe('Degraded');
    expect(report.reasons.join(' ')).toContain('is in eastus2, but the configured DR region is westus3');
  });

  it('a few 429s from the management plane are retried and the check still uses it', async () => {
    stack.throttleArm(2, 429);
    const started = Date.now();
    const report = await checkStorageGeoReplication(config, deps);
    const elapsed = Date.now() - started;
    expect(stack.faults.armThrottle).toBeNull();
    expect(elapsed).toBeGreaterThanOrEqual(2_000); // two Retry-After: 1 waits
    expect(report).toMatchObject({ status: 'Healthy', facts: { source: 'both', sku: 'Standard_RAGRS' } });
  });

  it('a management plane answering 503 after every retry falls back to the data plane, and says so', async () => {
    stack.throttleArm(1_000, 503);
    const report = await checkStorageGeoReplication(config, deps);
    expect(report.status).toBe('Degraded');
    expect(report.facts).toMatchObject({
      source: 'data-plane',
      managementError: expect.stringMatching(
        /^503 ServiceUnavailable: The service is temporarily unavailable/,
      ),
    });
    expect(report.facts).not.toHaveProperty('sku');
    expect(report.facts.dataPlaneLastSyncTime).toEqual(expect.any(String));
    expect(report.rpoSeconds).toBeLessThan(3);
    expect(report.reasons).toEqual([
      `The Storage management plane did not answer for "kyvosprimdata" after retries (${report.facts.managementError}): SKU and canFailover are unverified; the figures come from the secondary endpoint (data plane).`,
    ]);
  });

  it("source network rules that deny the DR account's storage service are Unhealthy, with the fix, though the app reads the secondary", async () => {
    applyFaultsChange(stack.faults, {
      storageNetworkRules: {
        [stack.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId, action: 'Allow' }],
        },
      },
    });
    const report = await checkStorageGeoReplication(config, deps);
    expect(report.status).toBe('Unhealthy');
    expect(report.facts).toMatchObject({
      source: 'both',
      sasCanListSecondary: true,
      networkDefaultAction: 'Deny',
      copyNetworkAccess: 'denied',
    });
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toContain(`the DR account "${stack.names.drStorageAccount}"'s storage service`);
    expect(report.reasons[0]).toContain(
      `az storage account update --name ${stack.names.primaryStorageAccount} --resource-group ${stack.names.primaryResourceGroup} --public-network-access Enabled --default-action Allow`,
    );
  });

  it("an IP rule is Degraded: it may or may not name the address of the DR account's storage service", async () => {
    applyFaultsChange(stack.faults, {
      storageNetworkRules: {
        [stack.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId }],
          ipRules: [{ value: '198.51.100.0/24' }],
        },
      },
    });
    const report = await checkStorageGeoReplication(config, deps);
    expect(report.status).toBe('Degraded');
    expect(report.facts.copyNetworkAccess).toBe('uncertain');
  });

  it("rules that deny the app's own network make the secondary refuse it, and the reason names the network rules", async () => {
    applyFaultsChange(stack.faults, {
      storageNetworkRules: { [stack.names.primaryStorageAccount]: { defaultAction: 'Deny' } },
    });
    const report = await checkStorageGeoReplication(config, deps);
    expect(report.status).toBe('Unhealthy');
    expect(report.facts.dataPlaneError).toContain('AuthorizationFailure');
    expect(report.reasons.join(' ')).toContain(
      "network rules (firewall) do not admit the Function app's network",
    );
  });
});
