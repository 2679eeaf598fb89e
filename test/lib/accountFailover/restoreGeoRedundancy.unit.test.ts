import { describe, expect, it } from 'vitest';
import { geoRedundantSkuFor } from '../../../src/lib/accountFailover/restoreGeoRedundancy.js';
import { drChecklist } from '../../../src/lib/report/kyvosDeployment.js';

describe('the SKU that makes a failed-over account geo-redundant again', () => {
  it('gives back the SKU the account had when a SKU update can reach it', () => {
    expect(geoRedundantSkuFor('Standard_GRS', 'Standard_LRS')).toBe('Standard_GRS');
    expect(geoRedundantSkuFor('Standard_RAGZRS', 'Standard_ZRS')).toBe('Standard_RAGZRS');
  });

  it('keeps the zone redundancy the account has now, since a SKU update cannot change it', () => {
    expect(geoRedundantSkuFor('Standard_RAGZRS', 'Standard_LRS')).toBe('Standard_RAGRS');
    expect(geoRedundantSkuFor('Standard_RAGRS', 'Standard_ZRS')).toBe('Standard_RAGZRS');
    expect(geoRedundantSkuFor(null, 'Standard_LRS')).toBe('Standard_RAGRS');
  });

  it('changes nothing on an account that is geo-redundant already', () => {
    expect(geoRedundantSkuFor('Standard_RAGRS', 'Standard_RAGRS')).toBeUndefined();
    expect(geoRedundantSkuFor(null, 'Standard_GZRS')).toBeUndefined();
  });
});

describe('the checklist after an unplanned account failover', () => {
  const inputs = (geoRedundancy?: Parameters<typeof drChecklist>[0]['accountFailover']) =>
    ({
      drStorageAccount: 'kyvosdata',
      drContainer: 'kyvos',
      accountFailover: geoRedundancy,
      keyVault: { name: 'kv-kyvos', dnsName: 'kv-kyvos.vault.azure.net' },
      promotedPostgresServer: 'pg-kyvos-dr',
      engineWorkDirectory: 'kyvos/engine_work',
    }) as Parameters<typeof drChecklist>[0];
  const item = (failover: Parameters<typeof drChecklist>[0]['accountFailover']) =>
    drChecklist(inputs(failover), true).find((i) => i.id === 'geo-redundancy')?.text ?? '';

  it('says the run restored geo-redundancy, and that the initial sync is still to wait for', () => {
    const text = item({
      failoverType: 'Unplanned',
      sku: 'Standard_LRS',
      geoRedundancy: { outcome: 'restored', sku: 'Standard_RAGRS', from: 'Standard_LRS' },
    });
    expect(text).toContain('geo-redundant again (Standard_LRS to Standard_RAGRS');
    expect(text).toContain('reports the status Live');
    expect(text).not.toContain('Re-enable');
  });

  it('gives the command, with why the run could not, when the SKU update was refused', () => {
    const text = item({
      failoverType: 'Unplanned',
      sku: 'Standard_LRS',
      geoRedundancy: {
        outcome: 'failed',
        sku: 'Standard_GRS',
        from: 'Standard_LRS',
        error: 'AuthorizationFailed',
      },
    });
    expect(text).toContain('Re-enable geo-redundancy');
    expect(text).toContain('--sku Standard_GRS');
    expect(text).toContain('refused: AuthorizationFailed');
  });

  it('asks the operator when the run was not configured to do it', () => {
    const text = item({ failoverType: 'Unplanned', sku: 'Standard_LRS' });
    expect(text).toContain('Re-enable geo-redundancy');
    expect(text).toContain('--sku Standard_RAGRS');
  });
});
