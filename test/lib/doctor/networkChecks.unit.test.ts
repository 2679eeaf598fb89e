import type { StorageAccount } from '@azure/arm-storage';
import { describe, expect, it } from 'vitest';
import { APP_SETTINGS } from '../../../src/lib/config/secretNames.js';
import {
  appNetworkFindings,
  assessAppNetworkAccess,
  copySourceFinding,
} from '../../../src/lib/doctor/networkChecks.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const SUBNET =
  '/subscriptions/s/resourceGroups/rg-kyvos-dr/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-func';
const REF = { name: 'kyvosprimdata', resourceGroup: 'rg-kyvos', use: 'reads' };
const config = testConfig();
const settings = { [APP_SETTINGS.appSubnetId]: SUBNET };

function account(
  rules: Partial<NonNullable<StorageAccount['networkRuleSet']>> | undefined,
  extra: Partial<StorageAccount> = {},
): StorageAccount {
  return {
    location: 'centralus',
    ...(rules ? { networkRuleSet: { defaultAction: 'Allow', ...rules } } : {}),
    ...extra,
  } as StorageAccount;
}

describe("the app's subnet against an account's network rules", () => {
  it('an account open to every network admits the app', () => {
    expect(assessAppNetworkAccess(account(undefined), SUBNET, REF).verdict).toBe('allowed');
    expect(assessAppNetworkAccess(account({ defaultAction: 'Allow' }), SUBNET, REF).verdict).toBe('allowed');
  });

  it('a virtual network rule for the subnet admits the app, whatever the case of its id', () => {
    const rules = {
      defaultAction: 'Deny' as const,
      virtualNetworkRules: [{ virtualNetworkResourceId: SUBNET.toUpperCase() }],
    };
    expect(assessAppNetworkAccess(account(rules), SUBNET, REF).verdict).toBe('allowed');
  });

  it('a rule for another subnet, or a rule whose state is not Succeeded, admits nothing', () => {
    const other = {
      defaultAction: 'Deny' as const,
      virtualNetworkRules: [{ virtualNetworkResourceId: `${SUBNET}-other` }],
    };
    const deleted = {
      defaultAction: 'Deny' as const,
      virtualNetworkRules: [{ virtualNetworkResourceId: SUBNET, state: 'NetworkSourceDeleted' as const }],
    };
    const denied = assessAppNetworkAccess(account(other), SUBNET, REF);
    expect(denied.verdict).toBe('denied');
    expect(denied.fix).toContain(
      `az storage account network-rule add --account-name kyvosprimdata --resource-group rg-kyvos --subnet ${SUBNET}`,
    );
    expect(denied.fix).toContain('--service-endpoints Microsoft.Storage.Global');
    expect(assessAppNetworkAccess(account(deleted), SUBNET, REF)).toMatchObject({
      verdict: 'denied',
      detail: expect.stringContaining('NetworkSourceDeleted'),
    });
  });

  it('the trusted-services exception and resource instance rules do not admit the app', () => {
    const rules = {
      defaultAction: 'Deny' as const,
      bypass: 'AzureServices',
      resourceAccessRules: [
        {
          tenantId: 't',
          resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/func',
        },
      ],
    };
    expect(assessAppNetworkAccess(account(rules), SUBNET, REF).verdict).toBe('denied');
  });

  it('IP rules alone may or may not admit the app: uncertain', () => {
    const rules = { defaultAction: 'Deny' as const, ipRules: [{ iPAddressOrRange: '203.0.113.0/24' }] };
    expect(assessAppNetworkAccess(account(rules), SUBNET, REF).verdict).toBe('uncertain');
  });

  it('public network access disabled leaves private endpoints, which the rules do not show: uncertain', () => {
    const access = assessAppNetworkAccess(
      account(undefined, { publicNetworkAccess: 'Disabled' }),
      SUBNET,
      REF,
    );
    expect(access.verdict).toBe('uncertain');
    expect(access.fix).toContain('blob_secondary');
  });
});

describe('network findings', () => {
  it('without the app subnet setting, the app findings are unknown and name the setting', () => {
    const findings = appNetworkFindings(account(undefined), account(undefined), { config, settings: {} });
    expect(findings.map((f) => [f.id, f.outcome])).toEqual([
      ['network.appReadsSource', 'unknown'],
      ['network.appWritesDr', 'unknown'],
    ]);
    expect(findings[0]?.fix).toContain('Set KYVOS_DR_APP_SUBNET_ID');
  });

  it('a DR account that does not exist passes: the failover creates it open', () => {
    const findings = appNetworkFindings(account(undefined), undefined, { config, settings });
    expect(findings.map((f) => [f.id, f.outcome])).toEqual([
      ['network.appReadsSource', 'pass'],
      ['network.appWritesDr', 'pass'],
    ]);
    expect(findings[1]?.detail).toContain('does not exist yet');
  });

  it("an existing DR account that denies the app's subnet fails, naming the rule to add to it", () => {
    const dr = account({ defaultAction: 'Deny' });
    const [, drFinding] = appNetworkFindings(account(undefined), dr, { config, settings });
    expect(drFinding).toMatchObject({ id: 'network.appWritesDr', outcome: 'fail' });
    expect(drFinding?.fix).toContain('--account-name kyvosdrdata --resource-group rg-kyvos-dr');
  });

  it('the copy source finding follows assessCopyNetworkAccess, with its fix apart from its detail', () => {
    expect(copySourceFinding(account(undefined), { config }).outcome).toBe('pass');
    const denied = copySourceFinding(
      account({ defaultAction: 'Deny', virtualNetworkRules: [{ virtualNetworkResourceId: SUBNET }] }),
      {
        config,
      },
    );
    expect(denied.outcome).toBe('fail');
    expect(denied.detail).toContain('CannotVerifyCopySource');
    expect(denied.detail).not.toContain('az storage account update');
    expect(denied.fix).toContain(
      'az storage account update --name kyvosprimdata --resource-group rg-kyvos --public-network-access Enabled --default-action Allow',
    );
    const uncertain = copySourceFinding(
      account({ defaultAction: 'Deny', ipRules: [{ iPAddressOrRange: '198.51.100.7' }] }),
      {
        config,
      },
    );
    expect(uncertain.outcome).toBe('warn');
  });
});
