import type pg from 'pg';
import { type PostgresConnection, Sensitive } from './DrConfig.js';

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * Parses `postgres://user:password@host:port/database?sslmode=require` (or `postgresql://`). User and
 * password are percent-decoded; the port defaults to 5432 and `sslmode` to `require` (Azure Database
 * for PostgreSQL only accepts TLS). A problem never quotes the string: it holds a password.
 */
export function parsePostgresConnectionString(
  raw: string,
): { connection: PostgresConnection } | { problem: string } {
  const expected = 'expected postgres://user:password@host:port/database?sslmode=require';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The URL error carries the input; it is deliberately dropped.
    return { problem: `is not a connection URL (${expected})` };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return { problem: `has scheme "${url.protocol.replace(/:$/, '')}" (${expected})` };
  }
  if (!url.hostname) return { problem: `has no host (${expected})` };
  if (!url.username) return { problem: `has no user (${expected})` };
  if (!url.password) return { problem: `has no password (${expected})` };
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) return { problem: `has no database name (${expected})` };
  const port = url.port ? Number(url.port) : 5432;
  const sslmode = url.searchParams.get('sslmode') ?? 'require';
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    return { problem: `has sslmode "${sslmode}"; use one of ${SSL_MODES.join(', ')}` };
  }
  let user: string;
  let password: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    return { problem: 'has a user or password that is not valid percent-encoding' };
  }
  return {
    connection: {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      user,
      database,
      sslmode: sslmode as PostgresConnection['sslmode'],
      password: new Sensitive(password),
    },
  };
}

/**
 * node-postgres settings for a probe connection. sslmode as libpq means it: `require`/`prefer`
 * encrypt without verifying the certificate; `verify-ca` verifies it against Node's trusted roots
 * but not the host name; `verify-full` verifies both. node-postgres cannot fall back to plain text,
 * so `prefer` behaves as `require`.
 */
export function pgClientConfig(
  connection: PostgresConnection,
  options: { timeoutInMs: number; applicationName: string },
): pg.ClientConfig {
  const ssl: pg.ClientConfig['ssl'] =
    connection.sslmode === 'disable'
      ? false
      : connection.sslmode === 'verify-full'
        ? { rejectUnauthorized: true }
        : connection.sslmode === 'verify-ca'
          ? { rejectUnauthorized: true, checkServerIdentity: () => undefined }
          : { rejectUnauthorized: false };
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password.reveal(),
    database: connection.database,
    ssl,
    connectionTimeoutMillis: options.timeoutInMs,
    query_timeout: options.timeoutInMs,
    application_name: options.applicationName,
  };
}
