import { describe, expect, it } from 'vitest';
import {
  accessControlMismatch,
  formatAcl,
  parseAcl,
  resolveCopyAccessControl,
} from '../../../src/lib/copy/accessControl.js';

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
