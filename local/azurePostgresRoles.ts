import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectionUserSetupSql } from '../src/lib/promote/writeProof.js';
import type { PgInstance } from './types.js';

/**
 * The roles of an Azure Database for PostgreSQL flexible server, on a local server.
 *
 * Azure creates three roles: `azure_pg_admin`, `azuresu` (the superuser, Microsoft's only) and the
 * server admin, "a member of the azure_pg_admin role", granted "LOGIN, NOSUPERUSER, INHERIT,
 * CREATEDB, CREATEROLE" (https://learn.microsoft.com/azure/postgresql/security/security-manage-database-users;
 * MicrosoftDocs/azure-databases-docs articles/postgresql/security/security-manage-database-users.md).
 * Here the superuser `postgres` plays `azuresu`: the stack's own tooling and tests use it, never
 * kyvos-dr.
 *
 * The schema `public` "is owned by the azure_pg_admin role across all supported PostgreSQL
 * versions" (security-access-control.md, "Public schema ownership changes"); its privileges are
 * PostgreSQL 15's (only USAGE for PUBLIC, https://www.postgresql.org/docs/release/15.0/): Azure
 * does not document a different ACL, so the stricter default stands. Only members of
 * `azure_pg_admin` can create in it.
 *
 * Which predefined roles `azure_pg_admin` holds is not documented. What is documented, by monitoring
 * vendors' Azure setup guides, is that the server admin can grant the monitoring roles to another
 * user (Datadog, docs.datadoghq.com/database_monitoring/setup_postgres/azure/ and
 * DataDog/documentation#39602: `GRANT pg_monitor TO datadog` works on Azure Flexible Server, after
 * Azure's "Improved control for azure_pg_admin"). The conservative reading is emulated: the admin can
 * grant `pg_read_all_stats` and `pg_monitor` (ADMIN OPTION) but does not hold their privileges
 * itself (INHERIT FALSE, SET FALSE), so it does not see `pg_stat_wal_receiver`'s columns.
 */
const AZURE_PG_ADMIN = 'azure_pg_admin';
/** The server admin's name, as `docs/deployment.md` calls it. */
const SERVER_ADMIN = 'kyvosadmin';
/** The connection user kyvos-dr's secrets name, created with the grants of docs/configuration.md. */
const CONNECTION_USER = 'kyvos_dr';

/** A login and its password. */
export interface PgLogin {
  user: string;
  password: string;
}

/**
 * Creates Azure's roles on a new primary (its `template1`'s `public` schema owned by
 * `azure_pg_admin`, so every database created afterwards has it so), then creates `database` as
 * the server admin, as an operator on Azure does. Returns the server admin's login.
 */
export async function prepareAzureServer(primary: PgInstance, database: string): Promise<PgLogin> {
  const admin: PgLogin = { user: SERVER_ADMIN, password: randomBytes(18).toString('base64url') };
  await queryAs(primary, superuserOf(primary), 'postgres', [
    `CREATE ROLE ${AZURE_PG_ADMIN} NOLOGIN`,
    `GRANT pg_read_all_stats, pg_monitor TO ${AZURE_PG_ADMIN} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`,
    `CREATE ROLE ${SERVER_ADMIN} LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE PASSWORD '${admin.password}'`,
    `GRANT ${AZURE_PG_ADMIN} TO ${SERVER_ADMIN}`,
  ]);
  for (const db of ['template1', 'postgres']) {
    await queryAs(primary, superuserOf(primary), db, [`ALTER SCHEMA public OWNER TO ${AZURE_PG_ADMIN}`]);
  }
  await queryAs(primary, admin, 'postgres', [`CREATE DATABASE "${database.replaceAll('"', '""')}"`]);
  return admin;
}

/**
 * Creates kyvos-dr's connection user by running, as the server admin, exactly the statements
 * docs/configuration.md gives the operator (`connectionUserSetupSql`). Returns its login.
 */
export async function createConnectionUser(primary: PgInstance, admin: PgLogin): Promise<PgLogin> {
  const login: PgLogin = { user: CONNECTION_USER, password: randomBytes(18).toString('base64url') };
  await queryAs(
    primary,
    admin,
    primary.database,
    connectionUserSetupSql({ user: login.user, database: primary.database, password: login.password }),
  );
  return login;
}

/** `postgres://user:password@host:port/database?sslmode=disable` for `login` on `instance`. */
export function connectionStringAs(
  instance: PgInstance,
  login: PgLogin,
  database = instance.database,
): string {
  const credentials = `${encodeURIComponent(login.user)}:${encodeURIComponent(login.password)}`;
  return `postgres://${credentials}@${instance.host}:${instance.port}/${encodeURIComponent(database)}?sslmode=disable`;
}

/** Runs `statements` in order, in one session of `login` on `database`. */
export async function queryAs(
  instance: PgInstance,
  login: PgLogin,
  database: string,
  statements: string[],
): Promise<void> {
  const client = new pg.Client({ connectionString: connectionStringAs(instance, login, database) });
  client.on('error', () => {});
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end().catch(() => {});
  }
}

function superuserOf(instance: PgInstance): PgLogin {
  return { user: instance.user, password: instance.password };
}
