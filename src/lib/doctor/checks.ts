import type { DoctorCheck } from './doctorCheck.js';
import { postgresSqlAccessCheck, promotePrerequisitesCheck } from './postgresChecks.js';

/** Every check of the doctor, in the order `kyvos-dr doctor` shows their areas. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [promotePrerequisitesCheck, postgresSqlAccessCheck];
