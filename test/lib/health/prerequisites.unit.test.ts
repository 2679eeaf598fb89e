import { describe, expect, it } from 'vitest';
import { formatReadiness } from '../../../src/cli/format.js';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DoctorCheck, DoctorFinding } from '../../../src/lib/doctor/doctorCheck.js';
import type { DoctorReport } from '../../../src/lib/doctor/runDoctor.js';
import type { HealthReport } from '../../../src/lib/health/HealthReport.js';
import { checkPrerequisites, withPrerequisites } from '../../../src/lib/health/prerequisites.js';
import type { ReplicaHealthReport } from '../../../src/lib/health/ReplicaHealth.js';
import { combineReadiness } from '../../../src/lib/health/readiness.js';
import { silentLogger } from '../../../src/lib/log.js';
import type { LatestHealth } from '../../../src/lib/state/HealthHistory.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const now = new Date('2026-12-01T10:00:00.000Z');
const checkedAt = '2026-12-01T09:59:00.000Z';

const pass: DoctorFinding = {
  area: 'permissions',
  id: 'permissions.dr.copy',
  outcome: 'pass',
  detail: 'The app identity may write blobs to kyvosdrdata.',
};
const fail: DoctorFinding = {
  area: 'keyVault',
  id: 'keyVault.notSoftDeleted.kyvos-dr-active-pg-server',
  outcome: 'fail',
  detail: 'The secret name kyvos-dr-active-pg-server is soft-deleted in kv-kyvos',
  fix: 'Purge it: az keyvault secret purge --vault-name kv-kyvos --name kyvos-dr-active-pg-server.',
};
const warn: DoctorFinding = {
  area: 'storage',
  id: 'storage.sas.expiry',
  outcome: 'warn',
  detail: 'The source SAS expires in 5 days.',
  fix: 'Issue a new SAS and store it in kyvos-dr-source-sas.',
};
const unknown: DoctorFinding = {
  area: 'postgres',
  id: 'postgres.checkFailed.connectionGrants',
  outcome: 'unknown',
  detail: 'The connection grants check could not run: connect ECONNREFUSED.',
  fix: 'Fix what the error names, then run kyvos-dr doctor again.',
};

function doctor(...findings: DoctorFinding[]): DoctorReport {
  const counts = { pass: 0, fail: 0, warn: 0, unknown: 0 };
  for (const f of findings) counts[f.outcome] += 1;
  const outcome = counts.fail ? 'fail' : counts.warn ? 'warn' : counts.unknown ? 'unknown' : 'pass';
  return { outcome, findings, counts, checkedAt };
}

const healthyStorage: HealthReport = {
  check: 'storage',
  status: 'Healthy',
  rpoSeconds: 30,
  facts: { maxRpoSeconds: 900 },
  reasons: [],
  checkedAt,
};
const healthyReplica: ReplicaHealthReport = {
  check: 'replica',
  status: 'Healthy',
  rpoSeconds: 2,
  facts: {},
  reasons: [],
  checkedAt,
  eligibleForPlannedPromote: true,
  eligibilityReasons: [],
  promoteConditions: [{ name: 'replicaRole', ok: true, detail: 'pg-kyvos-dr is a replica' }],
};

function latest<R extends HealthReport>(report: R): LatestHealth<R> {
  return {
    report,
    consecutiveNonHealthy: report.status === 'Healthy' ? 0 : 1,
    nonHealthySince: report.status === 'Healthy' ? null : report.checkedAt,
  };
}

describe("the doctor's findings in a health report", () => {
  it('a fail makes the report Unhealthy, with a reason that says what was found and ends with the fix', () => {
    const report = withPrerequisites(healthyStorage, doctor(pass, fail));
    expect(report.status).toBe('Unhealthy');
    expect(report.reasons).toEqual([
      'Prerequisite keyVault.notSoftDeleted.kyvos-dr-active-pg-server does not hold: The secret name kyvos-dr-active-pg-server is soft-deleted in kv-kyvos. Fix: Purge it: az keyvault secret purge --vault-name kv-kyvos --name kyvos-dr-active-pg-server.',
    ]);
    expect(report.prerequisites?.findings).toEqual([pass, fail]);
  });

  it.each([
    ['warn', warn, 'needs attention'],
    ['unknown', unknown, 'could not be checked'],
  ])('a %s makes it Degraded, naming the fix', (_outcome, finding, verdict) => {
    const report = withPrerequisites(healthyStorage, doctor(pass, finding));
    expect(report.status).toBe('Degraded');
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toMatch(new RegExp(`^Prerequisite ${finding.id} ${verdict}: `));
    expect(report.reasons[0]?.endsWith(`Fix: ${finding.fix}`)).toBe(true);
  });

  it('passing findings leave a Healthy report Healthy, and never make a worse one better', () => {
    expect(withPrerequisites(healthyStorage, doctor(pass))).toMatchObject({ status: 'Healthy', reasons: [] });
    const unhealthy = {
      ...healthyStorage,
      status: 'Unhealthy' as const,
      reasons: ['geo-replication is down'],
    };
    expect(withPrerequisites(unhealthy, doctor(pass, warn))).toMatchObject({
      status: 'Unhealthy',
      reasons: ['geo-replication is down', expect.stringMatching(/^Prerequisite storage\.sas\.expiry /)],
    });
  });

  it("keeps a replica report's promote conditions as they are", () => {
    const report = withPrerequisites(healthyReplica, doctor(fail));
    expect(report.status).toBe('Unhealthy');
    expect(report.promoteConditions).toEqual(healthyReplica.promoteConditions);
  });
});

describe('the checks each health timer runs', () => {
  const check = (timer: DoctorCheck['timer'], id: string): DoctorCheck => ({
    area: 'network',
    name: id,
    timer,
    run: async () => [{ area: 'network', id, outcome: 'pass', detail: `${id} holds` }],
  });

  it("are the doctor's checks that name that timer", async () => {
    const deps = {
      clients: {} as ClientFactory,
      settings: {},
      clock: () => now,
      logger: silentLogger,
      doctorChecks: [
        check('storage', 'network.a'),
        check('replica', 'network.b'),
        check('storage', 'network.c'),
      ],
    };
    const storage = await checkPrerequisites('storage', testConfig(), deps);
    const replica = await checkPrerequisites('replica', testConfig(), deps);
    expect(storage.findings.map((f) => f.id)).toEqual(['network.a', 'network.c']);
    expect(replica.findings.map((f) => f.id)).toEqual(['network.b']);
    expect(storage.checkedAt).toBe(now.toISOString());
  });
});

describe('the prerequisites in the readiness', () => {
  it("gather both reports' findings, with their counts, the worst outcome and when each was checked", () => {
    const storage = withPrerequisites(healthyStorage, doctor(pass, warn));
    const replica = withPrerequisites(
      { ...healthyReplica, checkedAt: '2026-12-01T09:58:00.000Z' },
      doctor(fail),
    );
    const readiness = combineReadiness(latest(storage), latest(replica), { now });
    expect(readiness.prerequisites).toEqual({
      outcome: 'fail',
      counts: { pass: 1, fail: 1, warn: 1, unknown: 0 },
      findings: [pass, warn, fail],
      checkedAt: { storage: checkedAt, replica: '2026-12-01T09:58:00.000Z' },
    });
    expect(readiness.status).toBe('Unhealthy');
    expect(readiness.reasons).toEqual([
      expect.stringMatching(
        /^storage: Prerequisite storage\.sas\.expiry needs attention: .* Fix: Issue a new SAS/,
      ),
      expect.stringMatching(
        /^replica: Prerequisite keyVault\.notSoftDeleted\.kyvos-dr-active-pg-server does not hold/,
      ),
    ]);
    expect(formatReadiness(readiness).join(' ').replace(/\s+/g, ' ')).toMatch(
      /prerequisites: 2 of 3 do not hold \(1 fail, 1 warn, 0 unknown, 1 pass; checked with storage 2026-12-01T09:59:00.000Z/,
    );
  });

  it('are null when neither report carries them, and name the check that carries none', () => {
    expect(
      combineReadiness(latest(healthyStorage), latest(healthyReplica), { now }).prerequisites,
    ).toBeNull();
    const readiness = combineReadiness(
      latest(withPrerequisites(healthyStorage, doctor(pass))),
      latest(healthyReplica),
      { now },
    );
    expect(readiness.prerequisites).toMatchObject({
      outcome: 'pass',
      checkedAt: { storage: checkedAt, replica: null },
    });
    expect(readiness.status).toBe('Healthy');
    expect(formatReadiness(readiness).join('\n')).toContain('prerequisites: all 1 hold');
  });

  it('refuse a planned promote for each finding that fails, naming its fix, and never a forced one', () => {
    const failing = combineReadiness(
      latest(withPrerequisites(healthyStorage, doctor(pass, fail))),
      latest(healthyReplica),
      { now },
    );
    expect(failing.eligibleForPlannedPromote).toBe(false);
    expect(failing.eligibilityReasons).toEqual([
      expect.stringMatching(
        /^Prerequisite keyVault\.notSoftDeleted\.kyvos-dr-active-pg-server does not hold: .* Fix: Purge it/,
      ),
    ]);
    expect(failing.forcedPromoteBlockers).toEqual([]);

    const warning = combineReadiness(
      latest(withPrerequisites(healthyStorage, doctor(pass, warn, unknown))),
      latest(healthyReplica),
      { now },
    );
    expect(warning.eligibleForPlannedPromote).toBe(true);
  });
});
