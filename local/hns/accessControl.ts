/**
 * The POSIX access control of the paths of the stack's hierarchical-namespace accounts, which
 * Azurite does not have: owner, owning group and the access ACL of each path, as Path - Get Properties
 * (`action=getAccessControl`) answers them and Path - Update (`action=setAccessControl`) sets them
 * (https://learn.microsoft.com/rest/api/storageservices/datalakestoragegen2/path/get-properties,
 * https://learn.microsoft.com/rest/api/storageservices/datalakestoragegen2/path/update; headers
 * `x-ms-owner`, `x-ms-group`, `x-ms-permissions`, `x-ms-acl`).
 */
export interface PathAccess {
  owner: string;
  group: string;
  /** The access ACL, `user::rwx,group::r-x,other::---[,user:<id>:…,mask::…]`. */
  acl: string;
}

/**
 * What a path that nobody set has: the owner and group `$superuser` and the mode 750 for directories,
 * 640 for files, as Azure answers for paths created with a key or SAS (the umask 027 of
 * https://learn.microsoft.com/azure/storage/blobs/data-lake-storage-access-control#umask; recorded
 * answers in Azure/azure-sdk-for-js storage-file-datalake recordings show `$superuser`, `rwxr-x---`
 * and `rw-r-----`).
 */
export function defaultAccess(isDirectory: boolean): PathAccess {
  return {
    owner: '$superuser',
    group: '$superuser',
    acl: isDirectory ? 'user::rwx,group::r-x,other::---' : 'user::rw-,group::r--,other::---',
  };
}

const ENTRY = /^(default:)?(user|group|mask|other):([^:,]*):([r-][w-][x-])$/;

/** Whether a value of `x-ms-acl` is a well-formed ACL with the three base entries. */
export function isValidAcl(acl: string): boolean {
  const entries = acl.split(',');
  if (!entries.every((entry) => ENTRY.test(entry))) return false;
  const access = entries.filter((entry) => !entry.startsWith('default:'));
  return ['user::', 'group::', 'other::'].every((base) => access.some((entry) => entry.startsWith(base)));
}

/**
 * `x-ms-permissions` for an ACL: the owner, group class (the mask when there is one) and other bits,
 * with `+` when the ACL has more than the base entries (the form Path - Get Properties answers).
 */
export function permissionsOf(acl: string): string {
  const access = acl.split(',').filter((entry) => !entry.startsWith('default:'));
  const bits = (prefix: string) =>
    access.find((entry) => entry.startsWith(prefix))?.slice(prefix.length) ?? '---';
  const mask = access.find((entry) => entry.startsWith('mask::'));
  const extended = access.some((entry) => /^(user|group):[^:]+:/.test(entry));
  return `${bits('user::')}${mask ? bits('mask::') : bits('group::')}${bits('other::')}${extended ? '+' : ''}`;
}

/**
 * The ACL after `x-ms-permissions` is set: its base entries (or the mask, for the group class when
 * there is one) take the symbolic (`rwxr-x---`) or octal (`0750`) mode. The sticky bit is not kept.
 */
export function withPermissions(acl: string, permissions: string): string | undefined {
  let symbolic = permissions;
  if (/^[0-7]{3,4}$/.test(permissions)) {
    symbolic = permissions
      .slice(-3)
      .split('')
      .map((digit) => {
        const n = Number(digit);
        return `${n & 4 ? 'r' : '-'}${n & 2 ? 'w' : '-'}${n & 1 ? 'x' : '-'}`;
      })
      .join('');
  }
  if (!/^[r-][w-][xtT-][r-][w-][x-][r-][w-][xtT-]$/.test(symbolic)) return undefined;
  const normal = symbolic.replace(/[tT]/g, (c) => (c === 't' ? 'x' : '-'));
  const entries = acl.split(',');
  const groupClass = entries.some((entry) => entry.startsWith('mask::')) ? 'mask::' : 'group::';
  const bitsFor: Record<string, string> = {
    'user::': normal.slice(0, 3),
    [groupClass]: normal.slice(3, 6),
    'other::': normal.slice(6, 9),
  };
  return entries
    .map((entry) => {
      const base = Object.keys(bitsFor).find((prefix) => entry.startsWith(prefix));
      return base ? `${base}${bitsFor[base]}` : entry;
    })
    .join(',');
}

/** The access control of every path that was set, by account, file system and path. */
export class AccessControlStore {
  private readonly paths = new Map<string, PathAccess>();

  get(account: string, container: string, path: string): PathAccess | undefined {
    return this.paths.get(key(account, container, path));
  }

  set(account: string, container: string, path: string, access: PathAccess): void {
    this.paths.set(key(account, container, path), access);
  }

  /** A deleted path takes its access control with it. */
  delete(account: string, container: string, path: string): void {
    this.paths.delete(key(account, container, path));
  }
}

function key(account: string, container: string, path: string): string {
  return `${account}\n${container}\n${path}`;
}
