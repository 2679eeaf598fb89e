import type { ClientFactory } from '../clients/ClientFactory.js';
import type { AppSettings } from '../config/ConfigSource.js';
import type { DrConfig } from '../config/DrConfig.js';
import type { Logger } from '../log.js';

/**
 * The readiness doctor: checks on the real subscription what a failover will need, before the day it
 * is needed. Each check reads (never changes) Azure and the servers, and each problem it finds names
 * its fix. `kyvos-dr doctor` runs them all; the health timers run them too (each check says which
 * timer), and `GET /api/health` reports them under `readiness`.
 */

/** What a check looks at. */
export type DoctorArea = 'permissions' | 'network' | 'keyVault' | 'postgres' | 'storage';
export const DOCTOR_AREAS: readonly DoctorArea[] = [
  'permissions',
  'network',
  'keyVault',
  'postgres',
  'storage',
];

/**
 * - `pass`: the prerequisite holds.
 * - `fail`: a failover would fail (or be refused) because of it.
 * - `warn`: a failover would work, but something will stop it soon or weakens it (a SAS expiring).
 * - `unknown`: it could not be checked (the answer names why, and how to let the doctor check it).
 */
export type DoctorOutcome = 'pass' | 'fail' | 'warn' | 'unknown';

export interface DoctorFinding {
  area: DoctorArea;
  /**
   * Stable id of what was checked, dotted, e.g. `keyVault.notSoftDeleted.kyvos-dr-active-storage-account`
   * or `permissions.replica.promote`: alerts and tests key on it.
   */
  id: string;
  outcome: DoctorOutcome;
  /** What was observed, in a sentence; never a secret value or a SAS. */
  detail: string;
  /** What to do, in a sentence an operator can act on. Set for every outcome but `pass`. */
  fix?: string;
}

/** What a check may use: the configuration and read access to Azure, as the app itself has it. */
export interface DoctorContext {
  config: DrConfig;
  clients: ClientFactory;
  settings: AppSettings;
  clock: () => Date;
  logger: Logger;
  abortSignal?: AbortSignal;
  /**
   * Reads shared by the checks of one doctor run, by what was read (`storageAccounts.ts`): several
   * checks look at the same storage account, and ARM is asked once. `runDoctor` gives each run its own.
   */
  reads?: Map<string, Promise<unknown>>;
}

export interface DoctorCheck {
  area: DoctorArea;
  /** Short name, shown by `kyvos-dr doctor` ("effective permissions", "soft-deleted secret names"). */
  name: string;
  /** The health timer that runs this check too: `storage` (healthStorage) or `replica` (healthReplica). */
  timer: 'storage' | 'replica';
  /** Reads what it needs and returns one finding per thing checked. Throwing makes one `unknown` finding. */
  run(context: DoctorContext): Promise<DoctorFinding[]>;
}
