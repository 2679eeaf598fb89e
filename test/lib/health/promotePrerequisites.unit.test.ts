import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../../src/lib/failover/runCanFinish.js';
import {
  forcedPromoteBlockers,
  type PromoteCondition,
  plannedPromoteEligibility,
} from '../../../src/lib/health/plannedPromoteEligibility.js';
import {
  type ServerSize,
  serverSymmetryCondition,
  virtualEndpointCondition,
} from '../../../src/lib/health/promotePrerequisites.js';
import { combineReadiness } from '../../../src/lib/health/readiness.js';

const SERVERS = { primaryServer: 'pg-kyvos', replicaServer: 'pg-kyvos-dr' };
const PRIMARY: ServerSize = { skuName: 'Standard_D4ds_v5', tier: 'GeneralPurpose', storageSizeGB: 128 };
const SMALLER_STORAGE: ServerSize = { ...PRIMARY, storageSizeGB: 64 };
const FEWER_VCORES: ServerSize = { ...PRIMARY, skuName: 'Standard_D2ds_v5' };
const BURSTABLE: ServerSize = { skuName: 'Standard_B4ms', tier: 'Burstable', storageSizeGB: 128 };
const LARGER: ServerSize = { skuName: 'Standard_E8ds_v5', tier: 'MemoryOptimized', storageSizeGB: 256 };

const canFinish = { canFinish: true, sourceAccess: 'sas', reasons: [] } as unknown as Parameters<
  typeof refusalOf
>[2];

/** The readiness preflight sees when every other condition holds. */
function readinessWith(condition: PromoteCondition) {
  const conditions: PromoteCondition[] = [
    { name: 'replicaRole', ok: true, detail: 'role is AsyncReplica' },
    condition,
  ];
  return {
    ...plannedPromoteEligibility(conditions),
    forcedPromoteBlockers: forcedPromoteBlockers(conditions),
  };
}

describe('server symmetry of a standalone promote', () => {
  it.each([
    ['equal', PRIMARY],
    ['larger', LARGER],
  ])('holds for a replica %s to the primary', (_, replica) => {
    const condition = serverSymmetryCondition('Standalone', SERVERS, { size: PRIMARY }, replica);
    expect(condition.ok).toBe(true);
    expect(refusalOf({ mode: 'forced' }, readinessWith(condition), canFinish)).toBeUndefined();
  });

  it.each([
    ['less storage', SMALLER_STORAGE],
    ['fewer vCores', FEWER_VCORES],
    ['a lower compute tier', BURSTABLE],
  ])('a replica with %s refuses planned and forced runs, naming the size to scale to', (_, replica) => {
    const condition = serverSymmetryCondition('Standalone', SERVERS, { size: PRIMARY }, replica);
    expect(condition).toMatchObject({ name: 'serverSymmetry', ok: false, blocksForced: true });
    expect(condition.detail).toContain(
      "a promote needs the replica's tier and storage at least the primary's: scale the replica to Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage or larger",
    );
    const readiness = readinessWith(condition);
    const forced = refusalOf({ mode: 'forced' }, readiness, canFinish);
    expect(forced?.message).toMatch(
      /^Forced failover refused before anything was changed: the replica pg-kyvos-dr is /,
    );
    expect(forced?.message).toContain(
      'scale the replica to Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage',
    );
    const planned = refusalOf({ mode: 'planned' }, readiness, canFinish);
    expect(planned?.message).toContain('Fix the causes and start again.');
    expect(planned?.message).not.toContain('use mode "forced"');
  });

  it('does not block a forced run when ARM does not answer for the primary (a regional outage skips the check)', () => {
    const condition = serverSymmetryCondition(
      'Standalone',
      SERVERS,
      { error: '503 ServiceUnavailable' },
      SMALLER_STORAGE,
    );
    expect(condition).toMatchObject({ ok: false, blocksForced: false });
    expect(refusalOf({ mode: 'forced' }, readinessWith(condition), canFinish)).toBeUndefined();
  });

  it('counts a size ARM did not report as unverified, without blocking a forced run', () => {
    const condition = serverSymmetryCondition(
      'Standalone',
      SERVERS,
      { size: PRIMARY },
      { skuName: undefined, tier: undefined, storageSizeGB: undefined },
    );
    expect(condition).toMatchObject({ ok: false, blocksForced: false });
    expect(condition.detail).toContain('server symmetry unverified');
  });
});

describe('server symmetry of a switchover', () => {
  it('holds only for identical tier, compute and storage', () => {
    expect(serverSymmetryCondition('Switchover', SERVERS, { size: PRIMARY }, { ...PRIMARY }).ok).toBe(true);
  });

  it('a larger replica refuses the run and names Standalone as the way out', () => {
    const condition = serverSymmetryCondition(
      'Switchover',
      SERVERS,
      { size: PRIMARY },
      {
        ...LARGER,
        storageSizeGB: 128,
      },
    );
    expect(condition).toMatchObject({ ok: false, blocksForced: true });
    expect(condition.detail).toContain(
      'a switchover needs identical tiers and storage sizes: scale the replica to Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage, or set kyvos-dr-promote-mode to Standalone',
    );
  });

  it('a replica with more storage is not told to shrink it: the primary grows its storage', () => {
    const condition = serverSymmetryCondition('Switchover', SERVERS, { size: PRIMARY }, LARGER);
    expect(condition.detail).toContain(
      "a switchover needs identical tiers and storage sizes: scale the replica to Standard_D4ds_v5 (GeneralPurpose) and grow the primary's storage to 256 GB (storage cannot shrink), or set kyvos-dr-promote-mode to Standalone",
    );
  });

  it('a smaller replica is told to scale, not to use Standalone, which would refuse it too', () => {
    const condition = serverSymmetryCondition('Switchover', SERVERS, { size: PRIMARY }, SMALLER_STORAGE);
    expect(condition).toMatchObject({ ok: false, blocksForced: true });
    expect(condition.detail).not.toContain('Standalone');
  });
});

describe('the virtual endpoint of a switchover', () => {
  const servers = { ...SERVERS, primaryResourceGroup: 'rg-kyvos' };

  it('holds when an endpoint on the primary has the replica as a member', () => {
    const condition = virtualEndpointCondition(servers, {
      endpoints: [{ name: 'kyvos', members: ['pg-kyvos', 'PG-KYVOS-DR'] }],
    });
    expect(condition).toMatchObject({ name: 'virtualEndpoint', ok: true });
  });

  it.each([
    ['no endpoint', [], 'pg-kyvos has none'],
    [
      'a read-only endpoint on the primary',
      [{ name: 'kyvos', members: ['pg-kyvos'] }],
      'kyvos (members pg-kyvos)',
    ],
  ])('%s refuses planned and forced runs, naming the command that creates it', (_, endpoints, found) => {
    const condition = virtualEndpointCondition(servers, { endpoints });
    expect(condition).toMatchObject({ ok: false, blocksForced: true });
    expect(condition.detail).toContain(found);
    expect(condition.detail).toContain(
      'create it (az postgres flexible-server virtual-endpoint create --resource-group rg-kyvos --server-name pg-kyvos --name <name> --endpoint-type ReadWrite --members pg-kyvos-dr) or set kyvos-dr-promote-mode to Standalone',
    );
    expect(refusalOf({ mode: 'forced' }, readinessWith(condition), canFinish)?.message).toContain(
      'a switchover needs a virtual endpoint on the primary pg-kyvos',
    );
  });

  it('an unreadable list blocks too: a switchover needs the primary available', () => {
    const condition = virtualEndpointCondition(servers, { error: '503 ServiceUnavailable' });
    expect(condition).toMatchObject({ ok: false, blocksForced: true });
    expect(condition.detail).toContain(
      'if the primary region is down, set kyvos-dr-promote-mode to Standalone',
    );
  });
});

describe('readiness carries the prerequisites that block a forced run', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const latest = (conditions: PromoteCondition[]) => ({
    report: {
      check: 'replica' as const,
      status: 'Degraded' as const,
      rpoSeconds: 0,
      facts: {},
      reasons: [],
      checkedAt: now.toISOString(),
      ...plannedPromoteEligibility(conditions),
      promoteConditions: conditions,
    },
    consecutiveNonHealthy: 1,
    nonHealthySince: now.toISOString(),
  });

  it('lists a failing symmetry from the replica report, and not an unverified one', () => {
    const failing = serverSymmetryCondition('Standalone', SERVERS, { size: PRIMARY }, SMALLER_STORAGE);
    const unverified = serverSymmetryCondition('Standalone', SERVERS, { error: '503' }, SMALLER_STORAGE);
    expect(combineReadiness(undefined, latest([failing]), { now }).forcedPromoteBlockers).toEqual([
      failing.detail,
    ]);
    expect(combineReadiness(undefined, latest([unverified]), { now }).forcedPromoteBlockers).toEqual([]);
    expect(combineReadiness(undefined, undefined, { now }).forcedPromoteBlockers).toEqual([]);
  });
});
