import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyFaultsChange } from '../../../local/emulator/faultsAdmin.js';
import { APP_NETWORK } from '../../../local/networkRules.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import type { LocalStorageAccount } from '../../../local/types.js';
import { ACTIVE_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { DoctorContext, DoctorFinding } from '../../../src/lib/doctor/doctorCheck.js';
import { keyVaultReadinessCheck } from '../../../src/lib/doctor/keyVaultChecks.js';
import { storageNetworkCheck } from '../../../src/lib/doctor/networkChecks.js';
import { runDoctor } from '../../../src/lib/doctor/runDoctor.js';
import { sourceSasCheck } from '../../../src/lib/doctor/sourceSasChecks.js';
import { storageAccountsCheck, storageFailoverCheck } from '../../../src/lib/doctor/storageChecks.js';
import { primaryAccountSas, signatureOf, stackDoctorContext } from '../../helpers/healthStack.js';

const CHECKS = [storageNetworkCheck, keyVaultReadinessCheck, storageAccountsCheck, sourceSasCheck];

describe('the doctor on the local stack: storage network rules, soft-deleted secret names, storage accounts and the source SAS', () => {
  let stack: LocalStack;
  let context: DoctorContext;
  let originalSas: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    context = await stackDoctorContext(stack);
    originalSas = primaryAccountSas(stack, {
      permissions: 'rl',
      expiresOn: new Date(Date.now() + 90 * 86_400_000),
    });
    await stack.setSecret(stack.names.sourceSasSecret, originalSas);
  });
  afterEach(async () => {
    stack.faults.storageNetworkRules = {};
    Object.assign(primaryAccount(), { sku: 'Standard_RAGRS', isHnsEnabled: true });
    Object.assign(drAccount(), { existsInArm: false, sku: 'Standard_LRS', isHnsEnabled: true });
    await stack.setSecret(stack.names.sourceSasSecret, originalSas);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const primaryAccount = () =>
    stack.accounts.find((a) => a.name === stack.names.primaryStorageAccount) as LocalStorageAccount;
  const drAccount = () =>
    stack.accounts.find((a) => a.name === stack.names.drStorageAccount) as LocalStorageAccount;
  const doctor = async () => (await runDoctor(context, { checks: CHECKS })).findings;
  const byId = (findings: DoctorFinding[], id: string) => {
    const finding = findings.find((f) => f.id === id);
    if (!finding) throw new Error(`no finding ${id} in ${JSON.stringify(findings.map((f) => f.id))}`);
    return finding;
  };
  /** Asserts the finding's outcome and that its fix names each of `fixes`. */
  const expectFinding = (
    findings: DoctorFinding[],
    id: string,
    outcome: DoctorFinding['outcome'],
    fixes: string[] = [],
  ) => {
    const finding = byId(findings, id);
    expect(finding.outcome).toBe(outcome);
    for (const fix of fixes) expect(finding.fix).toContain(fix);
    return finding;
  };

  it('every check passes on the default stack', async () => {
    const report = await runDoctor(context, { checks: CHECKS });
    expect(report.findings.filter((f) => f.outcome !== 'pass')).toEqual([]);
    expect(report.outcome).toBe('pass');
    expect(report.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'network.copySource',
        'network.appReadsSource',
        'network.appWritesDr',
        `keyVault.notSoftDeleted.${ACTIVE_SECRETS.storageAccount}`,
        'keyVault.notSoftDeleted.configuration',
        'keyVault.regionPair',
        'storage.source.sku',
        'storage.source.hns',
        'storage.dr.account',
        'storage.sas.permissions',
        'storage.sas.expiry',
        'storage.sas.scope',
      ]),
    );
  });

  it("a source firewall that admits neither the DR account's storage service nor the app's subnet fails both, naming the rules to change", async () => {
    applyFaultsChange(stack.faults, {
      storageNetworkRules: { [stack.names.primaryStorageAccount]: { defaultAction: 'Deny' } },
    });
    const findings = await doctor();
    expectFinding(findings, 'network.copySource', 'fail', [
      'az storage account update --name kyvosprimdata --resource-group rg-kyvos --public-network-access Enabled --default-action Allow',
    ]);
    expectFinding(findings, 'network.appReadsSource', 'fail', [
      `az storage account network-rule add --account-name kyvosprimdata --resource-group rg-kyvos --subnet ${APP_NETWORK.subnetId}`,
      '--service-endpoints Microsoft.Storage.Global',
    ]);
  });

  it("a source firewall with a rule for the app's subnet passes the app's reads and still fails the copy", async () => {
    applyFaultsChange(stack.faults, {
      storageNetworkRules: {
        [stack.names.primaryStorageAccount]: {
          defaultAction: 'Deny',
          virtualNetworkRules: [{ id: APP_NETWORK.subnetId, action: 'Allow' }],
        },
      },
    });
    const findings = await doctor();
    expectFinding(findings, 'network.appReadsSource', 'pass');
    expectFinding(findings, 'network.copySource', 'fail');
  });

  it("an existing DR account that denies the app's subnet, or has another SKU and no hierarchical namespace, is named with the fixes", async () => {
    Object.assign(drAccount(), { existsInArm: true, sku: 'Standard_GRS', isHnsEnabled: false });
    applyFaultsChange(stack.faults, {
      storageNetworkRules: { [stack.names.drStorageAccount]: { defaultAction: 'Deny' } },
    });
    const findings = await doctor();
    expectFinding(findings, 'network.appWritesDr', 'fail', [
      `az storage account network-rule add --account-name kyvosdrdata --resource-group rg-kyvos-dr --subnet ${APP_NETWORK.subnetId}`,
    ]);
    expectFinding(findings, 'network.appReadsSource', 'pass');
    expectFinding(findings, 'storage.dr.sku', 'warn', [
      'az storage account update --name kyvosdrdata --resource-group rg-kyvos-dr --sku Standard_LRS',
    ]);
    expectFinding(findings, 'storage.dr.hns', 'fail', ['kyvos-dr-dr-storage-account']);
  });

  it('a soft-deleted name the record step writes fails, naming recover and purge with the vault and the name', async () => {
    const name = ACTIVE_SECRETS.lastFailoverAt;
    const vault = context.config.keyVault as { url: string; name: string };
    const operator = stack.operatorClients().secrets(vault.url);
    await stack.setSecret(name, '2026-01-01T00:00:00.000Z');
    await (await operator.beginDeleteSecret(name)).pollUntilDone();
    try {
      expectFinding(await doctor(), `keyVault.notSoftDeleted.${name}`, 'fail', [
        `az keyvault secret recover --vault-name ${vault.name} --name ${name}`,
        `az keyvault secret purge --vault-name ${vault.name} --name ${name}`,
      ]);
    } finally {
      await operator.purgeDeletedSecret(name);
    }
    expectFinding(await doctor(), `keyVault.notSoftDeleted.${name}`, 'pass');
  });

  it('a source account without read access to its secondary or without a hierarchical namespace fails, naming the SKU and the upgrade', async () => {
    Object.assign(primaryAccount(), { sku: 'Standard_GRS', isHnsEnabled: false });
    const findings = await doctor();
    expectFinding(findings, 'storage.source.sku', 'fail', [
      'az storage account update --name kyvosprimdata --resource-group rg-kyvos --sku Standard_RAGRS',
    ]);
    expectFinding(findings, 'storage.source.hns', 'fail', ['az storage account hns-migration start']);
  });

  it('with the accountFailover strategy, an unavailable secondary fails storage.source.canFailover, naming the status and the way back to the copy', async () => {
    const failoverContext = {
      ...context,
      config: { ...context.config, storageStrategy: 'accountFailover' as const },
    };
    const run = async () => (await runDoctor(failoverContext, { checks: [storageFailoverCheck] })).findings;
    expectFinding(await run(), 'storage.source.canFailover', 'pass');
    stack.faults.secondaryUnavailable = true;
    try {
      const finding = byId(await run(), 'storage.source.canFailover');
      expect(finding.outcome).toBe('fail');
      expect(finding.detail).toContain('Unavailable');
      expect(finding.fix).toContain('--expand geoReplicationStats');
      expect(finding.fix).toContain('kyvos-dr-storage-strategy');
    } finally {
      stack.faults.secondaryUnavailable = false;
    }
    // With the copy, the check has nothing to say.
    expect((await runDoctor(context, { checks: [storageFailoverCheck] })).findings).toEqual([]);
  });

  it('a source SAS without list fails, naming a read/list SAS, and never shows the SAS', async () => {
    const sas = primaryAccountSas(stack, {
      permissions: 'r',
      expiresOn: new Date(Date.now() + 90 * 86_400_000),
    });
    await stack.setSecret(stack.names.sourceSasSecret, sas);
    const findings = await doctor();
    expectFinding(findings, 'storage.sas.permissions', 'fail', ['--permissions rl']);
    expect(JSON.stringify(findings)).not.toContain(signatureOf(sas));
  });

  it('an expired source SAS fails, naming a new SAS to store', async () => {
    const sas = primaryAccountSas(stack, { permissions: 'rl', expiresOn: new Date(Date.now() - 86_400_000) });
    await stack.setSecret(stack.names.sourceSasSecret, sas);
    const findings = await doctor();
    const expiry = expectFinding(findings, 'storage.sas.expiry', 'fail', [
      'az storage container generate-sas',
    ]);
    expect(expiry.detail).toContain('expired on');
    expect(JSON.stringify(findings)).not.toContain(signatureOf(sas));
  });
});

describe('the Key Vault check with the narrowest vault grants of infra/ (vaultWriteScope activeSecrets)', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      rbac: { parameters: { 'rbac-primary.json': { vaultWriteScope: 'activeSecrets' } } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('reads deleted secrets with Key Vault Secrets User on the vault: every name is checked', async () => {
    const report = await runDoctor(await stackDoctorContext(stack), { checks: [keyVaultReadinessCheck] });
    expect(report.findings.filter((f) => f.outcome !== 'pass')).toEqual([]);
  });
});
