import { z } from 'zod';
import {
  type AlertFailoverPolicy,
  type CopyAccessControl,
  DR_STORAGE_SKUS,
  type DrStorageSku,
  type PostgresConnection,
  type PromoteMode,
  SOURCE_AUTHS,
  type SourceAuth,
  type StorageStrategy,
} from './DrConfig.js';
import { parsePostgresConnectionString } from './postgresConnectionString.js';

/**
 * What one configuration value is checked against. A rule turns the raw text of a secret into a typed
 * value, or into a problem phrased for an operator. A problem never quotes the value: the value may be
 * a password or a SAS.
 */
export type Rule<T> = (raw: string) => { ok: true; value: T } | { ok: false; problem: string };

/** A rule from a zod schema; only the issue's own message is kept (zod issues can carry the input). */
function fromSchema<T>(schema: z.ZodType<T, string>): Rule<T> {
  return (raw) => {
    const result = schema.safeParse(raw);
    if (result.success) return { ok: true, value: result.data };
    return { ok: false, problem: result.error.issues[0]?.message ?? 'is not valid' };
  };
}

/** Storage account names: 3–24 lowercase letters and digits, globally unique. */
export const storageAccountName: Rule<string> = fromSchema(
  z.string().regex(/^[a-z0-9]{3,24}$/, 'a storage account name is 3–24 lowercase letters and digits'),
);

/**
 * Blob container names: 3–63 characters of lowercase letters, digits and hyphens, starting and ending
 * with a letter or digit, with no two hyphens in a row.
 */
export const containerName: Rule<string> = fromSchema(
  z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
      'a container name is 3–63 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
    )
    .refine((v) => !v.includes('--'), 'a container name cannot contain two hyphens in a row'),
);

/** Resource group names: 1–90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in a period. */
export const resourceGroupName: Rule<string> = fromSchema(
  z
    .string()
    .regex(
      /^[-\p{L}\p{N}_.()]{1,90}$/u,
      'a resource group name is 1–90 letters, digits, hyphens, underscores, periods and parentheses',
    )
    .refine((v) => !v.endsWith('.'), 'a resource group name cannot end with a period'),
);

/** Flexible server names: 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen. */
export const flexibleServerName: Rule<string> = fromSchema(
  z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
      'a PostgreSQL flexible server name is 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen',
    ),
);

/** Region programmatic names (`eastus2`), not display names (`East US 2`). */
export const regionName: Rule<string> = fromSchema(
  z
    .string()
    .regex(
      /^[a-z][a-z0-9]{1,39}$/,
      'a region is its programmatic name in lowercase letters and digits, e.g. "eastus2" (not "East US 2")',
    ),
);

export const subscriptionId: Rule<string> = fromSchema(
  z
    .string()
    .regex(
      /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
      'a subscription id is a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
    )
    .transform((v) => v.toLowerCase()),
);

/** Key Vault secret names: 1–127 letters, digits and hyphens. */
export const keyVaultSecretName: Rule<string> = fromSchema(
  z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'a Key Vault secret name is 1–127 letters, digits and hyphens'),
);

/**
 * The engine work directory: a path prefix inside the container, without leading or trailing slashes.
 * `/` stands for the whole container (Key Vault does not store empty secrets) and becomes ''.
 */
export const pathPrefix: Rule<string> = fromSchema(
  z
    .string()
    .max(1024, 'a path prefix is at most 1024 characters')
    .refine((v) => !v.includes('\\'), 'a path prefix uses "/" as separator, not "\\"')
    .refine(
      (v) => !v.split('/').some((segment) => segment === '..' || segment === '.'),
      'a path prefix cannot contain "." or ".." segments',
    )
    .refine(
      (v) => !Array.from(v).some((c) => (c.codePointAt(0) ?? 0) < 0x20),
      'a path prefix cannot contain control characters',
    )
    .transform((v) => v.replace(/^\/+|\/+$/g, '')),
);

function positiveNumber(unit: string, integer = false): Rule<number> {
  return fromSchema(
    z
      .string()
      .regex(
        integer ? /^\d+$/ : /^\d+(\.\d+)?$/,
        `must be a positive ${integer ? 'whole ' : ''}number of ${unit}`,
      )
      .transform(Number)
      .refine((n) => n > 0 && Number.isFinite(n), `must be greater than 0 ${unit}`),
  );
}

export const seconds = positiveNumber('seconds');
export const bytes = positiveNumber('bytes', true);
export const days = positiveNumber('days');

export const copyAccessControl: Rule<CopyAccessControl> = fromSchema(
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['auto', 'on', 'off'], 'must be one of auto, on, off')),
);

export const alertFailoverPolicy: Rule<AlertFailoverPolicy> = fromSchema(
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['off', 'planned', 'forced'], 'must be one of off, planned, forced')),
);

/**
 * A full ARM resource id: `/subscriptions/<guid>`, optionally `/resourceGroups/<name>`, optionally
 * `/providers/<namespace>/<type>/<name>` with child `/<type>/<name>` pairs. The subscription alone
 * is the target of a Service Health alert.
 */
const ARM_RESOURCE_ID =
  /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\/resourceGroups\/[^/\s]+)?(\/providers\/[^/\s]+(\/[^/\s]+\/[^/\s]+)+)?$/i;

/**
 * A list of full ARM resource ids separated by commas or newlines; blanks between separators are
 * dropped. A problem names the entry's position, never its text.
 */
export const resourceIdList: Rule<string[]> = (raw) => {
  const ids = raw
    .split(/[,\r\n]+/)
    .map((id) => id.trim().replace(/\/+$/, ''))
    .filter((id) => id.length > 0);
  const bad = ids.findIndex((id) => !ARM_RESOURCE_ID.test(id));
  if (bad >= 0) {
    return {
      ok: false,
      problem: `entry ${bad + 1} is not a full ARM resource id (/subscriptions/<guid>/resourceGroups/<group>/providers/<namespace>/<type>/<name>)`,
    };
  }
  return { ok: true, value: ids };
};

export const promoteMode: Rule<PromoteMode> = fromSchema(
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['standalone', 'switchover'], 'must be Standalone or Switchover'))
    .transform((v): PromoteMode => (v === 'standalone' ? 'Standalone' : 'Switchover')),
);

/** How the failover brings the data over, in any case: `copy`, or `accountFailover` (also `account-failover`). */
export const storageStrategy: Rule<StorageStrategy> = fromSchema(
  z
    .string()
    .transform((v) => v.toLowerCase().replaceAll('-', ''))
    .pipe(z.enum(['copy', 'accountfailover'], 'must be copy or accountFailover'))
    .transform((v): StorageStrategy => (v === 'copy' ? 'copy' : 'accountFailover')),
);

/** How the copy reads its source, in any case: `stored-sas` or `user-delegation`. */
export const sourceAuth: Rule<SourceAuth> = fromSchema(
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(SOURCE_AUTHS as [SourceAuth, ...SourceAuth[]], `must be ${SOURCE_AUTHS.join(' or ')}`)),
);

/** A DR storage account SKU, in any case: `standard_zrs` is `Standard_ZRS`. */
export const drStorageSku: Rule<DrStorageSku> = fromSchema(
  z
    .string()
    .transform((v) => DR_STORAGE_SKUS.find((sku) => sku.toLowerCase() === v.trim().toLowerCase()))
    .refine((v) => v !== undefined, `must be one of ${DR_STORAGE_SKUS.join(', ')}`)
    .transform((v) => v as DrStorageSku),
);

export const boolean: Rule<boolean> = fromSchema(
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['true', 'false'], 'must be true or false'))
    .transform((v) => v === 'true'),
);

export const postgresConnectionString: Rule<PostgresConnection> = (raw) => {
  const parsed = parsePostgresConnectionString(raw);
  return 'problem' in parsed
    ? { ok: false, problem: parsed.problem }
    : { ok: true, value: parsed.connection };
};
