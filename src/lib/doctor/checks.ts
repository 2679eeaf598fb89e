import type { DoctorCheck } from './doctorCheck.js';
import { keyVaultReadinessCheck } from './keyVaultChecks.js';
import { storageNetworkCheck } from './networkChecks.js';
import { effectivePermissionsCheck } from './permissions.js';
import { postgresSqlAccessCheck, promotePrerequisitesCheck } from './postgresChecks.js';
import { sourceSasCheck } from './sourceSasChecks.js';
import { storageAccountsCheck, storageFailoverCheck } from './storageChecks.js';

/** Every check of the doctor, in the order `kyvos-dr doctor` shows their areas. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  effectivePermissionsCheck,
  storageNetworkCheck,
  keyVaultReadinessCheck,
  promotePrerequisitesCheck,
  postgresSqlAccessCheck,
  storageAccountsCheck,
  storageFailoverCheck,
  sourceSasCheck,
];
