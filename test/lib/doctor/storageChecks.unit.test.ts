import type { StorageAccount } from '@azure/arm-storage';
import { describe, expect, it } from 'vitest';
import {
  drAccountFindings,
  sourceAccountFindings,
  sourceFailoverFinding,
} from '../../../src/lib/doctor/storageChecks.js';
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

describe('the account failover of the source account (accountFailover strategy)', () => {
  const withGeo = (geoReplicationStats: StorageAccount['geoReplicationStats']) =>
    ({ sku: { name: 'Standard_RAGRS' }, isHnsEnabled: true, geoReplicationStats }) as StorageAccount;

  it('passes when Azure reports canFailover, naming the redundancy after it', () => {
    const finding = sourceFailoverFinding(
      withGeo({ status: 'Live', canFailover: true, postFailoverRedundancy: 'Standard_LRS' }),
      config,
    );
    expect(finding).toMatchObject({ id: 'storage.source.canFailover', outcome: 'pass' });
    expect(finding.detail).toContain('Standard_LRS');
    expect(finding.fix).toBeUndefined();
  });

  it('fails while the secondary is not Live, naming the status and the way back to the copy', () => {
    const finding = sourceFailoverFinding(withGeo({ status: 'Unavailable', canFailover: false }), config);
    expect(finding).toMatchObject({ id: 'storage.source.canFailover', outcome: 'fail' });
    expect(finding.detail).toContain('status is Unavailable');
    expect(finding.fix).toContain('--expand geoReplicationStats');
    expect(finding.fix).toContain('kyvos-dr-storage-strategy');
    const bootstrap = sourceFailoverFinding(withGeo({ status: 'Bootstrap', canFailover: false }), config);
    expect(bootstrap.detail).toContain('initial sync');
  });

  it('fails a Live account that Azure still refuses, naming an unsupported feature', () => {
    const finding = sourceFailoverFinding(withGeo({ status: 'Live', canFailover: false }), config);
    expect(finding.outcome).toBe('fail');
    expect(finding.detail).toContain('does not support');
  });

  it('fails an account without geoReplicationStats, naming the geo-redundant SKU to set', () => {
    const finding = sourceFailoverFinding(
      { sku: { name: 'Standard_LRS' }, isHnsEnabled: true } as StorageAccount,
      config,
    );
    expect(finding.outcome).toBe('fail');
    expect(finding.fix).toContain('--sku Standard_RAGRS');
  });
});
