import type { LocalFlexibleServer, LocalServerSize, RegionRole } from '../types.js';
import { ArmError } from './armErrors.js';
import type { PromoteMode, PromoteOption } from './replicaPromotion.js';
import type { VirtualEndpointStore } from './virtualEndpoints.js';

/** The size of a server whose topology does not give one: the compute and storage of ServersGet.json. */
export const DEFAULT_SERVER_SIZE: LocalServerSize = {
  skuName: 'Standard_D4ds_v5',
  tier: 'GeneralPurpose',
  storageSizeGB: 128,
};

export function sizeOf(server: LocalFlexibleServer): LocalServerSize {
  return server.size ?? DEFAULT_SERVER_SIZE;
}

/**
 * `properties.storage` of a server: a Premium SSD disk's default performance tier and IOPS for its
 * size ("Storage options", https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-storage),
 * in the shape of ServersGet.json (2025-08-01).
 */
export function storageBody(size: LocalServerSize): Record<string, unknown> {
  const tier = PERFORMANCE_TIERS.find((t) => size.storageSizeGB <= t.maxGB) ?? PERFORMANCE_TIERS.at(-1);
  return {
    type: '',
    iops: tier?.iops,
    tier: tier?.name,
    storageSizeGB: size.storageSizeGB,
    autoGrow: 'Disabled',
  };
}

const PERFORMANCE_TIERS = [
  { maxGB: 32, name: 'P4', iops: 120 },
  { maxGB: 64, name: 'P6', iops: 240 },
  { maxGB: 128, name: 'P10', iops: 500 },
  { maxGB: 256, name: 'P15', iops: 1100 },
  { maxGB: 512, name: 'P20', iops: 2300 },
  { maxGB: 1024, name: 'P30', iops: 5000 },
  { maxGB: 2048, name: 'P40', iops: 7500 },
  { maxGB: 4096, name: 'P50', iops: 7500 },
  { maxGB: 8192, name: 'P60', iops: 16000 },
  { maxGB: 16384, name: 'P70', iops: 18000 },
  { maxGB: 32768, name: 'P80', iops: 20000 },
];

export interface PrerequisiteRequest {
  replica: LocalFlexibleServer;
  source: LocalFlexibleServer | undefined;
  mode: PromoteMode;
  option: PromoteOption;
  endpoints: VirtualEndpointStore;
  isRegionDown(region: RegionRole): boolean;
}

/**
 * The refusal of a promotion whose prerequisites do not hold, or undefined. Answered at the PATCH,
 * before any operation starts, like `plannedPromoteRefusal`.
 *
 * From "Promote read replicas" (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote):
 * - a promotion to primary server (Switchover) needs a virtual endpoint with the primary as writer and
 *   the replica as reader (`VirtualEndpointStore.supportsSwitchover`);
 * - "Server Symmetry": for Switchover "both the primary and replica servers must have identical tiers
 *   and storage sizes"; for Standalone the replica's "Tier, storage size ... can be the same or higher
 *   than the primary" ("Read replicas", concepts-read-replicas#configuration-management);
 * - "The Forced promotion option is specifically designed to address regional outages and, in such
 *   cases, it skips all checks - including the server symmetry requirement ... However, using the
 *   Forced option outside of region down scenarios is not allowed if the requirements for read
 *   replicas ..., especially server symmetry requirement, are not met." A Forced promotion whose
 *   primary's region is down is checked for nothing here.
 *
 * Azure does not document the code or message of these refusals: the code is the one the emulator
 * answers for every promotion the service refuses (`ReadReplicaPromotionFailed`, 409), the message
 * the emulator's.
 */
export function promotePrerequisiteRefusal(request: PrerequisiteRequest): ArmError | undefined {
  const { replica, source, mode, option } = request;
  if (!source) return undefined;
  if (option === 'Forced' && request.isRegionDown(source.region)) return undefined;
  const label = `replica "${replica.name}" (${replica.resourceGroup})`;
  if (mode === 'Switchover' && !request.endpoints.supportsSwitchover(source.name, replica.name)) {
    return refused(
      `Cannot switch over to ${label}: promoteMode Switchover needs a virtual endpoint on the primary server ` +
        `"${source.name}" whose read-only endpoint points to "${replica.name}". Create it ` +
        `(az postgres flexible-server virtual-endpoint create --server-name ${source.name} --members ${replica.name} ...) ` +
        'or use promoteMode Standalone.',
    );
  }
  const primarySize = sizeOf(source);
  const replicaSize = sizeOf(replica);
  const mismatch =
    mode === 'Switchover'
      ? differences(replicaSize, primarySize, (r, p) => r === p)
      : differences(replicaSize, primarySize, (r, p) => r >= p);
  if (mismatch.length === 0) return undefined;
  const wanted = mode === 'Switchover' ? 'identical to' : 'at least';
  return refused(
    `Cannot promote ${label} with promoteMode ${mode} and promoteOption ${option}: its ${mismatch.join(' and ')} ` +
      `must be ${wanted} the primary server "${source.name}"'s (${describe(primarySize)}; the replica has ` +
      `${describe(replicaSize)}). Scale the replica${mode === 'Switchover' ? ', or use promoteMode Standalone' : ''}.`,
  );
}

/** The parts of the replica's size that fail `holds(replica, primary)`, compared by rank. */
function differences(
  replica: LocalServerSize,
  primary: LocalServerSize,
  holds: (replica: number, primary: number) => boolean,
): string[] {
  const out: string[] = [];
  if (!holds(TIER_RANK[replica.tier], TIER_RANK[primary.tier])) out.push('compute tier');
  else if (!holds(vCoresOf(replica.skuName), vCoresOf(primary.skuName))) out.push('compute size');
  if (!holds(replica.storageSizeGB, primary.storageSizeGB)) out.push('storage size');
  return out;
}

const TIER_RANK: Record<LocalServerSize['tier'], number> = {
  Burstable: 0,
  GeneralPurpose: 1,
  MemoryOptimized: 2,
};

/** vCores of a SKU name such as `Standard_D4ds_v5` or `Standard_B1ms`: the digits after the series letter. */
function vCoresOf(skuName: string): number {
  const match = /^Standard_[A-Za-z]+?(\d+)/.exec(skuName);
  return match ? Number(match[1]) : 0;
}

function describe(size: LocalServerSize): string {
  return `${size.skuName} (${size.tier}), ${size.storageSizeGB} GB of storage`;
}

function refused(message: string): ArmError {
  return new ArmError(409, 'ReadReplicaPromotionFailed', message);
}
