import type { StorageNetworkRuleSet } from '../networkRules.js';
import type { FaultState, RegionRole } from '../types.js';
import { ArmError, invalidRequestContent } from './armErrors.js';
import type { JsonResult } from './http.js';

/** The fault state as the admin API shows it. */
export interface FaultsView {
  regionsDown: RegionRole[];
  secondaryUnavailable: boolean;
  storageReplicationPausedAt: string | null;
  storageReplicationDelayMs: number;
  storageLatencyMs: number;
  armThrottle: FaultState['armThrottle'];
  lroFailures: FaultState['lroFailures'];
  keyVaultUnavailable: boolean;
  storageNetworkRules: Record<string, StorageNetworkRuleSet>;
}

/**
 * A change to the faults, as `POST /_emulator/faults` takes it. Every field is optional; absent
 * fields keep their value.
 *
 * ```json
 * {"regionDown":"primary","secondaryUnavailable":true,"pauseStorageReplication":true,"storageReplicationDelayMs":5000,"storageLatencyMs":20,
 *  "armThrottle":{"count":3,"status":429,"retryAfterSeconds":2},
 *  "lroFailures":{"count":1,"code":"InternalServerError","message":"…"},"keyVaultUnavailable":true}
 * ```
 */
export interface FaultsChange {
  /** Puts a region (or several) in outage. */
  regionDown?: RegionRole | RegionRole[];
  /** Ends the outage of a region (or several). */
  regionUp?: RegionRole | RegionRole[];
  secondaryUnavailable?: boolean;
  /** `true` stops storage replication now (kept if already paused); `false` resumes it, and the secondary catches up. */
  pauseStorageReplication?: boolean;
  /** Milliseconds the RA-GRS secondary lags its primary (0 to 3,600,000; 0: none). */
  storageReplicationDelayMs?: number;
  /** Milliseconds every blob request waits in the storage front (0 to 60,000; 0: none). */
  storageLatencyMs?: number;
  /** `null` clears it. `status` defaults to 429, `retryAfterSeconds` to 1. */
  armThrottle?: { count: number; status?: 429 | 503; retryAfterSeconds?: number } | null;
  /** `null` clears it. `code` defaults to `InternalServerError`. */
  lroFailures?: { count: number; code?: string; message?: string } | null;
  /** `true`: the vault closes every connection without answering; `false` ends it. */
  keyVaultUnavailable?: boolean;
  /**
   * Network rules (`networkAcls`) by storage account name: the whole rule set replaces the account's;
   * `null` opens the account to all networks again. Absent fields take Azure's defaults
   * (`defaultAction` Allow, `bypass` AzureServices, empty rule lists).
   */
  storageNetworkRules?: Record<string, Partial<StorageNetworkRuleSet> | null>;
}

export interface FaultsAdminDeps {
  faults: FaultState;
  onFaultsChanged?(faults: FaultState): void | Promise<void>;
}

/**
 * `GET/POST/DELETE /_emulator/faults` on the ARM port: out-of-process control of the faults for
 * `npm run local` users and the drill. The shared `FaultState` object is changed in place, so the
 * storage front and the rest of the stack see the change at once; `onFaultsChanged` lets the stack
 * react (stop PostgreSQL for a region outage) before the call answers.
 */
export async function handleFaultsAdmin(
  deps: FaultsAdminDeps,
  method: string,
  body: unknown,
): Promise<JsonResult> {
  if (method === 'GET') return { status: 200, body: viewFaults(deps.faults) };
  if (method === 'DELETE') {
    clearFaults(deps.faults);
  } else if (method === 'POST') {
    applyFaultsChange(deps.faults, readChange(body));
  } else {
    throw new ArmError(
      405,
      'MethodNotAllowed',
      `/_emulator/faults takes GET, POST and DELETE, not ${method}.`,
      {
        Allow: 'GET, POST, DELETE',
      },
    );
  }
  await deps.onFaultsChanged?.(deps.faults);
  return { status: 200, body: viewFaults(deps.faults) };
}

export function viewFaults(faults: FaultState): FaultsView {
  return {
    regionsDown: [...faults.regionsDown].sort(),
    secondaryUnavailable: faults.secondaryUnavailable,
    storageReplicationPausedAt: faults.storageReplicationPausedAt?.toISOString() ?? null,
    storageReplicationDelayMs: faults.storageReplicationDelayMs,
    storageLatencyMs: faults.storageLatencyMs,
    armThrottle: faults.armThrottle,
    lroFailures: faults.lroFailures,
    keyVaultUnavailable: faults.keyVaultUnavailable,
    storageNetworkRules: faults.storageNetworkRules,
  };
}

/** Clears every fault, in place. */
function clearFaults(faults: FaultState): void {
  faults.regionsDown.clear();
  faults.secondaryUnavailable = false;
  faults.storageReplicationPausedAt = null;
  faults.storageReplicationDelayMs = 0;
  faults.storageLatencyMs = 0;
  faults.armThrottle = null;
  faults.lroFailures = null;
  faults.keyVaultUnavailable = false;
  faults.storageNetworkRules = {};
}

/** Applies a validated change, in place. */
export function applyFaultsChange(faults: FaultState, change: FaultsChange, now = new Date()): void {
  for (const region of asList(change.regionDown)) faults.regionsDown.add(region);
  for (const region of asList(change.regionUp)) faults.regionsDown.delete(region);
  if (change.secondaryUnavailable !== undefined) faults.secondaryUnavailable = change.secondaryUnavailable;
  if (change.pauseStorageReplication === true) faults.storageReplicationPausedAt ??= now;
  if (change.pauseStorageReplication === false) faults.storageReplicationPausedAt = null;
  if (change.storageReplicationDelayMs !== undefined) {
    faults.storageReplicationDelayMs = change.storageReplicationDelayMs;
  }
  if (change.storageLatencyMs !== undefined) faults.storageLatencyMs = change.storageLatencyMs;
  if (change.keyVaultUnavailable !== undefined) faults.keyVaultUnavailable = change.keyVaultUnavailable;
  for (const [account, rules] of Object.entries(change.storageNetworkRules ?? {})) {
    const key = account.toLowerCase();
    if (rules === null) delete faults.storageNetworkRules[key];
    else {
      faults.storageNetworkRules[key] = {
        defaultAction: rules.defaultAction ?? 'Allow',
        bypass: rules.bypass ?? 'AzureServices',
        ipRules: rules.ipRules ?? [],
        virtualNetworkRules: rules.virtualNetworkRules ?? [],
        resourceAccessRules: rules.resourceAccessRules ?? [],
      };
    }
  }
  if (change.armThrottle === null) faults.armThrottle = null;
  else if (change.armThrottle) {
    faults.armThrottle = {
      count: change.armThrottle.count,
      status: change.armThrottle.status ?? 429,
      retryAfterSeconds: change.armThrottle.retryAfterSeconds ?? 1,
    };
  }
  if (change.lroFailures === null) faults.lroFailures = null;
  else if (change.lroFailures) {
    faults.lroFailures = {
      count: change.lroFailures.count,
      code: change.lroFailures.code ?? 'InternalServerError',
      message: change.lroFailures.message ?? 'The operation failed (injected fault).',
    };
  }
}

function asList(value: RegionRole | RegionRole[] | undefined): RegionRole[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Validates a change body; a bad field answers 400 naming it. */
function readChange(body: unknown): FaultsChange {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequestContent('the faults change must be a JSON object.');
  }
  const raw = body as Record<string, unknown>;
  const known = [
    'regionDown',
    'regionUp',
    'secondaryUnavailable',
    'pauseStorageReplication',
    'storageReplicationDelayMs',
    'storageLatencyMs',
    'armThrottle',
    'lroFailures',
    'keyVaultUnavailable',
    'storageNetworkRules',
  ];
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw invalidRequestContent(
      `unknown field(s) ${unknown.join(', ')}; known fields are ${known.join(', ')}.`,
    );
  }
  for (const field of ['regionDown', 'regionUp'] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((r) => r === 'primary' || r === 'dr')) {
      throw invalidRequestContent(`${field} must be "primary", "dr" or a list of them.`);
    }
  }
  for (const field of ['secondaryUnavailable', 'pauseStorageReplication', 'keyVaultUnavailable'] as const) {
    if (raw[field] !== undefined && typeof raw[field] !== 'boolean') {
      throw invalidRequestContent(`${field} must be true or false.`);
    }
  }
  if (
    raw.storageLatencyMs !== undefined &&
    !(isCount(raw.storageLatencyMs) && raw.storageLatencyMs <= MAX_STORAGE_LATENCY_MS)
  ) {
    throw invalidRequestContent(
      `storageLatencyMs must be a whole number of milliseconds from 0 to ${MAX_STORAGE_LATENCY_MS}.`,
    );
  }
  if (
    raw.storageReplicationDelayMs !== undefined &&
    !(isCount(raw.storageReplicationDelayMs) && raw.storageReplicationDelayMs <= MAX_REPLICATION_DELAY_MS)
  ) {
    throw invalidRequestContent(
      `storageReplicationDelayMs must be a whole number of milliseconds from 0 to ${MAX_REPLICATION_DELAY_MS}.`,
    );
  }
  readNetworkRules(raw.storageNetworkRules);
  const throttle = raw.armThrottle as Record<string, unknown> | null | undefined;
  if (throttle !== undefined && throttle !== null) {
    if (!isCount(throttle.count))
      throw invalidRequestContent('armThrottle.count must be a non-negative integer.');
    if (throttle.status !== undefined && throttle.status !== 429 && throttle.status !== 503) {
      throw invalidRequestContent('armThrottle.status must be 429 or 503.');
    }
    if (throttle.retryAfterSeconds !== undefined && !isCount(throttle.retryAfterSeconds)) {
      throw invalidRequestContent('armThrottle.retryAfterSeconds must be a non-negative integer.');
    }
  }
  const failures = raw.lroFailures as Record<string, unknown> | null | undefined;
  if (failures !== undefined && failures !== null) {
    if (!isCount(failures.count))
      throw invalidRequestContent('lroFailures.count must be a non-negative integer.');
    for (const field of ['code', 'message']) {
      if (failures[field] !== undefined && typeof failures[field] !== 'string') {
        throw invalidRequestContent(`lroFailures.${field} must be a string.`);
      }
    }
  }
  return raw as FaultsChange;
}

const MAX_STORAGE_LATENCY_MS = 60_000;
const MAX_REPLICATION_DELAY_MS = 3_600_000;

/** Validates `storageNetworkRules`: the fields of NetworkRuleSet that the storage front evaluates. */
function readNetworkRules(value: unknown): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidRequestContent('storageNetworkRules must be an object of rule sets by account name.');
  }
  for (const [account, rules] of Object.entries(value as Record<string, unknown>)) {
    if (rules === null) continue;
    const what = `storageNetworkRules.${account}`;
    if (typeof rules !== 'object' || Array.isArray(rules)) {
      throw invalidRequestContent(`${what} must be a NetworkRuleSet object or null.`);
    }
    const set = rules as Record<string, unknown>;
    if (set.defaultAction !== undefined && set.defaultAction !== 'Allow' && set.defaultAction !== 'Deny') {
      throw invalidRequestContent(`${what}.defaultAction must be "Allow" or "Deny".`);
    }
    if (set.bypass !== undefined && typeof set.bypass !== 'string') {
      throw invalidRequestContent(`${what}.bypass must be a string such as "AzureServices" or "None".`);
    }
    const lists: Array<[string, string]> = [
      ['ipRules', 'value'],
      ['virtualNetworkRules', 'id'],
      ['resourceAccessRules', 'resourceId'],
    ];
    for (const [list, key] of lists) {
      const items = set[list];
      if (items === undefined) continue;
      if (
        !Array.isArray(items) ||
        !items.every((item) => item && typeof (item as Record<string, unknown>)[key] === 'string')
      ) {
        throw invalidRequestContent(`${what}.${list} must be a list of objects with a string "${key}".`);
      }
    }
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
