import pg from 'pg';
import type { PostgresConnection } from '../config/DrConfig.js';
import { pgClientConfig } from '../config/postgresConnectionString.js';

/** Opens a SQL connection for a health probe, with `timeoutInMs` for the connect and each query. */
export async function connectForHealth(
  connection: PostgresConnection,
  timeoutInMs: number,
  applicationName = 'kyvos-dr-health',
): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(connection, { timeoutInMs, applicationName }));
  // A connection dropped later (server restart) emits 'error'; without a listener it would crash the host.
  client.on('error', () => {});
  await client.connect();
  return client;
}
