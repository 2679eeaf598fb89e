import type { Server } from '@azure/arm-postgresql-flexible';
import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { checkPromotedReplica } from '../../../src/lib/health/PromotedReplicaHealth.js';

const NOW = new Date('2026-12-02T05:00:00Z');
const FAILOVER = { runId: 'fo-20261202T040000Z-abc123', at: '2026-12-02T04:05:00Z' };

const CONFIG = {
  subscriptionId: '6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a',
  primary: { resourceGroup: 'rg-kyvos', postgresServer: 'pg-kyvos' },
  dr: { resourceGroup: 'rg-kyvos-dr', replicaServer: 'pg-kyvos-dr' },
} as DrConfig;

/** Clients whose ARM answers `server` for the promoted server; nothing else is reachable. */
function clientsAnswering(server: Omit<Server, 'location'>): ClientFactory {
  return {
    postgresManagement: () => ({ servers: { get: async () => server } }),
  } as unknown as ClientFactory;
}

describe('the replica check after a recorded failover', () => {
  it('judges the promoted server as the primary: Degraded (no replica left), not "not a read replica"', async () => {
    const report = await checkPromotedReplica(
      CONFIG,
      { clients: clientsAnswering({ state: 'Ready', replicationRole: 'Primary' }), clock: () => NOW },
      FAILOVER,
    );
    expect(report.status).toBe('Degraded');
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toContain(`This DR pair failed over in run ${FAILOVER.runId}`);
    expect(report.facts).toMatchObject({ failedOver: true, failoverRunId: FAILOVER.runId, role: 'Primary' });
    expect(report.eligibleForPlannedPromote).toBe(false);
    expect(report.rpoSeconds).toBeNull();
  });

  it('is Unhealthy when the promoted server Kyvos writes to is stopped', async () => {
    const report = await checkPromotedReplica(
      CONFIG,
      { clients: clientsAnswering({ state: 'Stopped', replicationRole: 'Primary' }), clock: () => NOW },
      FAILOVER,
    );
    expect(report.status).toBe('Unhealthy');
    expect(report.reasons.join(' ')).toContain('az postgres flexible-server start --name pg-kyvos-dr');
  });

  it('is Unhealthy when the server recorded as promoted is still a read replica', async () => {
    const report = await checkPromotedReplica(
      CONFIG,
      { clients: clientsAnswering({ state: 'Ready', replicationRole: 'AsyncReplica' }), clock: () => NOW },
      FAILOVER,
    );
    expect(report.status).toBe('Unhealthy');
    expect(report.reasons.join(' ')).toContain('is still a read replica');
  });
});
