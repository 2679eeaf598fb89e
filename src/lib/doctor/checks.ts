import type { DoctorCheck } from './doctorCheck.js';
import { keyVaultReadinessCheck } from './keyVaultChecks.js';
import { storageNetworkCheck } from './networkChecks.js';
import { sourceSasCheck } from './sourceSasChecks.js';
import { storageAccountsCheck } from './storageChecks.js';

/** Every check of the doctor, in the order `kyvos-dr doctor` shows their areas. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  storageNetworkCheck,
  keyVaultReadinessCheck,
  storageAccountsCheck,
  sourceSasCheck,
];
