import { HttpRequest, type HttpResponseInit, InvocationContext, type Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { health } from '../../src/functions/health.js';
import { healthReplica } from '../../src/functions/healthReplica.js';
import { healthStorage } from '../../src/functions/healthStorage.js';
import { CONFIG_SECRETS } from '../../src/lib/config/secretNames.js';
import { createDeps, type Deps } from '../../src/lib/deps.js';
import type { DoctorCheck, DoctorFinding } from '../../src/lib/doctor/doctorCheck.js';
import type { Readiness } from '../../src/lib/health/readiness.js';
import type { LogLine } from '../helpers/healthStack.js';

/**
 * The triggers as the Functions host calls them, with the dependencies the composition root builds
 * from the local stack's app settings (as `getDeps()` builds them from `process.env` under the host);
 * the log lines are read from the invocation context.
 */
describe('health triggers on the local stack', () => {
  let stack: LocalStack;
  let deps: Deps;

  beforeAll(async () => {
    stack = await startLocalStack();
    // No configuration cache, so a secret changed in Key Vault is seen by the next run.
    deps = createDeps({ ...stack.settings, KYVOS_DR_CONFIG_CACHE_SECONDS: '0' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const invocation = (functionName: string) => {
    const lines: LogLine[] = [];
    const context = new InvocationContext({
      functionName,
      invocationId: crypto.randomUUID(),
      logHandler: (_level, ...args) => lines.push(JSON.parse(String(args[0])) as LogLine),
    });
    return { context, lines };
  };
  const timer = (isPastDue = false): Timer => ({
    isPastDue,
    schedule: { adjustForDST: true },
    scheduleStatus: {
      last: '2026-03-10T11:55:00Z',
      next: '2026-03-10T12:05:00Z',
      lastUpdated: '2026-03-10T11:55:00Z',
    },
  });
  const runTimer = async (handler: typeof healthStorage, name: string, isPastDue = false) => {
    const { context, lines } = invocation(name);
    await handler(timer(isPastDue), context, deps);
    return lines;
  };
  const getHealth = async (): Promise<HttpResponseInit & { jsonBody: Readiness }> => {
    const { context } = invocation('health');
    const response = await health(
      new HttpRequest({ method: 'GET', url: 'https://localhost/api/health' }),
      context,
      deps,
    );
    return response as HttpResponseInit & { jsonBody: Readiness };
  };

  it('the timers record both checks, one log line each, and GET /api/health answers 200 with the combined readiness', async () => {
    const storageLines = await runTimer(healthStorage, 'healthStorage');
    const replicaLines = await runTimer(healthReplica, 'healthReplica');
    expect(storageLines).toHaveLength(1);
    expect(storageLines[0]).toMatchObject({
      event: 'health.storage',
      level: 'info',
      account: 'kyvosprimdata',
      status: 'Healthy',
      source: 'both',
      geoStatus: 'Live',
      consecutiveNonHealthy: 0,
      pastDue: false,
      prerequisites: 'pass',
      reasons: '',
    });
    expect(replicaLines).toEqual([
      expect.objectContaining({
        event: 'health.replica',
        server: 'pg-kyvos-dr',
        status: 'Healthy',
        lagBasis: 'primary-lsn',
        eligibleForPlannedPromote: true,
        consecutiveNonHealthy: 0,
      }),
    ]);

    const response = await getHealth();
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ 'cache-control': 'no-store' });
    const readiness = response.jsonBody;
    expect(readiness.status).toBe('Healthy');
    expect(readiness.storageRpoSeconds).toBe(storageLines[0]?.rpoSeconds);
    expect(readiness.databaseRpoSeconds).toBe(replicaLines[0]?.rpoSeconds);
    expect(readiness.rpoSeconds).toBe(
      Math.max(readiness.storageRpoSeconds ?? -1, readiness.databaseRpoSeconds ?? -1),
    );
    expect(readiness.eligibleForPlannedPromote).toBe(true);
    // Every registered doctor check holds on a correctly configured stack.
    expect(readiness.prerequisites).toMatchObject({
      outcome: 'pass',
      counts: { fail: 0, warn: 0, unknown: 0 },
      checkedAt: {
        storage: readiness.storage?.report.checkedAt,
        replica: readiness.replica?.report.checkedAt,
      },
    });
    expect(readiness.prerequisites?.findings.every((f: DoctorFinding) => f.outcome === 'pass')).toBe(true);
    expect(JSON.stringify(readiness)).not.toContain(stack.postgres.replica.password);
  });

  it('a past-due run still checks, and says so in the log', async () => {
    const lines = await runTimer(healthStorage, 'healthStorage', true);
    expect(lines.map((l) => [l.event, l.level])).toEqual([
      ['health.pastDue', 'warn'],
      ['health.storage', 'info'],
    ]);
    expect(lines[1]).toMatchObject({ pastDue: true, status: 'Healthy' });
  });

  it('a throttled management plane gives a Degraded storage report from the data plane; /api/health still answers 200', async () => {
    stack.throttleArm(1_000, 503);
    try {
      const lines = await runTimer(healthStorage, 'healthStorage');
      expect(lines[0]).toMatchObject({
        event: 'health.storage',
        level: 'warn',
        status: 'Degraded',
        source: 'data-plane',
        managementError: expect.stringMatching(/^503 ServiceUnavailable: /),
        consecutiveNonHealthy: 1,
      });
    } finally {
      stack.faults.armThrottle = null;
    }
    const response = await getHealth();
    expect(response.status).toBe(200);
    expect(response.jsonBody.status).toBe('Degraded');
    const [first, ...rest] = response.jsonBody.reasons;
    expect(first).toMatch(
      /^storage: The Storage management plane did not answer for "kyvosprimdata" after retries/,
    );
    // The doctor's checks that read ARM could not answer either: each says so, none claims a failure.
    for (const reason of rest) expect(reason).toMatch(/^storage: Prerequisite \S+ could not be checked: /);
  });

  it('bad configuration is stored and logged as an Unhealthy report naming the secret, not thrown', async () => {
    await stack.setSecret(CONFIG_SECRETS.primaryStorageAccount, 'Kyvos_Prim_Data');
    try {
      const lines = await runTimer(healthStorage, 'healthStorage');
      expect(lines[0]).toMatchObject({
        event: 'health.storage',
        level: 'error',
        status: 'Unhealthy',
        configError: true,
        setting: CONFIG_SECRETS.primaryStorageAccount,
        consecutiveNonHealthy: 2,
      });
      expect(lines[0]?.reasons).toContain(
        'kyvos-dr-primary-storage-account (app setting KYVOS_DR_PRIMARY_STORAGE_ACCOUNT) is invalid: a storage account name is 3–24 lowercase letters and digits',
      );
      expect(JSON.stringify(lines)).not.toContain('Kyvos_Prim_Data');
      // The replica check cannot run either; its report blocks a planned promote instead of crashing readiness.
      const replicaLines = await runTimer(healthReplica, 'healthReplica');
      expect(replicaLines[0]).toMatchObject({
        status: 'Unhealthy',
        configError: true,
        eligibleForPlannedPromote: false,
      });
      const response = await getHealth();
      expect(response.status).toBe(503);
      expect(response.jsonBody).toMatchObject({ status: 'Unhealthy', eligibleForPlannedPromote: false });
      expect(response.jsonBody.eligibilityReasons).toContain(
        'the replica is unverified: the replica check could not run',
      );
    } finally {
      await stack.setSecret(CONFIG_SECRETS.primaryStorageAccount, stack.names.primaryStorageAccount);
    }
    const recovered = await runTimer(healthStorage, 'healthStorage');
    expect(recovered[0]).toMatchObject({ status: 'Healthy', consecutiveNonHealthy: 0 });
    expect((await runTimer(healthReplica, 'healthReplica'))[0]).toMatchObject({ status: 'Healthy' });
  });

  it("each timer runs the doctor's checks of its timer: a failing prerequisite makes /api/health answer 503, naming the fix", async () => {
    const finding = (id: string, outcome: DoctorFinding['outcome'], fix?: string): DoctorFinding => ({
      area: 'keyVault',
      id,
      outcome,
      detail: `${id} as the check found it.`,
      ...(fix ? { fix } : {}),
    });
    const check = (timer: DoctorCheck['timer'], found: DoctorFinding): DoctorCheck => ({
      area: 'keyVault',
      name: `${timer} check`,
      timer,
      run: async () => [found],
    });
    const checks = [
      check(
        'storage',
        finding('keyVault.notSoftDeleted.kyvos-dr-active-pg-server', 'fail', 'Purge the secret.'),
      ),
      check('replica', finding('keyVault.regionPair', 'pass')),
    ];
    const withChecks = createDeps(
      { ...stack.settings, KYVOS_DR_CONFIG_CACHE_SECONDS: '0' },
      { doctorChecks: checks },
    );
    const run = async (handler: typeof healthStorage, name: string) => {
      const { context, lines } = invocation(name);
      await handler(timer(), context, withChecks);
      return lines;
    };
    const storageLines = await run(healthStorage, 'healthStorage');
    const replicaLines = await run(healthReplica, 'healthReplica');
    expect(storageLines[0]).toMatchObject({
      event: 'health.storage',
      status: 'Unhealthy',
      prerequisites: 'fail',
    });
    expect(replicaLines[0]).toMatchObject({
      event: 'health.replica',
      status: 'Healthy',
      prerequisites: 'pass',
    });

    const response = await getHealth();
    expect(response.status).toBe(503);
    expect(response.jsonBody.status).toBe('Unhealthy');
    expect(response.jsonBody.prerequisites).toEqual({
      outcome: 'fail',
      counts: { pass: 1, fail: 1, warn: 0, unknown: 0 },
      findings: [
        finding('keyVault.notSoftDeleted.kyvos-dr-active-pg-server', 'fail', 'Purge the secret.'),
        finding('keyVault.regionPair', 'pass'),
      ],
      checkedAt: { storage: storageLines[0]?.checkedAt, replica: replicaLines[0]?.checkedAt },
    });
    expect(response.jsonBody.reasons).toEqual([
      'storage: Prerequisite keyVault.notSoftDeleted.kyvos-dr-active-pg-server does not hold: keyVault.notSoftDeleted.kyvos-dr-active-pg-server as the check found it. Fix: Purge the secret.',
    ]);

    // The registered checks again: the readiness is Healthy once the prerequisite holds.
    await runTimer(healthStorage, 'healthStorage');
    expect((await getHealth()).jsonBody).toMatchObject({
      status: 'Healthy',
      prerequisites: { outcome: 'pass' },
    });
  });

  it('a stopped replica makes /api/health answer 503, and consecutive failures are counted', async () => {
    await stack.postgres.replica.stop();
    const first = await runTimer(healthReplica, 'healthReplica');
    const second = await runTimer(healthReplica, 'healthReplica');
    expect([first[0]?.consecutiveNonHealthy, second[0]?.consecutiveNonHealthy]).toEqual([1, 2]);
    expect(second[0]).toMatchObject({ status: 'Unhealthy', state: 'Inaccessible', sqlProbe: 'failed' });
    expect(second[0]?.nonHealthySince).toBe(first[0]?.checkedAt);

    const response = await getHealth();
    expect(response.status).toBe(503);
    expect(response.jsonBody).toMatchObject({
      status: 'Unhealthy',
      databaseRpoSeconds: null,
      rpoSeconds: null,
      eligibleForPlannedPromote: false,
    });
    expect(response.jsonBody.rpoExplanation).toEqual([
      'database RPO unknown: database lag is not measured: the replica does not answer SQL',
    ]);
    expect(response.jsonBody.reasons[0]).toBe(
      'replica: Replica "pg-kyvos-dr" is Inaccessible: it is not running, so it neither replicates nor could be promoted.',
    );
  });

  it('GET /api/health without the app storage setting answers 500 with an error naming the setting', async () => {
    const { context } = invocation('health');
    const response = await health(
      new HttpRequest({ method: 'GET', url: 'https://localhost/api/health' }),
      context,
      createDeps({ ...stack.settings, KYVOS_DR_APP_STORAGE_ACCOUNT: '' }, { clients: stack.clients }),
    );
    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'ConfigError',
        message: expect.stringContaining('KYVOS_DR_APP_STORAGE_ACCOUNT is not set'),
      },
    });
  });
});
