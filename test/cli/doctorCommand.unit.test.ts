import { describe, expect, it } from 'vitest';
import { doctorExitCode } from '../../src/cli/commands/doctor.js';
import { formatDoctorReport } from '../../src/cli/format.js';
import type { ClientFactory } from '../../src/lib/clients/ClientFactory.js';
import type { DoctorCheck, DoctorContext, DoctorFinding } from '../../src/lib/doctor/doctorCheck.js';
import { runDoctor } from '../../src/lib/doctor/runDoctor.js';
import { silentLogger } from '../../src/lib/log.js';
import { testConfig } from '../helpers/inMemoryFailover.js';
import { runMain } from './cliHarness.js';

const T0 = new Date('2026-12-01T10:00:00.000Z');

const context: DoctorContext = {
  config: testConfig(),
  clients: {} as ClientFactory,
  settings: {},
  clock: () => T0,
  logger: silentLogger,
};

/** A check that answers `findings` as they are. */
function check(area: DoctorCheck['area'], findings: Omit<DoctorFinding, 'area'>[]): DoctorCheck {
  return {
    area,
    name: `${area} check`,
    timer: 'storage',
    run: async () => findings.map((f) => ({ area, ...f })),
  };
}

const rolesPass = check('permissions', [
  { id: 'permissions.dr.copy', outcome: 'pass', detail: 'The app identity may write blobs to kyvosdrdata.' },
]);
const softDeleted = check('keyVault', [
  {
    id: 'keyVault.notSoftDeleted.kyvos-dr-active-pg-server',
    outcome: 'fail',
    detail: 'The secret name kyvos-dr-active-pg-server is soft-deleted in kv-kyvos.',
    fix: 'Recover it (az keyvault secret recover --vault-name kv-kyvos --name kyvos-dr-active-pg-server) or purge it.',
  },
]);
const sasExpiring = check('storage', [
  {
    id: 'storage.sas.expiry',
    outcome: 'warn',
    detail: 'The source SAS expires in 5 days.',
    fix: 'Issue a new SAS and store it in kyvos-dr-source-sas.',
  },
]);
const unreadable: DoctorCheck = {
  area: 'postgres',
  name: 'connection grants',
  timer: 'replica',
  run: async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.4:5432');
  },
};

describe('kyvos-dr doctor: what it prints and how it exits', () => {
  it('exits 0 and says every prerequisite holds when all pass, listing each finding', async () => {
    const report = await runDoctor(context, { checks: [rolesPass] });
    expect(doctorExitCode(report)).toBe(0);
    const text = formatDoctorReport(report).join('\n');
    expect(text).toContain('Effective permissions:');
    expect(text).toMatch(/^ {2}pass {5}permissions\.dr\.copy: The app identity may write blobs/m);
    expect(text).not.toContain('fix:');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'Every prerequisite holds (1 checked: 0 fail, 0 warn, 0 unknown, 1 pass).',
    );
  });

  it('groups the findings by area in the order of the checks, each problem followed by its fix', async () => {
    const report = await runDoctor(context, { checks: [softDeleted, rolesPass, sasExpiring] });
    const lines = formatDoctorReport(report);
    const headers = lines.filter((l) => /^\S.*:$/.test(l));
    expect(headers).toEqual(['Key Vault:', 'Effective permissions:', 'Storage:']);
    const failed = lines.findIndex((l) => l.startsWith('  FAIL     keyVault.notSoftDeleted.'));
    // The detail wraps under itself; the fix follows it, wrapped under its own text.
    expect(lines.slice(failed, failed + 4)).toEqual([
      '  FAIL     keyVault.notSoftDeleted.kyvos-dr-active-pg-server: The secret name kyvos-dr-active-pg-server is',
      '           soft-deleted in kv-kyvos.',
      '           fix: Recover it (az keyvault secret recover --vault-name kv-kyvos --name kyvos-dr-active-pg-server)',
      '                or purge it.',
    ]);
    expect(lines.some((l) => l.startsWith('  WARN     storage.sas.expiry'))).toBe(true);
    expect(lines.at(-1)).toBe(
      'A failover would fail (3 checked: 1 fail, 1 warn, 0 unknown, 1 pass). Apply the fixes above, then run kyvos-dr doctor again.',
    );
    expect(doctorExitCode(report)).toBe(1);
  });

  it('exits 1 for a warning alone: it needs action before the failover', async () => {
    const report = await runDoctor(context, { checks: [rolesPass, sasExpiring] });
    expect(report.outcome).toBe('warn');
    expect(doctorExitCode(report)).toBe(1);
    expect(formatDoctorReport(report).at(-1)).toMatch(
      /^A failover would work, but 1 finding\(s\) need action/,
    );
  });

  it('exits 1 when a check could not run: its prerequisite is not proven, and the finding says why', async () => {
    const report = await runDoctor(context, { checks: [rolesPass, unreadable] });
    expect(report.outcome).toBe('unknown');
    expect(doctorExitCode(report)).toBe(1);
    const text = formatDoctorReport(report).join('\n');
    expect(text).toContain('PostgreSQL:');
    expect(text).toMatch(
      /UNKNOWN {2}postgres\.checkFailed\.connectionGrants: The connection grants check could not run: connect\s+ECONNREFUSED/,
    );
    expect(formatDoctorReport(report).at(-1)).toMatch(/^Not every prerequisite could be checked/);
  });

  it('runs only the checks of the areas asked', async () => {
    const report = await runDoctor(context, {
      checks: [softDeleted, rolesPass, sasExpiring],
      areas: ['permissions', 'storage'],
    });
    expect(report.findings.map((f) => f.id)).toEqual(['permissions.dr.copy', 'storage.sas.expiry']);
    expect(report.counts).toEqual({ pass: 1, fail: 0, warn: 1, unknown: 0 });
  });

  it('says so when no check ran, and exits 0 (nothing is registered for the areas asked)', async () => {
    const report = await runDoctor(context, { checks: [rolesPass], areas: ['network'] });
    expect(formatDoctorReport(report).at(-1)).toBe(
      'No check ran: no check is registered for the areas asked.',
    );
    expect(doctorExitCode(report)).toBe(0);
  });

  it('exits 3 naming the missing setting when the configuration is not usable', async () => {
    const result = await runMain(['doctor']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^kyvos-dr: The DR configuration from app settings has \d+ problems/);
    expect(result.stderr).toContain('(app setting KYVOS_DR_SUBSCRIPTION_ID) is not set');
  });

  it('refuses an area it does not know (exit 2), naming the areas', async () => {
    const result = await runMain(['doctor', '--area', 'dns']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('permissions, network, keyVault, postgres, storage');
  });
});
