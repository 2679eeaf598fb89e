import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import type { Deps } from '../../../src/lib/deps.js';
import type { HealthReport } from '../../../src/lib/health/HealthReport.js';
import { checkReplicaHealth } from '../../../src/lib/health/ReplicaHealth.js';
import { checkStorageGeoReplication } from '../../../src/lib/health/StorageGeoReplication.js';
import { sleep, stackDeps, waitFor, withThresholds } from '../../helpers/healthStack.js';

describe('replica health check on the local stack', () => {
  let stack: LocalStack;
  let deps: Deps;
  let config: DrConfig;
  let storage: HealthReport;

  beforeAll(async () => {
    stack = await startLocalStack();
    deps = stackDeps(stack);
    config = await deps.config();
    storage = await checkStorageGeoReplication(config, deps);
    await stack.postgres.primary.query(
      // No autovacuum: its WAL would move the primary's position between the test's measurements.
      'CREATE TABLE IF NOT EXISTS health_probe (id serial PRIMARY KEY, at timestamptz DEFAULT now(), pad text) WITH (autovacuum_enabled = false)',
    );
  });
  afterEach(async () => {
    stack.faults.armThrottle = null;
    if (stack.postgres.replica.isRunning()) await stack.resumeDatabaseReplication();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const write = (rows = 1, padBytes = 10) =>
    stack.postgres.primary.query(
      'INSERT INTO health_probe (pad) SELECT repeat($1, $2) FROM generate_series(1, $3)',
      ['x', padBytes, rows],
    );
  /** Bytes between the primary's current WAL position and the replica's replay position, read independently. */
  const bytesBehind = async () => {
    const [{ lsn }] = (await stack.postgres.primary.query<{ lsn: string }>(
      'SELECT pg_current_wal_insert_lsn()::text AS lsn',
    )) as [{ lsn: string }];
    const [row] = await stack.postgres.replica.query<{ behind: number }>(
      'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS behind',
      [lsn],
    );
    return row?.behind ?? Number.NaN;
  };
  const caughtUp = () => waitFor(bytesBehind, (b) => b <= 0, { what: 'the replica to catch up' });
  /**
   * Pauses replay and waits until it has really stopped: `pg_wal_replay_pause()` only requests a pause,
   * and an idle standby may replay the next transaction before it honours it.
   */
  const pauseReplay = async () => {
    await stack.pauseDatabaseReplication();
    await waitFor(
      async () => {
        await write();
        const [row] = await stack.postgres.replica.query<{ state: string }>(
          'SELECT pg_get_wal_replay_pause_state() AS state',
        );
        return row?.state;
      },
      (state) => state === 'paused',
      { what: 'WAL replay to be paused' },
    );
  };

  /** The gate's lag is 0 when caught up, else the measured catch-up time. */
  const expectMeasuredLag = (facts: HealthReport['facts']) => {
    if (facts.bytesBehindPrimary === 0) expect(facts).toMatchObject({ lagSeconds: 0, catchUpSeconds: null });
    else expect(facts.lagSeconds).toBe(facts.catchUpSeconds);
  };

  it('a streaming replica is Healthy with measured lag, and eligible for a planned promote', async () => {
    const wroteAt = Date.now();
    await write();
    await caughtUp();
    const report = await checkReplicaHealth(config, deps, { storage });
    expect(report).toMatchObject({ check: 'replica', status: 'Healthy', reasons: [] });
    expect(report.facts).toMatchObject({
      server: 'pg-kyvos-dr',
      exists: true,
      location: 'eastus2',
      role: 'AsyncReplica',
      state: 'Ready',
      replicationState: 'Active',
      sourceServer: 'pg-kyvos',
      primaryState: 'Ready',
      sqlProbe: 'ok',
      primaryProbe: 'ok',
      inRecovery: true,
      replayPaused: false,
      walReceiverStatus: 'streaming',
      lagBasis: 'primary-lsn',
    });
    expectMeasuredLag(report.facts);
    expect(report.rpoSeconds).toBe(report.facts.lagSeconds);
    expect(report.rpoSeconds).toBeLessThan(1);
    // Replay-time lag is the age of the last replayed commit: the test's own write, or a later one.
    const lastReplay = Date.parse(report.facts.lastReplayAt as string);
    expect(lastReplay).toBeGreaterThanOrEqual(wroteAt - 50);
    const ageAtCheck = (Date.parse(report.checkedAt) - lastReplay) / 1000;
    expect(Math.abs((report.facts.replayLagSeconds as number) - ageAtCheck)).toBeLessThan(1);
    expect(report.eligibleForPlannedPromote).toBe(true);
    expect(report.eligibilityReasons).toEqual([
      'role is AsyncReplica',
      'state is Ready',
      'replicationState is Active',
      'the primary server pg-kyvos is Ready',
      'the replica pg-kyvos-dr is Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage, the primary pg-kyvos Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage: at least the primary, as a standalone promote needs',
      expect.stringMatching(/^lag [\d.]+ s and \d+ bytes behind the primary is within 300 s \/ 64 MiB$/),
      `storage RPO ${storage.rpoSeconds} s is within 900 s`,
    ]);
  });

  it('an idle primary makes replay-time lag grow, but the gate uses bytes behind the primary and stays Healthy', async () => {
    const small = withThresholds(config, { maxReplicaLagSeconds: 2 });
    await write();
    await caughtUp();
    await sleep(2_500);
    const report = await checkReplicaHealth(small, deps, { storage });
    expect(report.facts.replayLagSeconds).toBeGreaterThan(2);
    expect(report.facts.lagBasis).toBe('primary-lsn');
    expectMeasuredLag(report.facts);
    expect(report.facts.lagSeconds).toBeLessThan(2);
    expect(report.status).toBe('Healthy');

    // Without the primary's connection string the gate falls back to what the WAL receiver streamed.
    const noPrimary: DrConfig = { ...small, primary: { ...small.primary, postgresConnection: undefined } };
    const fallback = await checkReplicaHealth(noPrimary, deps, { storage });
    expect(fallback.facts).toMatchObject({
      primaryProbe: 'not configured',
      bytesBehindPrimary: null,
      lagBasis: 'wal-receiver',
    });
    expect(fallback.facts.lagSeconds).toBeLessThan(2);
    expect(fallback.status).toBe('Healthy');
  });

  it('a replica briefly behind is measured by how long it takes to catch up, not by the age of its last transaction', async () => {
    await write();
    await caughtUp();
    await pauseReplay();
    await sleep(1_500);
    await write();
    const resumed = sleep(800).then(() => stack.resumeDatabaseReplication());
    const report = await checkReplicaHealth(config, deps, { storage, catchUpWindowInMs: 5_000 });
    await resumed;
    expect(report.facts.bytesBehindPrimary).toBeGreaterThan(0);
    expect(report.facts.catchUpSeconds).toBeGreaterThanOrEqual(0.6);
    expect(report.facts.catchUpSeconds).toBeLessThan(5);
    expect(report.facts.lagSeconds).toBe(report.facts.catchUpSeconds);
    // The last replayed transaction is older than the time the replica needed to catch up.
    expect(report.facts.replayLagSeconds).toBeGreaterThan(report.facts.catchUpSeconds as number);
    expect(report.status).toBe('Healthy');
  });

  it('paused replay with writes on the primary: lag grows, Degraded over the threshold, then Unhealthy over twice it', async () => {
    const small = withThresholds(config, { maxReplicaLagSeconds: 2 });
    await write();
    await caughtUp();
    await pauseReplay();
    await write(10);

    const paused = { storage, catchUpWindowInMs: 300 };
    const early = await checkReplicaHealth(small, deps, paused);
    const lastReplay = Date.parse(early.facts.lastReplayAt as string);
    expect(early.facts.replayPaused).toBe(true);
    expect(early.facts.bytesBehindPrimary).toBeGreaterThan(0);
    // Replay is stopped, so it cannot catch up: the gate falls back to the replay-time lag.
    expect(early.facts.catchUpSeconds).toBeNull();
    expect(early.facts.lagSeconds).toBe(early.facts.replayLagSeconds);

    await sleep(Math.max(0, lastReplay + 2_400 - Date.now()));
    const degraded = await checkReplicaHealth(small, deps, paused);
    expect(degraded.status).toBe('Degraded');
    expect(degraded.rpoSeconds).toBeGreaterThan(2);
    expect(degraded.rpoSeconds).toBeLessThanOrEqual(4);
    expect(degraded.rpoSeconds).toBe(degraded.facts.lagSeconds);
    expect(degraded.reasons).toEqual([
      `Replica "pg-kyvos-dr" lags ${degraded.facts.lagSeconds} s and ${degraded.facts.lagBytes} bytes behind the primary, over the threshold of 2 s / 64 MiB; WAL replay is paused on the replica (resume it: SELECT pg_wal_replay_resume()): a failover now would lose the unreplayed transactions.`,
    ]);
    expect(degraded.eligibleForPlannedPromote).toBe(false);
    expect(degraded.eligibilityReasons).toEqual([
      `lag ${degraded.facts.lagSeconds} s and ${degraded.facts.lagBytes} bytes behind the primary is not within 2 s / 64 MiB`,
    ]);

    await sleep(Math.max(0, lastReplay + 4_400 - Date.now()));
    const unhealthy = await checkReplicaHealth(small, deps, paused);
    expect(unhealthy.status).toBe('Unhealthy');
    expect(unhealthy.rpoSeconds).toBeGreaterThan(4);
    expect(unhealthy.reasons[0]).toContain('over twice the threshold of 2 s / 64 MiB');

    await stack.resumeDatabaseReplication();
    const recovered = await waitFor(
      () => checkReplicaHealth(small, deps, { storage }),
      (r) => r.status === 'Healthy',
      { what: 'the replica to be Healthy again' },
    );
    expect(recovered.facts.replayPaused).toBe(false);
    expect(recovered.facts.lagSeconds).toBeLessThan(2);
  });

  it('the byte gate uses the bytes behind the primary, as the stack measures them independently', async () => {
    await write();
    await caughtUp();
    await pauseReplay();
    await write(2_000, 500);
    const expected = await bytesBehind();
    expect(expected).toBeGreaterThan(200_000);

    const degraded = await checkReplicaHealth(
      withThresholds(config, { maxReplicaLagBytes: Math.floor(expected * 0.75) }),
      deps,
      { catchUpWindowInMs: 300 },
    );
    // Replay is paused, so the figure lies between the independent measurements before and after.
    const after = await bytesBehind();
    expect(degraded.facts.bytesBehindPrimary).toBeGreaterThanOrEqual(expected);
    expect(degraded.facts.bytesBehindPrimary).toBeLessThanOrEqual(after);
    expect(degraded.facts.lagBytes).toBe(degraded.facts.bytesBehindPrimary);
    // The replica cannot have received more than the primary wrote (the stack commits asynchronously,
    // so part of the WAL may still be in the primary's buffers).
    expect(degraded.facts.receivedNotReplayedBytes).toBeLessThanOrEqual(
      degraded.facts.bytesBehindPrimary as number,
    );
    expect(degraded.status).toBe('Degraded');

    const unhealthy = await checkReplicaHealth(
      withThresholds(config, { maxReplicaLagBytes: Math.floor(expected / 3) }),
      deps,
      { catchUpWindowInMs: 300 },
    );
    expect(unhealthy.status).toBe('Unhealthy');
    expect(unhealthy.reasons[0]).toMatch(
      /^Replica "pg-kyvos-dr" lags [\d.]+ s and [\d.]+ MiB behind the primary, over twice/,
    );
  });

  it('a few 429s from ARM are retried; a management plane that keeps answering 503 is Unhealthy, naming ARM', async () => {
    stack.throttleArm(2, 429);
    const retried = await checkReplicaHealth(config, deps, { storage });
    expect(stack.faults.armThrottle).toBeNull();
    expect(retried.status).toBe('Healthy');

    stack.throttleArm(1_000, 503);
    const report = await checkReplicaHealth(config, deps, { storage });
    expect(report.status).toBe('Unhealthy');
    expect(report.facts).toMatchObject({
      managementError: expect.stringMatching(
        /^503 ServiceUnavailable: The service is temporarily unavailable/,
      ),
      sqlProbe: 'ok',
      lagSeconds: 0,
    });
    expect(report.reasons).toEqual([
      `The PostgreSQL management plane (ARM) did not answer for "pg-kyvos-dr" after retries (${report.facts.managementError}): the replica's role and state are unverified, and a promote, which is an ARM operation, would fail now.`,
    ]);
    expect(report.eligibleForPlannedPromote).toBe(false);
  });

  it('a replica that does not exist, or not in the DR region, is Unhealthy with what to do', async () => {
    // The app holds Reader on the replica only, so ARM answers 403 for any other name, as on Azure.
    const misnamed = await checkReplicaHealth(
      { ...config, dr: { ...config.dr, replicaServer: 'pg-kyvos-dr2' } },
      deps,
    );
    expect(misnamed.status).toBe('Unhealthy');
    expect(misnamed.facts).toMatchObject({
      managementError: expect.stringMatching(
        /^403 AuthorizationFailed: The client '[^']*' with object id '[^']*' does not have authorization to perform action/,
      ),
    });
    expect(misnamed.reasons[0]).toBe(
      `The identity may not read replica server "pg-kyvos-dr2" in resource group "rg-kyvos-dr" (${misnamed.facts.managementError}): either no server has that name, or the identity lacks the Reader role on it. Check kyvos-dr-replica-pg-server and the role assignments of infra/rbac-dr.json (docs/rbac.md).`,
    );
    // An identity that may read the resource group (the operator) learns that it does not exist.
    const missing = await checkReplicaHealth(
      { ...config, dr: { ...config.dr, replicaServer: 'pg-kyvos-dr2' } },
      { ...deps, clients: stack.operatorClients() },
    );
    expect(missing.facts).toMatchObject({
      exists: false,
      managementError: expect.stringMatching(
        /^404 ResourceNotFound: The Resource '[^']*\/pg-kyvos-dr2' under resource group 'rg-kyvos-dr' was not found/,
      ),
    });
    expect(missing.reasons[0]).toBe(
      'Replica server "pg-kyvos-dr2" is missing: it was not found in resource group "rg-kyvos-dr". Recreate the read replica of "pg-kyvos" in eastus2, or correct kyvos-dr-replica-pg-server.',
    );

    const elsewhere = await checkReplicaHealth({ ...config, dr: { ...config.dr, region: 'westus3' } }, deps);
    expect(elsewhere.status).toBe('Unhealthy');
    expect(elsewhere.reasons).toEqual([
      'Replica "pg-kyvos-dr" is in eastus2, not in the DR region westus3: promoting it would not move Kyvos out of the primary region\'s failure domain.',
    ]);
  });

  it('with the primary region down the replica still reads Active, but is not eligible for a planned promote, naming forced', async () => {
    await stack.regionDown('primary');
    try {
      const report = await checkReplicaHealth(config, deps, { storage });
      // Azure's replicationState is the service's view of the link: it can stay Active here.
      expect(report.facts).toMatchObject({ replicationState: 'Active', primaryState: 'unreachable' });
      expect(report.eligibleForPlannedPromote).toBe(false);
      expect(report.eligibilityReasons).toContainEqual(
        expect.stringMatching(
          /^the primary server pg-kyvos is unreachable through ARM \(.*\): a planned promote needs both servers available; use mode forced if the primary region is down$/,
        ),
      );
    } finally {
      await stack.regionUp('primary');
    }
  });

  it('a stopped replica is Unhealthy: ARM shows it Inaccessible and it does not answer SQL', async () => {
    await stack.postgres.replica.stop();
    const report = await checkReplicaHealth(config, deps, { storage });
    expect(report.status).toBe('Unhealthy');
    expect(report.rpoSeconds).toBeNull();
    expect(report.facts).toMatchObject({ state: 'Inaccessible', sqlProbe: 'failed' });
    // The emulator derives replicationState Broken from the missing WAL receiver; the state explains it.
    expect(report.facts.replicationState).toBe('Broken');
    expect(report.reasons).toEqual([
      'Replica "pg-kyvos-dr" is Inaccessible: it is not running, so it neither replicates nor could be promoted.',
      expect.stringMatching(
        new RegExp(
          `^Replica "pg-kyvos-dr" does not answer SQL at 127\\.0\\.0\\.1:${stack.postgres.replica.port} \\(.*ECONNREFUSED.*\\): it is down or unreachable`,
        ),
      ),
    ]);
    expect(report.eligibleForPlannedPromote).toBe(false);
    expect(report.eligibilityReasons).toEqual([
      'state is Inaccessible',
      'replicationState is Broken',
      'lag unknown: the replica does not answer SQL',
    ]);
  });
});
