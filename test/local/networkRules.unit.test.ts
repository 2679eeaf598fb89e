import { describe, expect, it } from 'vitest';
import { applyFaultsChange, viewFaults } from '../../local/emulator/faultsAdmin.js';
import {
  APP_NETWORK,
  isAllowedByNetworkRules,
  networkDenial,
  openNetworkRules,
  type StorageNetworkRuleSet,
  storageServiceAddress,
} from '../../local/networkRules.js';
import { emptyFaults, type LocalStorageAccount } from '../../local/types.js';

const account = (name: string, region: LocalStorageAccount['region']): LocalStorageAccount => ({
  name,
  key: 'a2V5',
  resourceGroup: region === 'primary' ? 'rg-kyvos' : 'rg-kyvos-dr',
  region,
  sku: 'Standard_RAGRS',
  isHnsEnabled: true,
  existsInArm: true,
});
const source = account('kyvosprimdata', 'primary');
const drAccount = account('kyvosdrdata', 'dr');
const deny = (rules: Partial<StorageNetworkRuleSet> = {}): StorageNetworkRuleSet => ({
  ...openNetworkRules(),
  defaultAction: 'Deny',
  ...rules,
});
const copyInto = (destination: LocalStorageAccount, headers: Record<string, string> = {}) => ({
  account: destination,
  url: new URL(`https://127.0.0.1/${destination.name}/data/a.txt`),
  headers: { 'x-ms-copy-source': `https://127.0.0.1/${source.name}-secondary/data/a.txt?sig=x`, ...headers },
});

describe('the emulator network rules', () => {
  it('an open account admits everyone', () => {
    expect(isAllowedByNetworkRules(source, openNetworkRules(), { kind: 'app' })).toBe(true);
  });

  it('a virtual network rule admits the app by its subnet, whatever the case of the id', () => {
    const rules = deny({
      virtualNetworkRules: [{ id: APP_NETWORK.subnetId.toUpperCase(), action: 'Allow' }],
    });
    expect(isAllowedByNetworkRules(source, rules, { kind: 'app' })).toBe(true);
    expect(isAllowedByNetworkRules(source, rules, { kind: 'storage-service', account: drAccount })).toBe(
      false,
    );
  });

  it('an IP rule (address or range) admits a requester from another region only', () => {
    const address = storageServiceAddress(drAccount.name);
    const byRange = deny({ ipRules: [{ value: '198.51.100.0/24', action: 'Allow' }] });
    expect(isAllowedByNetworkRules(source, byRange, { kind: 'storage-service', account: drAccount })).toBe(
      true,
    );
    const sameRegion = account('kyvosdrother', 'dr');
    expect(
      isAllowedByNetworkRules(sameRegion, deny({ ipRules: [{ value: address }] }), {
        kind: 'storage-service',
        account: drAccount,
      }),
    ).toBe(false);
  });

  it('trusted services and resource instance rules do not admit a storage account or the app', () => {
    const rules = deny({
      bypass: 'AzureServices, Logging, Metrics',
      resourceAccessRules: [
        {
          tenantId: 't',
          resourceId: '/subscriptions/s/providers/Microsoft.Storage/storageAccounts/kyvosdrdata',
        },
      ],
    });
    expect(isAllowedByNetworkRules(source, rules, { kind: 'storage-service', account: drAccount })).toBe(
      false,
    );
    expect(isAllowedByNetworkRules(source, rules, { kind: 'app' })).toBe(false);
  });

  it('a copy is judged by the source account for the destination service; its call back passes', () => {
    const accounts = [source, drAccount];
    const rulesOf = (a: LocalStorageAccount) =>
      a.name === source.name
        ? deny({ virtualNetworkRules: [{ id: APP_NETWORK.subnetId }] })
        : openNetworkRules();
    expect(networkDenial(copyInto(drAccount), accounts, rulesOf)).toMatchObject({
      status: 403,
      code: 'CannotVerifyCopySource',
      headers: { 'x-ms-copy-source-status-code': '403' },
    });
    const callback = {
      account: source,
      url: new URL(`https://127.0.0.1/${source.name}-secondary/data/a.txt?comp=metadata`),
      headers: { 'user-agent': 'axios/1.7.9' },
    };
    expect(networkDenial(callback, accounts, () => deny())).toBeUndefined();
    expect(networkDenial({ ...callback, headers: {} }, accounts, () => deny())).toMatchObject({
      code: 'AuthorizationFailure',
    });
  });

  it('the faults admin sets, shows and clears an account rule set, with Azure defaults for absent fields', () => {
    const faults = emptyFaults();
    applyFaultsChange(faults, { storageNetworkRules: { KyvosPrimData: { defaultAction: 'Deny' } } });
    expect(viewFaults(faults).storageNetworkRules).toEqual({ kyvosprimdata: deny() });
    applyFaultsChange(faults, { storageNetworkRules: { kyvosprimdata: null } });
    expect(viewFaults(faults).storageNetworkRules).toEqual({});
  });
});
