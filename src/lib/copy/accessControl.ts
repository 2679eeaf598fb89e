import type { PathAccessControlItem, RolePermissions } from '@azure/storage-file-datalake';
import type { CopyAccessControl } from '../config/DrConfig.js';
import type { Logger } from '../log.js';
import { describeError } from '../redact.js';
import type { CopyDeps } from './types.js';

/**
 * The POSIX access control of a path of a hierarchical-namespace account: what a Blob API copy
 * (Copy Blob, Copy Blob From URL, Put Blob) does NOT carry. It is read and set only through the Data
 * Lake endpoint (Path - Get Properties `action=getAccessControl`, Path - Update
 * `action=setAccessControl`: specification/storage/data-plane/Azure.Storage.Files.DataLake in
 * Azure/azure-rest-api-specs; headers `x-ms-owner`, `x-ms-group`, `x-ms-acl`). AzCopy carries ACLs
 * between HNS accounts the same way, with `--preserve-permissions` (`ste/sender-blobFolders.go`,
 * `setDatalakeACLs`).
 */
export interface PathAccessControl {
  owner: string;
  group: string;
  /** The ACL, access and default entries, in the service's order (`user::rwx,group::r-x,…`). */
  acl: string;
}

/**
 * Whether a copy carries access control: `on` and `off` as configured; `auto` when both accounts
 * have a hierarchical namespace (ARM's `isHnsEnabled`). With `auto`, an account whose namespace
 * cannot be read (ARM unreachable in an outage) counts as not known, and ACLs are not copied: the
 * data copy must not fail for want of an ARM answer. The reason says which.
 */
export function resolveCopyAccessControl(
  setting: CopyAccessControl,
  sourceHns: boolean | undefined,
  destinationHns: boolean | undefined,
): { enabled: boolean; reason: string } {
  if (setting !== 'auto') return { enabled: setting === 'on', reason: `kyvos-dr-copy-acls is ${setting}` };
  if (sourceHns === true && destinationHns === true) {
    return { enabled: true, reason: 'both accounts have a hierarchical namespace' };
  }
  const unknown = [sourceHns === undefined ? 'source' : '', destinationHns === undefined ? 'destination' : '']
    .filter(Boolean)
    .join(' and ');
  if (unknown) {
    return {
      enabled: false,
      reason: `the hierarchical namespace of the ${unknown} account could not be read from ARM; set kyvos-dr-copy-acls to on to copy ACLs regardless`,
    };
  }
  return { enabled: false, reason: 'not both accounts have a hierarchical namespace' };
}

/** Reads `isHnsEnabled` of an account through ARM; undefined when ARM does not answer. */
export async function hierarchicalNamespaceOf(
  deps: Pick<CopyDeps, 'clients'> & { logger: Logger },
  subscriptionId: string,
  resourceGroup: string,
  account: string,
  abortSignal?: AbortSignal,
): Promise<boolean | undefined> {
  try {
    const properties = await deps.clients
      .storageManagement(subscriptionId)
      .storageAccounts.getProperties(resourceGroup, account, abortSignal ? { abortSignal } : {});
    return properties.isHnsEnabled === true;
  } catch (error) {
    deps.logger.warn('copy.acls.namespace_unknown', {
      account,
      reason: describeError(error),
    });
    return undefined;
  }
}

/** The destination path's access control, through the Data Lake endpoint, with the identity. */
export async function readDestinationAccessControl(
  deps: Pick<CopyDeps, 'clients' | 'destination'>,
  name: string,
  abortSignal?: AbortSignal,
): Promise<PathAccessControl> {
  return accessControlOf(
    await destinationPath(deps, name).getAccessControl(abortSignal ? { abortSignal } : {}),
  );
}

/** Sets owner, group and ACL on the destination path (after its data was written). */
export async function applyAccessControl(
  deps: Pick<CopyDeps, 'clients' | 'destination'>,
  name: string,
  access: PathAccessControl,
  abortSignal?: AbortSignal,
): Promise<void> {
  await destinationPath(deps, name).setAccessControl(parseAcl(access.acl), {
    owner: access.owner,
    group: access.group,
    ...(abortSignal ? { abortSignal } : {}),
  });
}

/** Why two paths' access control differ, or undefined when they are the same. */
export function accessControlMismatch(
  source: PathAccessControl,
  destination: PathAccessControl,
): string | undefined {
  const differences: string[] = [];
  if (source.owner !== destination.owner) {
    differences.push(`owner ${source.owner} at the source, ${destination.owner} at the destination`);
  }
  if (source.group !== destination.group) {
    differences.push(`group ${source.group} at the source, ${destination.group} at the destination`);
  }
  if (canonicalAcl(source.acl) !== canonicalAcl(destination.acl)) {
    differences.push(`ACL ${source.acl} at the source, ${destination.acl} at the destination`);
  }
  return differences.length > 0 ? `access control differs: ${differences.join('; ')}` : undefined;
}

/** An ACL as entries, in the SDK's form: `[default:]user|group|mask|other:[id]:rwx`, comma-separated. */
export function parseAcl(acl: string): PathAccessControlItem[] {
  if (acl.trim() === '') return [];
  return acl.split(',').map((text) => {
    const parts = text.trim().split(':');
    const defaultScope = parts.length === 4 && parts[0]?.toLowerCase() === 'default';
    const [type, entityId, bits] = defaultScope ? parts.slice(1) : parts;
    if (
      (parts.length !== 3 && !defaultScope) ||
      !['user', 'group', 'mask', 'other'].includes(type ?? '') ||
      !/^[r-][w-][x-]$/.test(bits ?? '')
    ) {
      throw new Error(`"${text}" is not an ACL entry ([default:]user|group|mask|other:[id]:rwx).`);
    }
    return {
      defaultScope,
      accessControlType: type as PathAccessControlItem['accessControlType'],
      entityId: entityId ?? '',
      permissions: rolePermissions(bits as string),
    };
  });
}

/** An ACL in the SDK's form as the service writes it (`toAclString` of the Data Lake SDK). */
export function formatAcl(items: PathAccessControlItem[]): string {
  const bits = (p: RolePermissions) => `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}`;
  return items
    .map(
      (i) =>
        `${i.defaultScope ? 'default:' : ''}${i.accessControlType}:${i.entityId ?? ''}:${bits(i.permissions)}`,
    )
    .join(',');
}

function destinationPath(deps: Pick<CopyDeps, 'clients' | 'destination'>, name: string) {
  return deps.clients
    .dataLakeService(deps.destination.account)
    .getFileSystemClient(deps.destination.container)
    .getFileClient(name);
}

/** A Data Lake Get Access Control answer as owner, group and the ACL in the service's text form. */
export function accessControlOf(response: {
  owner?: string;
  group?: string;
  acl: PathAccessControlItem[];
}): PathAccessControl {
  return { owner: response.owner ?? '', group: response.group ?? '', acl: formatAcl(response.acl) };
}

function rolePermissions(bits: string): RolePermissions {
  return { read: bits[0] === 'r', write: bits[1] === 'w', execute: bits[2] === 'x' };
}

/** Entries compared as a set: the service may list them in its own order. Object ids compare in lower case. */
function canonicalAcl(acl: string): string {
  return acl
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)
    .sort()
    .join(',');
}
