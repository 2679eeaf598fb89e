import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport, HealthStatus } from '../../../src/lib/health/HealthReport.js';
import type { ReplicaHealthReport } from '../../../src/lib/health/ReplicaHealth.js';
import { combineReadiness, getLatestReadiness } from '../../../src/lib/health/readiness.js';
import {
  APP_CONTAINER,
  HealthHistory,
  healthHistoryOf,
  type LatestHealth,
} from '../../../src/lib/state/HealthHistory.js';
import { type StorageFixture, startStorageFixture } from '../../helpers/storageFixture.js';

const storageReport = (
  checkedAt: string,
  status: HealthStatus = 'Healthy',
  rpoSeconds: number | null = 12,
): HealthReport => ({
  check: 'storage',
  status,
  rpoSeconds,
  facts: { account: 'kyvosprimdata', maxRpoSeconds: 900, source: 'both' },
  reasons: status === 'Healthy' ? [] : [`storage is ${status}`],
  checkedAt,
});

const replicaReport = (
  checkedAt: string,
  status: HealthStatus = 'Healthy',
  rpoSeconds: number | null = 3,
): ReplicaHealthReport => ({
  check: 'replica',
  status,
  rpoSeconds,
  facts: { server: 'pg-kyvos-dr', maxLagSeconds: 300, maxLagBytes: 67_108_864 },
  reasons: status === 'Healthy' ? [] : [`replica is ${status}`],
  checkedAt,
  eligibleForPlannedPromote: status === 'Healthy',
  eligibilityReasons: [],
  promoteConditions: [
    { name: 'replicaRole', ok: true, detail: 'role is AsyncReplica' },
    { name: 'serverState', ok: true, detail: 'state is Ready' },
    {
      name: 'replicationState',
      ok: status === 'Healthy',
      detail: `replicationState is ${status === 'Healthy' ? 'Active' : 'Catchup'}`,
    },
    { name: 'lag', ok: true, detail: 'lag 3 s and 0 bytes behind the primary is within 300 s / 64 MiB' },
    { name: 'storageRpo', ok: false, detail: 'storage RPO unknown: there is no storage health report yet' },
  ],
});

describe('health history in the app storage account', () => {
  let fixture: StorageFixture;
  let now: Date;
  let history: HealthHistory;

  beforeAll(async () => {
    fixture = await startStorageFixture();
    now = new Date('2026-03-10T12:00:00.000Z');
    history = healthHistoryOf({
      clients: fixture.clients,
      appStorageAccount: fixture.names.appStorageAccount,
      clock: () => now,
    });
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  const container = () =>
    fixture.clients.blobService(fixture.names.appStorageAccount).getContainerClient(APP_CONTAINER);
  const blobNames = async (prefix: string) => {
    const names: string[] = [];
    for await (const blob of container().listBlobsFlat({ prefix })) names.push(blob.name);
    return names.sort();
  };

  it('stores each result under its day and keeps the latest with a count of consecutive non-Healthy results', async () => {
    // The container does not exist yet: the first write creates it.
    expect(await container().exists()).toBe(false);
    const sequence: Array<[string, HealthStatus, number, string | null]> = [
      ['2026-03-10T11:00:00.000Z', 'Healthy', 0, null],
      ['2026-03-10T11:05:00.000Z', 'Degraded', 1, '2026-03-10T11:05:00.000Z'],
      ['2026-03-10T11:10:00.000Z', 'Unhealthy', 2, '2026-03-10T11:05:00.000Z'],
      ['2026-03-10T11:15:00.000Z', 'Degraded', 3, '2026-03-10T11:05:00.000Z'],
      ['2026-03-10T11:20:00.000Z', 'Healthy', 0, null],
      ['2026-03-10T11:25:00.000Z', 'Degraded', 1, '2026-03-10T11:25:00.000Z'],
    ];
    for (const [checkedAt, status, count, since] of sequence) {
      const recorded = await history.record(storageReport(checkedAt, status));
      expect([recorded.consecutiveNonHealthy, recorded.nonHealthySince]).toEqual([count, since]);
    }
    expect(await blobNames('health/storage/')).toEqual([
      ...sequence.map(([checkedAt]) => `health/storage/2026-03-10/${checkedAt}.json`),
      'health/storage/latest.json',
    ]);
    const latest = await history.latest('storage');
    expect(latest).toEqual({
      report: storageReport('2026-03-10T11:25:00.000Z', 'Degraded'),
      consecutiveNonHealthy: 1,
      nonHealthySince: '2026-03-10T11:25:00.000Z',
    });
    const listed = [];
    for await (const report of history.list('storage', { since: new Date('2026-03-10T11:12:00Z') }))
      listed.push(report);
    expect(listed.map((r) => r.checkedAt)).toEqual([
      '2026-03-10T11:15:00.000Z',
      '2026-03-10T11:20:00.000Z',
      '2026-03-10T11:25:00.000Z',
    ]);
  });

  it('concurrent writers do not lose counts: latest.json is updated with ETag conditions', async () => {
    const writers = 8;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        history.record(replicaReport(`2026-03-10T11:30:0${i}.000Z`, 'Unhealthy')),
      ),
    );
    expect(results.map((r) => r.consecutiveNonHealthy).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    const latest = await history.latest('replica');
    expect(latest?.consecutiveNonHealthy).toBe(writers);
    expect(latest?.report.checkedAt).toBe('2026-03-10T11:30:07.000Z');
    expect(latest?.nonHealthySince).toEqual(expect.stringMatching(/^2026-03-10T11:30:0\d\.000Z$/));
  });

  it('keeps results for at least 7 days and deletes older days when a new result is written', async () => {
    const isolated = new HealthHistory(container(), { clock: () => now });
    // Results from 9, 8 and 6 days ago, written in their own time.
    for (const daysAgo of [9, 8, 6]) {
      const at = new Date(now.getTime() - daysAgo * 86_400_000);
      await new HealthHistory(container(), { clock: () => at }).record(storageReport(at.toISOString()));
    }
    const before = await blobNames('health/storage/2026-03-0');
    expect(before).toEqual([
      'health/storage/2026-03-01/2026-03-01T12:00:00.000Z.json',
      'health/storage/2026-03-02/2026-03-02T12:00:00.000Z.json',
      'health/storage/2026-03-04/2026-03-04T12:00:00.000Z.json',
    ]);
    const recorded = await isolated.record(storageReport(now.toISOString()));
    // Cutoff 2026-03-03: the days of 03-01 and 03-02 go; 03-04 (6 days old) stays.
    expect(recorded.prunedBlobs).toBe(2);
    expect(await blobNames('health/storage/2026-03-0')).toEqual([
      'health/storage/2026-03-04/2026-03-04T12:00:00.000Z.json',
    ]);
    // An older result that arrives late is counted but does not replace the latest.
    expect((await history.latest('storage'))?.report.checkedAt).toBe(now.toISOString());
  });

  it('replaces a damaged latest.json with the next result, and has no latest until then', async () => {
    const latestBlob = container().getBlockBlobClient('health/storage/latest.json');
    await latestBlob.upload('{"report":', 10);
    expect(await history.latest('storage')).toBeUndefined();
    const recorded = await history.record(storageReport('2026-03-10T12:05:00.000Z', 'Degraded'));
    expect([recorded.consecutiveNonHealthy, recorded.nonHealthySince]).toEqual([
      1,
      '2026-03-10T12:05:00.000Z',
    ]);
    expect((await history.latest('storage'))?.report.checkedAt).toBe('2026-03-10T12:05:00.000Z');
  });

  it('readiness combines the latest reports: worst status, the larger RPO, and planned-promote eligibility', async () => {
    now = new Date('2026-03-10T12:10:00.000Z');
    await history.record(storageReport('2026-03-10T12:08:00.000Z', 'Healthy', 40));
    await history.record(replicaReport('2026-03-10T12:09:00.000Z', 'Healthy', 3));
    const readiness = await getLatestReadiness({
      clients: fixture.clients,
      appStorageAccount: fixture.names.appStorageAccount,
      clock: () => now,
    });
    expect(readiness).toMatchObject({
      status: 'Healthy',
      rpoSeconds: 40,
      storageRpoSeconds: 40,
      databaseRpoSeconds: 3,
      rpoExplanation: ['storage decides: 40 s (database 3 s)'],
      reasons: [],
      eligibleForPlannedPromote: true,
      evaluatedAt: now.toISOString(),
    });
    // The storage condition is taken from the latest storage report, not the one the replica check saw.
    expect(readiness.eligibilityReasons).toContain('storage RPO 40 s is within 900 s');
    expect(readiness.replica?.consecutiveNonHealthy).toBe(0);
  });
});

describe('combined readiness', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  const latest = <R extends HealthReport>(report: R, consecutiveNonHealthy = 0): LatestHealth<R> => ({
    report,
    consecutiveNonHealthy,
    nonHealthySince: consecutiveNonHealthy ? report.checkedAt : null,
  });

  it('is the worst of the two checks, with every reason prefixed by its check', () => {
    const readiness = combineReadiness(
      latest(storageReport('2026-03-10T11:59:00.000Z', 'Degraded', 950), 2),
      latest(replicaReport('2026-03-10T11:59:00.000Z', 'Unhealthy', 20), 1),
      { now },
    );
    expect(readiness.status).toBe('Unhealthy');
    expect(readiness.rpoSeconds).toBe(950);
    expect(readiness.reasons).toEqual(['storage: storage is Degraded', 'replica: replica is Unhealthy']);
    expect(readiness.eligibleForPlannedPromote).toBe(false);
    expect(readiness.eligibilityReasons).toEqual([
      'replicationState is Catchup',
      'storage RPO 950 s exceeds 900 s',
    ]);
  });

  it('explains a null combined RPO, and treats a missing report as Unhealthy and a stale one as Degraded', () => {
    const noStorage = combineReadiness(undefined, latest(replicaReport('2026-03-10T11:59:00.000Z')), { now });
    expect(noStorage).toMatchObject({
      status: 'Unhealthy',
      rpoSeconds: null,
      storageRpoSeconds: null,
      databaseRpoSeconds: 3,
      rpoExplanation: ['storage RPO unknown: no storage health report yet'],
      eligibleForPlannedPromote: false,
      eligibilityReasons: ['storage RPO unknown: there is no storage health report yet'],
    });
    expect(noStorage.reasons).toEqual([
      'storage: no health report yet; the healthStorage timer has not run (or cannot write to the app storage)',
    ]);

    const unmeasured = replicaReport('2026-03-10T11:59:00.000Z', 'Healthy', null);
    unmeasured.facts.rpoNote = 'database lag is not measured: kyvos-dr-replica-connection-string is not set';
    const stale = combineReadiness(latest(storageReport('2026-03-10T11:00:00.000Z')), latest(unmeasured), {
      now,
    });
    expect(stale.status).toBe('Degraded');
    expect(stale.rpoExplanation).toEqual([
      'database RPO unknown: database lag is not measured: kyvos-dr-replica-connection-string is not set',
    ]);
    expect(stale.reasons).toEqual([
      'storage: the latest report is 3600 s old (checked 2026-03-10T11:00:00.000Z), older than 1800 s; the healthStorage timer is not running',
    ]);
    expect(stale.eligibleForPlannedPromote).toBe(false);
  });
});
