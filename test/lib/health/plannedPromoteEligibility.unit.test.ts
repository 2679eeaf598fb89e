import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../../src/lib/failover/runCanFinish.js';
import {
  type PromoteCondition,
  plannedPromoteEligibility,
  primaryStateCondition,
} from '../../../src/lib/health/plannedPromoteEligibility.js';

const replicaFine: PromoteCondition[] = [
  { name: 'replicaRole', ok: true, detail: 'role is AsyncReplica' },
  { name: 'serverState', ok: true, detail: 'state is Ready' },
  // Azure may keep a replica Active while its primary is unreachable: it does not vouch for the primary.
  { name: 'replicationState', ok: true, detail: 'replicationState is Active' },
  { name: 'lag', ok: true, detail: 'lag 0 s' },
];

describe('the primary state condition of a planned promote', () => {
  it('holds only when ARM reads the primary Ready', () => {
    const ready = primaryStateCondition('pg-kyvos', { state: 'Ready' });
    expect(ready).toEqual({ name: 'primaryState', ok: true, detail: 'the primary server pg-kyvos is Ready' });
    expect(plannedPromoteEligibility([...replicaFine, ready]).eligibleForPlannedPromote).toBe(true);
  });

  it.each([
    [{ state: 'Stopped' }, 'Stopped'],
    [{ state: 'Inaccessible' }, 'Inaccessible'],
    [{ state: undefined }, 'in an unknown state'],
    [{ error: '503 ServiceUnavailable' }, 'unreachable through ARM (503 ServiceUnavailable)'],
  ])(
    'a primary read as %j makes a replica that is otherwise fine not eligible, naming forced',
    (reading, state) => {
      const condition = primaryStateCondition('pg-kyvos', reading);
      const eligibility = plannedPromoteEligibility([...replicaFine, condition]);
      expect(eligibility.eligibleForPlannedPromote).toBe(false);
      expect(eligibility.eligibilityReasons).toEqual([
        `the primary server pg-kyvos is ${state}: a planned promote needs both servers available; use mode forced if the primary region is down`,
      ]);
    },
  );

  it('a planned run is refused at preflight with that reason; a forced one is not', () => {
    const eligibility = plannedPromoteEligibility([
      ...replicaFine,
      primaryStateCondition('pg-kyvos', { error: '503 ServiceUnavailable' }),
    ]);
    const canFinish = { canFinish: true, sourceAccess: 'sas', reasons: [] } as unknown as Parameters<
      typeof refusalOf
    >[2];
    const refusal = refusalOf({ mode: 'planned' }, eligibility, canFinish);
    expect(refusal?.message).toContain(
      'the primary server pg-kyvos is unreachable through ARM (503 ServiceUnavailable): a planned promote needs both servers available; use mode forced if the primary region is down',
    );
    expect(refusalOf({ mode: 'forced' }, eligibility, canFinish)).toBeUndefined();
  });
});
