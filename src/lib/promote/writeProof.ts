import type pg from 'pg';
import type { PostgresConnection } from '../config/DrConfig.js';
import { connectForHealth } from '../health/postgresProbe.js';

/**
 * The write proof: after a promote, kyvos-dr upserts a row for its run into a table of its own, to
 * prove that the promoted server accepts durable (WAL-logged) writes. A TEMP table would not prove
 * it: it is not WAL-logged.
 *
 * The table lives in a schema that the operator creates once, as the server admin, on the primary
 * (roles, schemas and grants reach the replica by physical replication), because the connection user
 * cannot create one itself: it is not a superuser on Azure, and since PostgreSQL 15 `PUBLIC` has no
 * CREATE on schema `public` ("Remove PUBLIC creation permission on the public schema",
 * https://www.postgresql.org/docs/release/15.0/). On Azure the schema `public` belongs to
 * `azure_pg_admin` (https://learn.microsoft.com/azure/postgresql/security/security-access-control,
 * "Public schema ownership changes"), so only members of that role could create a table there; a
 * dedicated connection user, as Azure recommends ("Don't use the administrator role for the
 * application", same page), cannot. docs/configuration.md has the SQL.
 */
const WRITE_PROOF_SCHEMA = 'kyvos_dr';
export const WRITE_PROOF_TABLE = `${WRITE_PROOF_SCHEMA}.failover_probe`;

/** The privileges on the table that the upsert needs (INSERT … ON CONFLICT DO UPDATE reads and updates). */
const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE'] as const;
type TablePrivilege = (typeof TABLE_PRIVILEGES)[number];

const CREATE_WRITE_PROOF_TABLE = `CREATE TABLE ${WRITE_PROOF_TABLE} (run_id text PRIMARY KEY, written_at timestamptz NOT NULL)`;

const UPSERT_SQL = `INSERT INTO ${WRITE_PROOF_TABLE} (run_id, written_at) VALUES ($1, now()) ON CONFLICT (run_id) DO UPDATE SET written_at = now()`;

/**
 * Every statement an operator runs, as the server admin, connected to the Kyvos database on the
 * primary, so that `user` can do everything kyvos-dr does over SQL (docs/configuration.md):
 * - CONNECT on the database;
 * - `pg_read_all_stats`: without it `pg_stat_wal_receiver` shows the WAL receiver's pid and nothing
 *   else (`pg_stat_get_wal_receiver`, postgres/postgres src/backend/replication/walreceiver.c), so the
 *   lag cannot be measured against what the replica received;
 * - the write proof's schema and table, with USAGE and SELECT, INSERT, UPDATE.
 * Every other function kyvos-dr calls (`pg_is_in_recovery()`, `pg_last_wal_receive_lsn()`,
 * `pg_last_wal_replay_lsn()`, `pg_current_wal_insert_lsn()`, …) is executable by PUBLIC.
 */
export function connectionUserSetupSql(options: {
  user: string;
  database: string;
  password: string;
}): string[] {
  const user = quoteIdentifier(options.user);
  return [
    `CREATE ROLE ${user} LOGIN PASSWORD ${quoteLiteral(options.password)}`,
    `GRANT CONNECT ON DATABASE ${quoteIdentifier(options.database)} TO ${user}`,
    `GRANT pg_read_all_stats TO ${user}`,
    `CREATE SCHEMA ${WRITE_PROOF_SCHEMA}`,
    CREATE_WRITE_PROOF_TABLE,
    `GRANT USAGE ON SCHEMA ${WRITE_PROOF_SCHEMA} TO ${user}`,
    `GRANT ${TABLE_PRIVILEGES.join(', ')} ON ${WRITE_PROOF_TABLE} TO ${user}`,
  ];
}

/** What the catalog says about the write proof's table for the connected user. Readable on a standby. */
export interface WriteProofGrants {
  user: string;
  database: string;
  schemaExists: boolean;
  /** Null when the schema does not exist. */
  schemaUsage: boolean | null;
  tableExists: boolean;
  /** The table privileges the user holds; empty when the table does not exist. */
  tablePrivileges: TablePrivilege[];
}

const GRANTS_SQL = `
SELECT current_user AS user_name,
       current_database() AS database_name,
       n.oid IS NOT NULL AS schema_exists,
       has_schema_privilege(n.oid, 'USAGE') AS schema_usage,
       c.oid IS NOT NULL AS table_exists,
       ${TABLE_PRIVILEGES.map((p) => `has_table_privilege(c.oid, '${p}') AS can_${p.toLowerCase()}`).join(',\n       ')}
FROM (SELECT 1) AS one
LEFT JOIN pg_namespace n ON n.nspname = $1
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $2 AND c.relkind IN ('r', 'p')`;

/** Reads `WriteProofGrants` over an open connection (a primary or a standby). */
export async function readWriteProofGrants(client: pg.Client): Promise<WriteProofGrants> {
  const result = await client.query<Record<string, unknown>>(GRANTS_SQL, [
    WRITE_PROOF_SCHEMA,
    'failover_probe',
  ]);
  const row = result.rows[0];
  if (!row) throw new Error('the write proof grants query returned no row');
  return {
    user: String(row.user_name),
    database: String(row.database_name),
    schemaExists: row.schema_exists === true,
    schemaUsage: row.schema_exists === true ? row.schema_usage === true : null,
    tableExists: row.table_exists === true,
    tablePrivileges: TABLE_PRIVILEGES.filter((p) => row[`can_${p.toLowerCase()}`] === true),
  };
}

/** Opens a connection and reads `WriteProofGrants`. */
async function checkWriteProofGrants(
  connection: PostgresConnection,
  timeoutInMs: number,
): Promise<WriteProofGrants> {
  const client = await connectForHealth(connection, timeoutInMs, 'kyvos-dr-preflight');
  try {
    return await readWriteProofGrants(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Why the write proof would fail for this user, and the statements that fix it (to run as the server
 * admin, connected to `grants.database` on the primary), or undefined when the table exists and the
 * user may upsert into it.
 */
export function writeProofRemedy(
  grants: WriteProofGrants,
): { problem: string; statements: string[] } | undefined {
  const user = quoteIdentifier(grants.user);
  const grantUsage = `GRANT USAGE ON SCHEMA ${WRITE_PROOF_SCHEMA} TO ${user}`;
  const grantTable = (privileges: readonly string[]) =>
    `GRANT ${privileges.join(', ')} ON ${WRITE_PROOF_TABLE} TO ${user}`;
  const where = `in database "${grants.database}"`;
  if (!grants.schemaExists) {
    return {
      problem: `the write proof's schema "${WRITE_PROOF_SCHEMA}" does not exist ${where}`,
      statements: [
        `CREATE SCHEMA ${WRITE_PROOF_SCHEMA}`,
        CREATE_WRITE_PROOF_TABLE,
        grantUsage,
        grantTable(TABLE_PRIVILEGES),
      ],
    };
  }
  if (!grants.tableExists) {
    return {
      problem: `the write proof's table ${WRITE_PROOF_TABLE} does not exist ${where}`,
      statements: [
        CREATE_WRITE_PROOF_TABLE,
        ...(grants.schemaUsage ? [] : [grantUsage]),
        grantTable(TABLE_PRIVILEGES),
      ],
    };
  }
  const missing = TABLE_PRIVILEGES.filter((p) => !grants.tablePrivileges.includes(p));
  if (grants.schemaUsage && missing.length === 0) return undefined;
  const lacks = [
    ...(grants.schemaUsage ? [] : [`USAGE on schema ${WRITE_PROOF_SCHEMA}`]),
    ...missing.map((p) => `${p} on ${WRITE_PROOF_TABLE}`),
  ];
  return {
    problem: `the connection user ${user} lacks ${lacks.join(', ')}, which the write proof needs ${where}`,
    statements: [
      ...(grants.schemaUsage ? [] : [grantUsage]),
      ...(missing.length > 0 ? [grantTable(missing)] : []),
    ],
  };
}

/**
 * Why the write proof would fail for this user, with the SQL that fixes it (to run as the server
 * admin on the primary), or undefined when the table exists and the user may upsert into it.
 */
export function writeProofProblem(grants: WriteProofGrants): string | undefined {
  const remedy = writeProofRemedy(grants);
  if (!remedy) return undefined;
  return `${remedy.problem}; as the server admin, connected to "${grants.database}" on the primary, run: ${remedy.statements.join('; ')}`;
}

/** PostgreSQL errors that a retry cannot cure: the table, its schema or a privilege is missing. */
const MISSING_GRANT_CODES = new Set(['42501', '42P01', '3F000']);

function isMissingGrant(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && MISSING_GRANT_CODES.has(code);
}

/**
 * Upserts the run's row into the write proof's table. A write that fails because the table or a
 * grant is missing throws an error naming the fix (never retried: it cannot succeed later).
 */
export async function writeProofRow(client: pg.Client, runId: string): Promise<void> {
  try {
    await client.query(UPSERT_SQL, [runId]);
  } catch (error) {
    if (!isMissingGrant(error)) throw error;
    const problem = writeProofProblem(await readWriteProofGrants(client));
    throw new MissingWriteProofGrant(
      `The write proof could not write to ${WRITE_PROOF_TABLE} (${(error as Error).message})${problem ? `: ${problem}` : ''}.`,
      { cause: error },
    );
  }
}

/** The write proof's table or a grant on it is missing: retrying does not help, an operator must act. */
export class MissingWriteProofGrant extends Error {
  override readonly name = 'MissingWriteProofGrant';
}

/** `name` as a PostgreSQL identifier in double quotes. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The reason to refuse a run whose write proof would fail after the promote (the promote cannot be
 * undone), or undefined: no connection string (no proof is made), the table is ready, or the
 * replica does not answer SQL now (the replica check reports that; the promote may still work).
 */
export async function writeProofRefusal(
  connection: PostgresConnection | undefined,
  replicaServer: string,
  timeoutInMs = 10_000,
): Promise<string | undefined> {
  if (!connection) return undefined;
  let grants: WriteProofGrants;
  try {
    grants = await checkWriteProofGrants(connection, timeoutInMs);
  } catch {
    return undefined;
  }
  const problem = writeProofProblem(grants);
  return problem
    ? `the promoted server "${replicaServer}" could not prove that it takes writes: ${problem}`
    : undefined;
}
