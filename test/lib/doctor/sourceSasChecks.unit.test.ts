import { describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { sourceSasFindings } from '../../../src/lib/doctor/sourceSasChecks.js';
import { parseSas, type SasInfo } from '../../../src/lib/source/sourceCredential.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const config = testConfig();
const NOW = new Date('2026-12-01T00:00:00Z');

/** The parsed parts of a SAS query string (a fake signature). */
function sas(query: string): SasInfo {
  const info = parseSas(new Sensitive(`${query}&sig=c2lnbmF0dXJl`));
  if ('problem' in info) throw new Error(info.problem);
  return info;
}
const GOOD = 'sv=2025-01-05&ss=b&srt=co&sp=rl&se=2027-06-01T00:00:00Z&spr=https';
const sasFindings = (query: string) => sourceSasFindings(sas(query), config, NOW, 'kyvos-dr-source-sas');
const sasFinding = (query: string, id: string) => sasFindings(query).find((f) => f.id === id);

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
