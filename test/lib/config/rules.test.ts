import { describe, expect, it } from 'vitest';
import { Sensitive } from '../../../src/lib/config/DrConfig.js';
import { parsePostgresConnectionString } from '../../../src/lib/config/postgresConnectionString.js';
import * as rules from '../../../src/lib/config/rules.js';
import { describeSasExpiry, parseSas } from '../../../src/lib/source/sourceCredential.js';

const accepts = <T>(rule: rules.Rule<T>, raw: string) => rule(raw).ok;

describe('Azure naming rules', () => {
  it.each([
    [
      'storage account',
      rules.storageAccountName,
      ['kyvosprimdata', 'abc', 'a'.repeat(24)],
      ['ab', 'a'.repeat(25), 'Kyvos', 'kyvos-data', 'kyvos_data'],
    ],
    [
      'container',
      rules.containerName,
      ['kyvoscontainer', 'kyvos-dr', 'a1b'],
      ['ab', '-abc', 'abc-', 'ab--c', 'ABC', 'a'.repeat(64)],
    ],
    [
      'resource group',
      rules.resourceGroupName,
      ['rg-kyvos', 'rg_kyvos.(dr)', 'r', 'a'.repeat(90)],
      ['', 'rg.', 'rg kyvos', 'rg/kyvos', 'a'.repeat(91)],
    ],
    [
      'flexible server',
      rules.flexibleServerName,
      ['pg-kyvos', 'pg1', 'a'.repeat(63)],
      ['pg', '-pg-kyvos', 'pg-kyvos-', 'PG-kyvos', 'pg_kyvos', 'a'.repeat(64)],
    ],
    ['region', rules.regionName, ['eastus2', 'centralus'], ['East US 2', 'east-us', 'EASTUS', '2east']],
    [
      'subscription',
      rules.subscriptionId,
      ['6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a'],
      ['6b0e2a6c3f6c4f379d0e0c0ffee0d12a', 'sub-1'],
    ],
    [
      'Key Vault secret name',
      rules.keyVaultSecretName,
      ['kyvos-dr-source-sas'],
      ['kyvos_dr', 'a'.repeat(128)],
    ],
  ] as const)('%s names follow Azure', (_what, rule, good, bad) => {
    for (const name of good) expect(accepts(rule as rules.Rule<string>, name), name).toBe(true);
    for (const name of bad) expect(accepts(rule as rules.Rule<string>, name), name).toBe(false);
  });

  it('explains a rejected name without quoting it', () => {
    const result = rules.storageAccountName('Kyvos_Prim');
    expect(result).toEqual({
      ok: false,
      problem: 'a storage account name is 3–24 lowercase letters and digits',
    });
  });

  it('reads thresholds, policies and flags, case-insensitively where Azure is', () => {
    expect(rules.seconds('900')).toEqual({ ok: true, value: 900 });
    expect(rules.seconds('0.5')).toEqual({ ok: true, value: 0.5 });
    for (const bad of ['0', '-5', 'ten', '1e3', '']) expect(rules.seconds(bad).ok, bad).toBe(false);
    expect(rules.bytes('67108864')).toEqual({ ok: true, value: 67_108_864 });
    expect(rules.bytes('1.5').ok).toBe(false);
    expect(rules.alertFailoverPolicy('Planned')).toEqual({ ok: true, value: 'planned' });
    expect(rules.alertFailoverPolicy('auto').ok).toBe(false);
    expect(rules.promoteMode('switchover')).toEqual({ ok: true, value: 'Switchover' });
    expect(rules.storageStrategy('Copy')).toEqual({ ok: true, value: 'copy' });
    expect(rules.storageStrategy('account-failover')).toEqual({ ok: true, value: 'accountFailover' });
    expect(rules.storageStrategy('AccountFailover')).toEqual({ ok: true, value: 'accountFailover' });
    expect(rules.storageStrategy('failover')).toEqual({
      ok: false,
      problem: 'must be copy or accountFailover',
    });
    expect(rules.drStorageSku(' standard_ragzrs ')).toEqual({ ok: true, value: 'Standard_RAGZRS' });
    const premium = rules.drStorageSku('Premium_LRS');
    expect(premium.ok).toBe(false);
    if (!premium.ok) {
      expect(premium.problem).toBe(
        'must be one of Standard_LRS, Standard_ZRS, Standard_GRS, Standard_RAGRS, Standard_GZRS, Standard_RAGZRS',
      );
    }
    expect(rules.boolean('FALSE')).toEqual({ ok: true, value: false });
    expect(rules.boolean('yes').ok).toBe(false);
  });

  it('normalises the engine work directory to a prefix, "/" being the whole container', () => {
    expect(rules.pathPrefix('/kyvos/engine_work/')).toEqual({ ok: true, value: 'kyvos/engine_work' });
    expect(rules.pathPrefix('/')).toEqual({ ok: true, value: '' });
    expect(rules.pathPrefix('kyvos/../other').ok).toBe(false);
    expect(rules.pathPrefix('kyvos\\engine').ok).toBe(false);
  });
});

describe('PostgreSQL connection strings', () => {
  it('parses host, port, user, database and sslmode, keeping the password sealed', () => {
    const parsed = parsePostgresConnectionString(
      'postgres://kyvos%40admin:p%40ss%2Fw0rd@pg-kyvos-dr.postgres.database.azure.com:5432/kyvos?sslmode=verify-full',
    );
    if (!('connection' in parsed)) throw new Error(parsed.problem);
    const { password, ...rest } = parsed.connection;
    expect(rest).toEqual({
      host: 'pg-kyvos-dr.postgres.database.azure.com',
      port: 5432,
      user: 'kyvos@admin',
      database: 'kyvos',
      sslmode: 'verify-full',
    });
    expect(password.reveal()).toBe('p@ss/w0rd');
    expect(JSON.stringify(parsed.connection)).not.toContain('w0rd');
    expect(String(password)).toBe('[redacted]');
  });

  it('defaults to port 5432 and sslmode require, as Azure Database for PostgreSQL needs TLS', () => {
    const parsed = parsePostgresConnectionString('postgresql://u:secret@db.example/kyvos');
    expect(
      'connection' in parsed && { port: parsed.connection.port, sslmode: parsed.connection.sslmode },
    ).toEqual({
      port: 5432,
      sslmode: 'require',
    });
  });

  it.each([
    ['not a URL', 'host=db password=topsecret1', 'is not a connection URL'],
    ['another scheme', 'mysql://u:topsecret1@db/kyvos', 'has scheme "mysql"'],
    ['no password', 'postgres://u@db/kyvos', 'has no password'],
    ['no database', 'postgres://u:topsecret1@db:5432/', 'has no database name'],
    ['a bad sslmode', 'postgres://u:topsecret1@db/kyvos?sslmode=always', 'has sslmode "always"'],
  ])('rejects %s without quoting the password', (_what, raw, problem) => {
    const parsed = parsePostgresConnectionString(raw);
    expect('problem' in parsed && parsed.problem).toContain(problem);
    expect(JSON.stringify(parsed)).not.toContain('topsecret1');
  });
});

describe('SAS tokens', () => {
  const sas = (query: string) => new Sensitive(query);

  it('reads the expiry, in any of the forms a SAS is stored in, and describes it without the SAS', () => {
    for (const text of [
      'sv=2022-11-02&sp=rl&se=2026-01-15T13:50:42Z&sig=abc%3D',
      '?sv=2022-11-02&sp=rl&se=2026-01-15T13:50:42Z&sig=abc%3D',
      'https://acct-secondary.blob.core.windows.net/c?sv=2022-11-02&sp=rl&se=2026-01-15T13:50:42Z&sig=abc%3D',
    ]) {
      const info = parseSas(sas(text));
      expect(info).toEqual({ expiresOn: new Date('2026-01-15T13:50:42Z'), permissions: 'rl' });
    }
    const info = parseSas(sas('sp=rl&se=2026-01-15&sig=abc'));
    if ('problem' in info) throw new Error(info.problem);
    expect(describeSasExpiry(info, new Date('2026-01-05T00:00:00Z'))).toBe(
      'expires on 2026-01-15T00:00:00.000Z (in 10.0 days)',
    );
    expect(describeSasExpiry(info, new Date('2026-02-01T00:00:00Z'))).toBe(
      'expired on 2026-01-15T00:00:00.000Z',
    );
  });

  it('rejects text that is not a SAS, or a SAS with no way to tell its expiry', () => {
    expect(parseSas(sas('not-a-sas'))).toEqual({ problem: 'is not a SAS token: it has no signature (sig)' });
    expect(parseSas(sas('sp=rl&sig=abc'))).toEqual({
      problem: 'has neither an expiry (se) nor a stored access policy (si)',
    });
    expect(parseSas(sas('si=kyvos-read&sig=abc'))).toEqual({ storedAccessPolicy: 'kyvos-read' });
    expect(parseSas(sas('se=soon&sig=abc'))).toEqual({
      problem: 'has an expiry (se) that is not an ISO 8601 date, e.g. 2026-01-15T13:50:42Z',
    });
  });
});
