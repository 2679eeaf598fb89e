import { describe, expect, it } from 'vitest';
import type { ClientFactory, StorageEndpoints } from '../../../src/lib/clients/ClientFactory.js';
import {
  accessControlMismatch,
  formatAcl,
  hierarchicalNamespaceOf,
  parseAcl,
  resolveCopyAccessControl,
} from '../../../src/lib/copy/accessControl.js';
import { createLogger } from '../../../src/lib/log.js';

const base = { owner: 'owner-oid', group: 'group-oid', acl: 'user::rwx,group::r-x,other::---' };

describe('whether the copy carries access control', () => {
  it('carries it by default when both accounts have a hierarchical namespace', () => {
    expect(resolveCopyAccessControl('auto', true, true).enabled).toBe(true);
  });

  it('does not carry it by default when one account is flat', () => {
    expect(resolveCopyAccessControl('auto', true, false)).toEqual({
      enabled: false,
      reason: 'not both accounts have a hierarchical namespace',
    });
  });

  it('does not carry it by default when ARM cannot say, and says how to force it', () => {
    const resolved = resolveCopyAccessControl('auto', undefined, true);
    expect(resolved.enabled).toBe(false);
    expect(resolved.reason).toContain('source account could not be read from ARM');
    expect(resolved.reason).toContain('kyvos-dr-copy-acls to on');
  });

  it('follows an explicit on or off whatever the accounts', () => {
    expect(resolveCopyAccessControl('on', undefined, undefined).enabled).toBe(true);
    expect(resolveCopyAccessControl('off', true, true).enabled).toBe(false);
  });
});

describe('comparing access control', () => {
  it('finds the same owner, group and ACL equal, whatever the order of the entries', () => {
    expect(
      accessControlMismatch(
        { ...base, acl: 'user::rwx,user:A1B2:r-x,group::r-x,mask::r-x,other::---' },
        { ...base, acl: 'user::rwx,group::r-x,user:a1b2:r-x,other::---,mask::r-x' },
      ),
    ).toBeUndefined();
  });

  it('names each difference, source first', () => {
    expect(
      accessControlMismatch(base, {
        owner: '$superuser',
        group: 'group-oid',
        acl: 'user::rw-,group::r--,other::---',
      }),
    ).toBe(
      'access control differs: owner owner-oid at the source, $superuser at the destination; ' +
        'ACL user::rwx,group::r-x,other::--- at the source, user::rw-,group::r--,other::--- at the destination',
    );
  });

  it('tells a missing named entry from an equal ACL', () => {
    expect(accessControlMismatch({ ...base, acl: `${base.acl},user:a1b2:r--` }, base)).toContain('ACL');
  });
});

describe('ACL text', () => {
  it('round-trips access and default entries as the service writes them', () => {
    const acl =
      'user::rwx,user:a1b2:r-x,group::r-x,mask::r-x,other::---,default:user::rwx,default:other::---';
    expect(formatAcl(parseAcl(acl))).toBe(acl);
    expect(parseAcl('default:group:g1:r--')).toEqual([
      {
        defaultScope: true,
        accessControlType: 'group',
        entityId: 'g1',
        permissions: { read: true, write: false, execute: false },
      },
    ]);
  });

  it('refuses an entry that is not one, naming it', () => {
    expect(() => parseAcl('user::rwx,owner::rw-')).toThrow('"owner::rw-" is not an ACL entry');
    expect(() => parseAcl('user::rwz')).toThrow('"user::rwz" is not an ACL entry');
  });
});

describe('whether an account has a hierarchical namespace', () => {
  function clientsReading(isHnsEnabled: boolean) {
    const known = new Map<string, StorageEndpoints>();
    const reads: string[] = [];
    const clients = {
      useEndpoints: (account: string, endpoints: StorageEndpoints) => known.set(account, endpoints),
      knownEndpoints: (account: string) => known.get(account),
      storageManagement: () => ({
        storageAccounts: {
          getProperties: async (_group: string, name: string) => {
            reads.push(name);
            return {
              name,
              isHnsEnabled,
              primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/` },
            };
          },
        },
      }),
    } as unknown as ClientFactory;
    return { clients, reads };
  }
  const deps = (clients: ClientFactory) => ({ clients, logger: createLogger(() => {}) });

  it('reads ARM once per account, then answers from what that read recorded', async () => {
    const { clients, reads } = clientsReading(true);
    expect(await hierarchicalNamespaceOf(deps(clients), 'sub', 'rg', 'kyvosdrdata')).toBe(true);
    expect(await hierarchicalNamespaceOf(deps(clients), 'sub', 'rg', 'kyvosdrdata')).toBe(true);
    expect(reads).toEqual(['kyvosdrdata']);
  });

  it("answers from the endpoints' own ARM read without reading again", async () => {
    const { clients, reads } = clientsReading(true);
    clients.useEndpoints('kyvosprimdata', {
      blob: 'https://kyvosprimdata.blob.core.windows.net',
      isHnsEnabled: false,
    });
    expect(await hierarchicalNamespaceOf(deps(clients), 'sub', 'rg', 'kyvosprimdata')).toBe(false);
    expect(reads).toEqual([]);
  });
});
