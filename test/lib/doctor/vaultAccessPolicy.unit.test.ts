import { describe, expect, it } from 'vitest';
import type { ArmResources } from '../../../src/lib/clients/ArmResources.js';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { LOCAL_APP_OBJECT_ID, LocalStackCredential } from '../../../src/lib/clients/LocalStackCredential.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import type { DoctorContext } from '../../../src/lib/doctor/doctorCheck.js';
import { permissionNeeds } from '../../../src/lib/doctor/permissionNeeds.js';
import { effectivePermissionsCheck } from '../../../src/lib/doctor/permissions.js';
import {
  accessPolicyFindings,
  callerObjectId,
  isVaultDataNeed,
  type VaultAccessModel,
} from '../../../src/lib/doctor/vaultAccessPolicy.js';
import { silentLogger } from '../../../src/lib/log.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const config: DrConfig = testConfig({
  keyVault: { url: 'https://kv-kyvos.vault.azure.net/', name: 'kv-kyvos' },
});
const vaultNeeds = permissionNeeds(config).filter(isVaultDataNeed);
const policy = (secrets: string[], objectId = LOCAL_APP_OBJECT_ID): VaultAccessModel => ({
  rbac: false,
  accessPolicies: [{ objectId, permissions: { secrets } }],
});
const notPassing = (model: VaultAccessModel) =>
  accessPolicyFindings(vaultNeeds, { name: 'kv-kyvos', model }, LOCAL_APP_OBJECT_ID).filter(
    (f) => f.outcome !== 'pass',
  );

describe('Key Vault data actions on a vault that uses access policies', () => {
  it("passes with get and set in the caller's policy, or all, in any letter case", () => {
    expect(vaultNeeds.map((n) => n.id)).toContain('keyVault.setSecret.kyvos-dr-active-pg-server');
    expect(notPassing(policy(['Get', 'Set']))).toEqual([]);
    expect(notPassing(policy(['all']))).toEqual([]);
  });

  it('fails each write without set, naming the permission to add and the template', () => {
    const failed = notPassing(policy(['get', 'list']));
    expect(failed).toHaveLength(6);
    expect(
      failed.every((f) => f.id.startsWith('permissions.keyVault.setSecret.') && f.outcome === 'fail'),
    ).toBe(true);
    expect(failed[0]?.fix).toContain('Add the secret permission "set" to the access policy');
    expect(failed[0]?.fix).toContain('infra/rbac-primary.json');
    expect(failed[0]?.fix).toContain('with vaultPermissionModel "accessPolicy" adds get and set');
  });

  it("counts only the caller's own policy", () => {
    const failed = notPassing(policy(['get', 'set'], '00000000-0000-0000-0000-000000000bad'));
    expect(failed.map((f) => f.outcome).sort()).toEqual([...Array(7).fill('fail'), 'warn']);
    expect(failed[0]?.detail).toContain(`no policy names the identity (object ID ${LOCAL_APP_OBJECT_ID})`);
  });

  it("reads the caller's object ID from its ARM token", async () => {
    expect(await callerObjectId(new LocalStackCredential('tenant'))).toBe(LOCAL_APP_OBJECT_ID);
  });

  it('reads no permission of a secret through ARM, and decides the data actions from the policy', async () => {
    const listed: string[] = [];
    const arm: ArmResources = {
      get: async () => ({
        properties: { enableRbacAuthorization: false, accessPolicies: policy(['get']).accessPolicies },
      }),
      list: async (path) => {
        listed.push(path);
        return [{ actions: ['*'], notActions: [], dataActions: [], notDataActions: [] }];
      },
    };
    const clients = {
      armResources: () => arm,
      credential: new LocalStackCredential('tenant'),
    } as unknown as ClientFactory;
    const context: DoctorContext = {
      config,
      clients,
      settings: {},
      clock: () => new Date(),
      logger: silentLogger,
    };
    const findings = await effectivePermissionsCheck.run(context);
    expect(listed.some((path) => path.includes('/secrets/'))).toBe(false);
    // `*` grants no data action: only the policy decides the vault's.
    const vaultFindings = findings.filter((f) => f.id.startsWith('permissions.keyVault.'));
    expect(vaultFindings.filter((f) => f.outcome !== 'pass').map((f) => f.id)).toEqual(
      vaultNeeds.filter((n) => n.action.endsWith('setSecret/action')).map((n) => `permissions.${n.id}`),
    );
  });
});
