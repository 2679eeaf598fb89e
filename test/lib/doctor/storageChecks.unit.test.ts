import type { StorageAccount } from '@azure/arm-storage';
import { describe, expect, it } from 'vitest';
import { drAccountFindings, sourceAccountFindings } from '../../../src/lib/doctor/storageChecks.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const config = testConfig();
const account = (sku: string, isHnsEnabled: boolean) =>
  ({ sku: { name: sku }, isHnsEnabled }) as StorageAccount;
const outcomes = (findings: { id: string; outcome: string }[]) =>
  Object.fromEntries(findings.map((f) => [f.id, f.outcome]));

describe('the source account', () => {
  it('RA-GRS and RA-GZRS with a hierarchical namespace pass', () => {
    expect(outcomes(sourceAccountFindings(account('Standard_RAGRS', true), config))).toEqual({
      'storage.source.sku': 'pass',
      'storage.source.hns': 'pass',
    });
    expect(
      outcomes(sourceAccountFindings(account('Standard_RAGZRS', true), config))['storage.source.sku'],
    ).toBe('pass');
  });

  it('a SKU without a readable secondary fails, naming the read-access SKU to set', () => {
    const [grs] = sourceAccountFindings(account('Standard_GRS', true), config);
    expect(grs).toMatchObject({ outcome: 'fail' });
    expect(grs?.fix).toContain(
      'az storage account update --name kyvosprimdata --resource-group rg-kyvos --sku Standard_RAGRS',
    );
    const [gzrs] = sourceAccountFindings(account('Standard_GZRS', true), config);
    expect(gzrs?.fix).toContain('--sku Standard_RAGZRS');
  });

  it('no hierarchical namespace fails, naming the upgrade', () => {
    const [, hns] = sourceAccountFindings(account('Standard_RAGRS', false), config);
    expect(hns).toMatchObject({ outcome: 'fail' });
    expect(hns?.fix).toContain(
      'az storage account hns-migration start --type validation --name kyvosprimdata',
    );
  });
});

describe('the DR account', () => {
  it('a missing account passes: the failover creates it', () => {
    const findings = drAccountFindings(undefined, config);
    expect(outcomes(findings)).toEqual({ 'storage.dr.account': 'pass' });
    expect(findings[0]?.detail).toContain('Standard_LRS');
  });

  it('the configured SKU with a hierarchical namespace passes', () => {
    expect(outcomes(drAccountFindings(account('Standard_LRS', true), config))).toEqual({
      'storage.dr.sku': 'pass',
      'storage.dr.hns': 'pass',
    });
  });

  it('another DR SKU warns (the failover keeps it); one outside DR_STORAGE_SKUS fails', () => {
    expect(outcomes(drAccountFindings(account('Standard_ZRS', true), config))['storage.dr.sku']).toBe('warn');
    expect(outcomes(drAccountFindings(account('Premium_LRS', true), config))['storage.dr.sku']).toBe('fail');
  });

  it('no hierarchical namespace fails', () => {
    const [, hns] = drAccountFindings(account('Standard_LRS', false), config);
    expect(hns).toMatchObject({ outcome: 'fail' });
    expect(hns?.fix).toContain('kyvos-dr-dr-storage-account');
  });
});
