import type { DrConfig } from '../config/DrConfig.js';
import { describeError } from '../redact.js';
import {
  describeSasExpiry,
  missingSourceCredential,
  parseSas,
  readSourceSas,
  type SasInfo,
  sasExpiryState,
} from '../source/sourceCredential.js';
import type { DoctorCheck, DoctorContext, DoctorFinding } from './doctorCheck.js';
import { storageFinding as finding } from './storageChecks.js';

/** Permissions of a SAS that only read: read, list, execute (ACLs of a path), filter by tags. */
const READ_ONLY_PERMISSIONS = new Set(['r', 'l', 'e', 'f']);

/** How an operator issues the SAS the copy needs, for the fixes. */
function issueSas(config: Pick<DrConfig, 'primary'>): string {
  return `issue a container SAS with read and list only, HTTPS only and no IP restriction, and store it in the secret: az storage container generate-sas --account-name ${config.primary.storageAccount} --name ${config.primary.container} --permissions rl --expiry <yyyy-mm-ddThh:mmZ> --https-only --auth-mode key --account-key <key> --output tsv`;
}

/**
 * What the parts of a stored source SAS mean for the copy, which lists the container and reads every
 * blob through the `-secondary` endpoint, and whose server-side copies hand the SAS to the DR
 * account's storage service to read the source with ("Create a service SAS", "Create an account
 * SAS": learn.microsoft.com/rest/api/storageservices/create-service-sas, create-account-sas):
 * - permissions (`sp`): read and list are needed; any that writes or deletes is more than the copy
 *   needs (`warn`, least privilege);
 * - expiry (`se`): expired fails, within `sasExpiryWarningDays` warns; one set by a stored access
 *   policy (`si`) cannot be read off the SAS (`unknown`);
 * - `sip`: requests must come from those addresses, both the app's and those of the DR account's
 *   storage service, which Azure does not publish (`warn`);
 * - `spr`: `https` is fine; `https,http` allows plain HTTP (`warn`);
 * - scope: an account SAS (`ss`, `srt`) must cover the Blob service (`b`) and containers and objects
 *   (`c`, `o`); a service SAS (`sr`) the container (`c`), not a blob (`b`); a directory SAS (`d`)
 *   reaches one directory only (`warn`).
 * The SAS itself is never quoted.
 */
export function sourceSasFindings(
  info: SasInfo,
  config: Pick<DrConfig, 'primary' | 'thresholds'>,
  now: Date,
  secretName: string,
): DoctorFinding[] {
  const what = `The source SAS in secret "${secretName}"`;
  const fix = `Replace it: ${issueSas(config)}.`;
  return [
    permissionsFinding(info, what, fix),
    expiryFinding(info, config, now, what, fix),
    info.ipRange
      ? finding(
          'storage.sas.ipRange',
          'warn',
          `${what} admits requests only from ${info.ipRange} (sip): the app's outbound addresses must be inside it, and so must the addresses the DR account's storage service reads copy sources from, which Azure does not publish.`,
          fix,
        )
      : finding('storage.sas.ipRange', 'pass', `${what} has no IP restriction (sip).`),
    protocolFinding(info, what, fix),
    scopeFinding(info, what, fix),
  ];
}

function permissionsFinding(info: SasInfo, what: string, fix: string): DoctorFinding {
  const id = 'storage.sas.permissions';
  if (info.permissions === undefined) {
    return finding(
      id,
      'unknown',
      `${what} takes its permissions from the stored access policy "${info.storedAccessPolicy}".`,
      `Check that the policy grants read and list (az storage container policy show --container-name <container> --name ${info.storedAccessPolicy} --account-name <account>), or ${fix.charAt(0).toLowerCase()}${fix.slice(1)}`,
    );
  }
  const granted = [...info.permissions];
  const missing = ['r', 'l'].filter((p) => !granted.includes(p));
  if (missing.length > 0) {
    return finding(
      id,
      'fail',
      `${what} grants "${info.permissions}" without ${missing.map((p) => (p === 'r' ? 'read (r)' : 'list (l)')).join(' and ')}: the copy lists the container and reads every blob through the secondary.`,
      fix,
    );
  }
  const extra = granted.filter((p) => !READ_ONLY_PERMISSIONS.has(p));
  if (extra.length > 0) {
    return finding(
      id,
      'warn',
      `${what} grants "${info.permissions}": besides read and list, ${extra.join('')}, which write or delete; the copy only reads its source (least privilege).`,
      fix,
    );
  }
  return finding(id, 'pass', `${what} grants "${info.permissions}": read and list, nothing that writes.`);
}

function expiryFinding(
  info: SasInfo,
  config: Pick<DrConfig, 'thresholds'>,
  now: Date,
  what: string,
  fix: string,
): DoctorFinding {
  const id = 'storage.sas.expiry';
  const warningDays = config.thresholds.sasExpiryWarningDays;
  const expiry = `${what} ${describeSasExpiry(info, now)}`;
  switch (sasExpiryState(info, now, warningDays).state) {
    case 'policy':
      return finding(
        id,
        'unknown',
        `${what}: ${describeSasExpiry(info, now)}.`,
        `Check the policy's expiry: az storage container policy show --container-name <container> --name ${info.storedAccessPolicy} --account-name <account>.`,
      );
    case 'expired':
      return finding(id, 'fail', `${expiry}: the copy cannot read its source with it.`, fix);
    case 'expiring':
      return finding(id, 'warn', `${expiry}, within the ${warningDays}-day warning window.`, fix);
    case 'valid':
      return finding(id, 'pass', `${expiry}.`);
  }
}

function protocolFinding(info: SasInfo, what: string, fix: string): DoctorFinding {
  const id = 'storage.sas.protocol';
  const protocol = info.protocol?.toLowerCase().replace(/\s+/g, '');
  if (protocol === undefined || protocol === 'https') {
    return finding(
      id,
      'pass',
      `${what} ${protocol ? 'admits HTTPS only (spr=https)' : 'sets no protocol (spr); the app and the copy use HTTPS'}.`,
    );
  }
  if (protocol === 'https,http') {
    return finding(
      id,
      'warn',
      `${what} admits plain HTTP too (spr=https,http); the copy needs HTTPS only.`,
      fix,
    );
  }
  return finding(id, 'fail', `${what} has a protocol (spr) that is neither https nor https,http.`, fix);
}

function scopeFinding(info: SasInfo, what: string, fix: string): DoctorFinding {
  const id = 'storage.sas.scope';
  if (info.services !== undefined) {
    const missing = [
      ...(info.services.includes('b') ? [] : ['the Blob service (ss b)']),
      ...['c', 'o']
        .filter((t) => !info.resourceTypes?.includes(t))
        .map((t) => (t === 'c' ? 'containers (srt c)' : 'objects (srt o)')),
    ];
    return missing.length > 0
      ? finding(
          id,
          'fail',
          `${what} is an account SAS that does not cover ${missing.join(' or ')}: the copy lists a container and reads its blobs.`,
          fix,
        )
      : finding(id, 'pass', `${what} is an account SAS over the Blob service, its containers and objects.`);
  }
  if (info.resource === 'c') return finding(id, 'pass', `${what} is a container SAS (sr=c).`);
  if (info.resource === 'd') {
    return finding(
      id,
      'warn',
      `${what} is a directory SAS (sr=d): it reaches one directory of the container only, and the copy lists the whole container or its prefix.`,
      fix,
    );
  }
  return finding(
    id,
    'fail',
    info.resource
      ? `${what} is a SAS for a single blob (sr=${info.resource}), which cannot list the container.`
      : `${what} is neither an account SAS (ss) nor a service SAS (sr).`,
    fix,
  );
}

/**
 * The stored source SAS, read as the copy reads it (`readSourceSas`); a credential the copy cannot
 * use at all is one `storage.sas.credential` finding.
 */
async function readSourceSasFindings(context: DoctorContext): Promise<DoctorFinding[]> {
  const { config } = context;
  const id = 'storage.sas.credential';
  if (config.sourceAuth === 'user-delegation') {
    return [
      finding(
        id,
        'pass',
        'The copy reads its source with a user-delegation SAS it signs itself: no SAS is stored to check.',
      ),
    ];
  }
  if (!config.sourceSasSecretName)
    return [finding(id, 'fail', 'No source SAS is configured.', missingSourceCredential(config).message)];
  let sas: Awaited<ReturnType<typeof readSourceSas>>;
  try {
    sas = await readSourceSas(
      config,
      context,
      context.abortSignal ? { abortSignal: context.abortSignal } : {},
    );
  } catch (error) {
    return [
      finding(
        id,
        'fail',
        `The source SAS cannot be read: ${describeError(error)}.`,
        `Store a read/list SAS in the secret "${config.sourceSasSecretName}": ${issueSas(config)}.`,
      ),
    ];
  }
  if (!sas) return [];
  const info = parseSas(sas);
  if ('problem' in info) {
    return [
      finding(
        id,
        'fail',
        `The source SAS in secret "${config.sourceSasSecretName}" ${info.problem}.`,
        `Replace it: ${issueSas(config)}.`,
      ),
    ];
  }
  return sourceSasFindings(info, config, context.clock(), config.sourceSasSecretName);
}

/** The stored source SAS: permissions, expiry, IP and protocol restrictions, scope. */
export const sourceSasCheck: DoctorCheck = {
  area: 'storage',
  name: 'source SAS',
  timer: 'storage',
  run: readSourceSasFindings,
};
