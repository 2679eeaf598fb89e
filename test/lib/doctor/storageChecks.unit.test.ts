import type { StorageAccount } from '@azure/arm-storage';
import { describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import {
  drAccountFindings,
  sourceAccountFindings,
  sourceSasFindings,
} from '../../../src/lib/doctor/storageChecks.js';
import { parseSas, type SasInfo } from '../../../src/lib/source/sourceCredential.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const config = testConfig();
const NOW = new Date('2026-12-01T00:00:00Z');
const account = (sku: string, isHnsEnabled: boolean) =>
  ({ sku: { name: sku }, isHnsEnabled }) as StorageAccount;
const outcomes = (findings: { id: string; outcome: string }[]) =>
  Object.fromEntries(findings.map((f) => [f.id, f.outcome]));

/** The parsed parts of a SAS query string (a fake signature). */
function sas(query: string): SasInfo {
  const info = parseSas(new Sensitive(`${query}&sig=c2lnbmF0dXJl`));
  if ('problem' in info) throw new Error(info.problem);
  return info;
}
const GOOD = 'sv=2025-01-05&ss=b&srt=co&sp=rl&se=2027-06-01T00:00:00Z&spr=https';
const sasFindings = (query: string) => sourceSasFindings(sas(query), config, NOW, 'kyvos-dr-source-sas');
const sasFinding = (query: string, id: string) => sasFindings(query).find((f) => f.id === id);

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

describe('the source SAS', () => {
  it('a read/list account SAS over blob containers and objects, HTTPS only, far from expiry, passes everything', () => {
    expect(sasFindings(GOOD).every((f) => f.outcome === 'pass')).toBe(true);
    expect(sasFinding('sv=2025-01-05&sr=c&sp=rl&se=2027-06-01T00:00:00Z', 'storage.sas.scope')?.outcome).toBe(
      'pass',
    );
  });

  it('without list (or read) fails, naming a read/list SAS to issue', () => {
    const finding = sasFinding(GOOD.replace('sp=rl', 'sp=r'), 'storage.sas.permissions');
    expect(finding).toMatchObject({ outcome: 'fail', detail: expect.stringContaining('list (l)') });
    expect(finding?.fix).toContain('--permissions rl');
    expect(sasFinding(GOOD.replace('sp=rl', 'sp=l'), 'storage.sas.permissions')?.outcome).toBe('fail');
  });

  it('write or delete permissions besides read and list warn (least privilege); execute does not', () => {
    const finding = sasFinding(GOOD.replace('sp=rl', 'sp=rwdl'), 'storage.sas.permissions');
    expect(finding).toMatchObject({ outcome: 'warn', detail: expect.stringContaining('wd') });
    expect(sasFinding(GOOD.replace('sp=rl', 'sp=rle'), 'storage.sas.permissions')?.outcome).toBe('pass');
  });

  it('expired fails; within the warning window warns; a stored access policy is unknown', () => {
    expect(sasFinding(GOOD.replace('2027-06-01', '2026-11-30'), 'storage.sas.expiry')?.outcome).toBe('fail');
    expect(sasFinding(GOOD.replace('2027-06-01', '2026-12-10'), 'storage.sas.expiry')?.outcome).toBe('warn');
    expect(sasFinding(GOOD.replace('2027-06-01', '2026-12-20'), 'storage.sas.expiry')?.outcome).toBe('pass');
    expect(sasFinding('sv=2025-01-05&sr=c&si=kyvos-read', 'storage.sas.expiry')?.outcome).toBe('unknown');
    expect(sasFinding('sv=2025-01-05&sr=c&si=kyvos-read', 'storage.sas.permissions')?.outcome).toBe(
      'unknown',
    );
  });

  it('an IP restriction warns', () => {
    const finding = sasFinding(`${GOOD}&sip=203.0.113.0-203.0.113.255`, 'storage.sas.ipRange');
    expect(finding).toMatchObject({
      outcome: 'warn',
      detail: expect.stringContaining('203.0.113.0-203.0.113.255'),
    });
  });

  it('HTTPS only passes, HTTPS and HTTP warns', () => {
    expect(sasFinding(GOOD, 'storage.sas.protocol')?.outcome).toBe('pass');
    expect(sasFinding(GOOD.replace('spr=https', 'spr=https,http'), 'storage.sas.protocol')?.outcome).toBe(
      'warn',
    );
  });

  it('an account SAS without the blob service, containers or objects fails; a blob SAS fails; a directory SAS warns', () => {
    expect(sasFinding(GOOD.replace('ss=b', 'ss=q'), 'storage.sas.scope')?.outcome).toBe('fail');
    const objectsOnly = sasFinding(GOOD.replace('srt=co', 'srt=o'), 'storage.sas.scope');
    expect(objectsOnly).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining('containers (srt c)'),
    });
    expect(sasFinding('sv=2025-01-05&sr=b&sp=rl&se=2027-06-01T00:00:00Z', 'storage.sas.scope')?.outcome).toBe(
      'fail',
    );
    expect(
      sasFinding('sv=2025-01-05&sr=d&sdd=1&sp=rl&se=2027-06-01T00:00:00Z', 'storage.sas.scope')?.outcome,
    ).toBe('warn');
  });

  it('never shows the signature', () => {
    const text = JSON.stringify(sasFindings(`${GOOD}&sip=1.2.3.4`.replace('sp=rl', 'sp=r')));
    expect(text).not.toContain('c2lnbmF0dXJl');
  });
});
