import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import { promoteReplica } from '../../../src/lib/promote/promoteReplica.js';
import { describeError } from '../../../src/lib/redact.js';

const config = {
  subscriptionId: 'sub',
  promoteMode: 'Standalone',
  storageStrategy: 'copy',
  primary: { resourceGroup: 'rg-kyvos', postgresServer: 'pg-kyvos' },
  dr: { resourceGroup: 'rg-kyvos-dr', replicaServer: 'pg-kyvos-dr' },
} as unknown as DrConfig;

/** ARM that knows the replica and refuses its promote as the emulator does with the primary down. */
function refusingArm(
  refusal: Error = Object.assign(
    new Error(
      'Cannot promote replica "pg-kyvos-dr" (rg-kyvos-dr) with promoteOption Planned: its primary server "pg-kyvos" is unreachable (its region is down).',
    ),
    { statusCode: 409, code: 'ReadReplicaPromotionFailed' },
  ),
): ClientFactory {
  return {
    postgresManagement: () => ({
      servers: {
        get: async () => ({ replica: { role: 'AsyncReplica' } }),
        beginUpdateAndWait: async () => {
          throw refusal;
        },
      },
    }),
  } as unknown as ClientFactory;
}

describe('the promote step when Azure refuses the promote', () => {
  const options = { timeoutInMs: 10_000, pollIntervalInMs: 10, runId: 'fo-1' };

  it("a refused Planned promote (a retried planned run whose primary went down) names ARM's reason and mode forced", async () => {
    const error = await promoteReplica(refusingArm(), config, { ...options, option: 'Planned' }).catch(
      (e: unknown) => e,
    );
    const text = describeError(error);
    expect(text).toContain('its primary server "pg-kyvos" is unreachable (its region is down)');
    expect(text).toContain(
      'A planned promote needs the primary server pg-kyvos available; if the primary region is down, start a new failover with mode forced.',
    );
  });

  it('a refused Forced promote does not send the operator to forced', async () => {
    const error = await promoteReplica(refusingArm(), config, { ...options, option: 'Forced' }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe(
      'Cannot promote replica "pg-kyvos-dr" (rg-kyvos-dr) with promoteOption Forced',
    );
  });

  it('a promote whose status the identity may not read names the missing role, not mode forced', async () => {
    const denied = Object.assign(
      new Error(
        "The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read' over scope '/subscriptions/sub/providers/Microsoft.DBforPostgreSQL/locations/eastus2/azureAsyncOperation/1' or the scope is invalid. If access was recently granted, please refresh your credentials.",
      ),
      { statusCode: 403, code: 'AuthorizationFailed' },
    );
    const error = await promoteReplica(refusingArm(denied), config, { ...options, option: 'Planned' }).catch(
      (e: unknown) => e,
    );
    const text = describeError(error);
    expect(text).toContain("'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read'");
    expect(text).toContain('The identity lacks a role of infra/ (docs/rbac.md)');
    expect(text).not.toContain('mode forced');
  });
});
