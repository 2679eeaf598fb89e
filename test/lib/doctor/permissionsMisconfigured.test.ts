import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAMES, type LocalStack, startLocalStack } from '../../../local/stack.js';
import { runDoctor } from '../../../src/lib/doctor/runDoctor.js';
import { stackDoctorContext } from '../../helpers/healthStack.js';

const {
  subscriptionId,
  drResourceGroup,
  replicaPostgresServer,
  primaryResourceGroup,
  primaryPostgresServer,
} = DEFAULT_NAMES;
const DR_RG = `/subscriptions/${subscriptionId}/resourceGroups/${drResourceGroup}`;
const PRIMARY_SERVER = `/subscriptions/${subscriptionId}/resourceGroups/${primaryResourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${primaryPostgresServer}`;
const REPLICA = `${DR_RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${replicaPostgresServer}`;

/**
 * A stack deployed wrongly in two ways: the Fencer's assignment on the old primary is missing, and the
 * Operation Status Reader of the DR resource group was assigned on the replica instead, where ARM
 * never checks the status URLs of the promote and the create.
 */
describe('kyvos-dr doctor, effective permissions, with a role missing and the status reads on the server', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      rbac: {
        adjustAssignments: (assignments, roleOf) =>
          assignments
            .filter((a) => roleOf(a) !== 'Kyvos DR PostgreSQL Primary Fencer')
            .map((a) =>
              roleOf(a) === 'Kyvos DR Operation Status Reader' &&
              a.scope.toLowerCase() === DR_RG.toLowerCase()
                ? { ...a, scope: REPLICA }
                : a,
            ),
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('fails the stop and the polling of the promote and the create, each naming the role, the scope and the template', async () => {
    const report = await runDoctor(await stackDoctorContext(stack), { areas: ['permissions'] });
    expect(report.outcome).toBe('fail');
    const failed = report.findings.filter((f) => f.outcome !== 'pass');
    expect(failed.map((f) => [f.id, f.outcome])).toEqual([
      ['permissions.drResourceGroup.promotePoll', 'fail'],
      ['permissions.drResourceGroup.promoteResult', 'fail'],
      ['permissions.drResourceGroup.storageAccountCreatePoll', 'fail'],
      ['permissions.primaryServer.stop', 'fail'],
    ]);
    expect(failed[0]?.fix).toBe(
      `Assign the role "Kyvos DR Operation Status Reader" to the kyvos-dr identity at ${DR_RG}: infra/rbac-dr.json (deployed to ${drResourceGroup}) assigns it.`,
    );
    expect(failed[3]?.fix).toBe(
      `Assign the role "Kyvos DR PostgreSQL Primary Fencer" to the kyvos-dr identity at ${PRIMARY_SERVER}: infra/rbac-primary.json (deployed to ${primaryResourceGroup}) assigns it.`,
    );
  });
});
