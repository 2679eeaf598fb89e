import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { runDoctor } from '../../../src/lib/doctor/runDoctor.js';
import { stackDoctorContext } from '../../helpers/healthStack.js';

/** The default stack: the role assignments of infra/ as they are (local/stackAuthorization.ts). */
describe('kyvos-dr doctor, effective permissions, with infra/ deployed as it is', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('finds every permission a failover needs, async-operation polling and Key Vault data actions included', async () => {
    const report = await runDoctor(await stackDoctorContext(stack), { areas: ['permissions'] });
    expect(report.findings.filter((f) => f.outcome !== 'pass')).toEqual([]);
    expect(report.outcome).toBe('pass');
    expect(report.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'permissions.replica.promote',
        'permissions.drResourceGroup.promotePoll',
        'permissions.primaryServer.stop',
        'permissions.primaryResourceGroup.stopPoll',
        'permissions.keyVault.getSecret',
        'permissions.keyVault.setSecret.kyvos-dr-active-storage-account',
      ]),
    );
  });
});
