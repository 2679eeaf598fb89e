import type { Server, VirtualEndpoint } from '@azure/arm-postgresql-flexible';
import type { PromoteMode } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import type { PromoteCondition } from './plannedPromoteEligibility.js';

/**
 * What Azure checks before it promotes a read replica, whatever the promote option, so that a run is
 * refused before it starts rather than failing at the promote step after the storage was copied.
 *
 * From "Promote read replicas" (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote)
 * and "Read replicas" (concepts-read-replicas#configuration-management):
 * - `Switchover` ("promote to primary server") needs a virtual endpoint on the primary whose
 *   read-only endpoint points to the replica, and "identical tiers and storage sizes" on both servers;
 * - `Standalone` ("promote to independent server") needs the replica's tier and storage size "the
 *   same or higher than the primary";
 * - a `Forced` promote "skips all checks - including the server symmetry requirement" during a
 *   regional outage, but "using the Forced option outside of region down scenarios is not allowed if
 *   the requirements ... are not met".
 *
 * A condition that fails with `blocksForced` refuses a forced run too. A forced run can only tell an
 * outage by ARM not answering for the primary: then the symmetry cannot be read, and does not block.
 */

/** The compute and storage of a server, as ARM reports them (`sku`, `properties.storage`). */
export interface ServerSize {
  skuName: string | undefined;
  tier: string | undefined;
  storageSizeGB: number | undefined;
}

export function serverSizeOf(server: Pick<Server, 'sku' | 'storage'>): ServerSize {
  return {
    skuName: server.sku?.name,
    tier: server.sku?.tier,
    storageSizeGB: server.storage?.storageSizeGB,
  };
}

/** The primary's size as read through ARM, or the error of the read. */
export type PrimarySizeReading = { size: ServerSize } | { error: string };

export interface ServerPair {
  primaryServer: string;
  replicaServer: string;
}

/** Compute tiers, smallest first (`sku.tier`). */
const TIERS = ['Burstable', 'GeneralPurpose', 'MemoryOptimized'];

/**
 * The server-symmetry condition of a promote in `promoteMode`: identical tier, compute size and
 * storage size for `Switchover`, at least the primary's for `Standalone`.
 */
export function serverSymmetryCondition(
  promoteMode: PromoteMode,
  servers: ServerPair,
  primary: PrimarySizeReading,
  replica: ServerSize | undefined,
): PromoteCondition {
  const unverified = (why: string): PromoteCondition => ({
    name: 'serverSymmetry',
    ok: false,
    blocksForced: false,
    detail: `server symmetry unverified: ${why}`,
  });
  if (!replica) return unverified(`ARM did not answer for the replica ${servers.replicaServer}`);
  if ('error' in primary) {
    return unverified(
      `ARM did not answer for the primary ${servers.primaryServer} (${primary.error}); a forced promote during a regional outage skips this check`,
    );
  }
  const p = comparable(primary.size);
  const r = comparable(replica);
  if (!p || !r) {
    return unverified(
      `ARM reported no complete SKU and storage size (primary ${describe(primary.size)}, replica ${describe(replica)})`,
    );
  }
  const identical = p.tier === r.tier && p.vCores === r.vCores && p.storageSizeGB === r.storageSizeGB;
  const atLeast = r.tier >= p.tier && r.vCores >= p.vCores && r.storageSizeGB >= p.storageSizeGB;
  const sizes = `the replica ${servers.replicaServer} is ${describe(replica)}, the primary ${servers.primaryServer} ${describe(primary.size)}`;
  if (promoteMode === 'Switchover' ? identical : atLeast) {
    return {
      name: 'serverSymmetry',
      ok: true,
      detail: `${sizes}: ${promoteMode === 'Switchover' ? 'identical, as a switchover needs' : 'at least the primary, as a standalone promote needs'}`,
    };
  }
  const target = `${primary.size.skuName} (${primary.size.tier}) with ${primary.size.storageSizeGB} GB of storage`;
  const fix =
    promoteMode === 'Switchover'
      ? `a switchover needs identical tiers and storage sizes: ${switchoverScaling(primary.size, serverSizeChanges(promoteMode, primary.size, replica))}${atLeast ? `, or set ${CONFIG_SECRETS.promoteMode} to Standalone` : ''}`
      : `a promote needs the replica's tier and storage at least the primary's: scale the replica to ${target} or larger`;
  return {
    name: 'serverSymmetry',
    ok: false,
    blocksForced: true,
    detail: `${sizes}: ${fix}. Azure refuses this promote, planned or forced, unless the primary region is down`,
  };
}

/** The virtual endpoints listed on the primary server, or the error of the read. */
export type VirtualEndpointsReading = { endpoints: VirtualEndpoint[] } | { error: string };

/**
 * The virtual-endpoint condition of a `Switchover`: a pair of virtual endpoints on the primary whose
 * read-only endpoint points to the replica (`members` names the servers the endpoints point to).
 * A switchover also needs the primary up, so an unreadable list blocks a forced run too.
 */
export function virtualEndpointCondition(
  servers: ServerPair & { primaryResourceGroup: string },
  reading: VirtualEndpointsReading,
): PromoteCondition {
  const { primaryServer, replicaServer } = servers;
  const standalone = `or set ${CONFIG_SECRETS.promoteMode} to Standalone`;
  if ('error' in reading) {
    return {
      name: 'virtualEndpoint',
      ok: false,
      blocksForced: true,
      detail: `the virtual endpoints of the primary ${primaryServer} could not be read (${reading.error}): a switchover needs one whose read-only endpoint points to ${replicaServer}, and the primary server available; if the primary region is down, set ${CONFIG_SECRETS.promoteMode} to Standalone`,
    };
  }
  const same = (a: string) => a.toLowerCase() === replicaServer.toLowerCase();
  const match = reading.endpoints.find((e) => (e.members ?? []).some(same));
  if (match) {
    return {
      name: 'virtualEndpoint',
      ok: true,
      detail: `the virtual endpoint ${match.name} of ${primaryServer} has ${replicaServer} as its read-only endpoint, as a switchover needs`,
    };
  }
  const found =
    reading.endpoints.length === 0
      ? `${primaryServer} has none`
      : `${primaryServer} has ${reading.endpoints.map((e) => `${e.name} (members ${(e.members ?? []).join(', ') || 'none'})`).join('; ')}`;
  return {
    name: 'virtualEndpoint',
    ok: false,
    blocksForced: true,
    detail: `a switchover needs a virtual endpoint on the primary ${primaryServer} whose read-only endpoint points to ${replicaServer}, and ${found}: create it (${virtualEndpointCreateCommand(servers)}) ${standalone}`,
  };
}

/** The Azure CLI command that creates the virtual endpoint a switchover needs. */
export function virtualEndpointCreateCommand(servers: ServerPair & { primaryResourceGroup: string }): string {
  return `az postgres flexible-server virtual-endpoint create --resource-group ${servers.primaryResourceGroup} --server-name ${servers.primaryServer} --name <name> --endpoint-type ReadWrite --members ${servers.replicaServer}`;
}

/** The scaling that makes a pair of servers meet a promote mode's symmetry. */
export interface ServerSizeChanges {
  replicaCompute?: { skuName: string; tier: string };
  replicaStorageSizeGB?: number;
  primaryStorageSizeGB?: number;
}

/**
 * What to change so that the sizes meet the promote mode's symmetry (an empty object: nothing), or
 * undefined when ARM reported no complete sizes. The replica's compute is set to the primary's
 * (compute scales both ways). Storage only grows ("You can't scale down the storage",
 * https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-scale-compute-storage-portal):
 * a replica with less grows to the primary's, and for a switchover a primary with less grows to
 * the replica's.
 */
export function serverSizeChanges(
  promoteMode: PromoteMode,
  primary: ServerSize,
  replica: ServerSize,
): ServerSizeChanges | undefined {
  const p = comparable(primary);
  const r = comparable(replica);
  if (!p || !r || !primary.skuName || !primary.tier) return undefined;
  const changes: ServerSizeChanges = {};
  const computeOk =
    promoteMode === 'Switchover'
      ? r.tier === p.tier && r.vCores === p.vCores
      : r.tier >= p.tier && r.vCores >= p.vCores;
  if (!computeOk) changes.replicaCompute = { skuName: primary.skuName, tier: primary.tier };
  if (r.storageSizeGB < p.storageSizeGB) changes.replicaStorageSizeGB = p.storageSizeGB;
  if (promoteMode === 'Switchover' && r.storageSizeGB > p.storageSizeGB) {
    changes.primaryStorageSizeGB = r.storageSizeGB;
  }
  return changes;
}

/**
 * How to make a pair identical for a switchover: the replica takes the primary's size, unless its
 * storage is larger (`serverSizeChanges`); then the primary's storage grows to the replica's.
 */
function switchoverScaling(primary: ServerSize, changes: ServerSizeChanges | undefined): string {
  if (changes?.primaryStorageSizeGB === undefined) {
    return `scale the replica to ${primary.skuName} (${primary.tier}) with ${primary.storageSizeGB} GB of storage`;
  }
  return `scale the replica to ${primary.skuName} (${primary.tier}) and grow the primary's storage to ${changes.primaryStorageSizeGB} GB (storage cannot shrink)`;
}

function comparable(size: ServerSize): { tier: number; vCores: number; storageSizeGB: number } | undefined {
  const tier = TIERS.indexOf(size.tier ?? '');
  const vCores = Number(/^Standard_[A-Za-z]+?(\d+)/.exec(size.skuName ?? '')?.[1]);
  if (tier < 0 || !Number.isFinite(vCores) || size.storageSizeGB === undefined) return undefined;
  return { tier, vCores, storageSizeGB: size.storageSizeGB };
}

function describe(size: ServerSize): string {
  return `${size.skuName ?? 'unknown SKU'} (${size.tier ?? 'unknown tier'}) with ${size.storageSizeGB ?? 'unknown'} GB of storage`;
}
