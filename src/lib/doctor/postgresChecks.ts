import type pg from 'pg';
import type { DrConfig, PostgresConnection } from '../config/DrConfig.js';
import { connectForHealth } from '../health/postgresProbe.js';
import { serverSizeOf } from '../health/promotePrerequisites.js';
import { PRIMARY_POSITION_SQL, REPLICA_LAG_SQL, readVirtualEndpoints } from '../health/ReplicaHealth.js';
import { readWriteProofGrants } from '../promote/writeProof.js';
import { describeError } from '../redact.js';
import type { DoctorCheck, DoctorContext, DoctorFinding } from './doctorCheck.js';
import {
  type ConnectionGrants,
  grantFindings,
  type PostgresServers,
  type ServerSizeReading,
  type SqlProbeOutcome,
  type SqlRole,
  type SqlTarget,
  serverSymmetryFinding,
  sqlReachabilityFinding,
  virtualEndpointFinding,
} from './postgresFindings.js';

/** Connect and query timeout of the doctor's SQL connections. */
const SQL_TIMEOUT_IN_MS = 10_000;

/**
 * The promote's prerequisites Azure checks (`promotePrerequisites.ts`), read through ARM: the server
 * symmetry of the configured promote mode and, for `Switchover`, the primary's virtual endpoint.
 */
export const promotePrerequisitesCheck: DoctorCheck = {
  area: 'postgres',
  name: 'promote prerequisites',
  timer: 'replica',
  async run({ config, clients, abortSignal }: DoctorContext): Promise<DoctorFinding[]> {
    const arm = clients.postgresManagement(config.subscriptionId);
    const servers = serversOf(config);
    const sizeOf = (resourceGroup: string, server: string): Promise<ServerSizeReading> =>
      arm.servers.get(resourceGroup, server, { abortSignal }).then(
        (found) => ({ size: serverSizeOf(found) }),
        (error: unknown) => ({ error: describeError(error) }),
      );
    const [primary, replica] = await Promise.all([
      sizeOf(servers.primaryResourceGroup, servers.primaryServer),
      sizeOf(servers.drResourceGroup, servers.replicaServer),
    ]);
    const findings = [serverSymmetryFinding(config.promoteMode, servers, primary, replica)];
    if (config.promoteMode === 'Switchover') {
      const endpoints = await readVirtualEndpoints(arm, config, abortSignal).then(
        (list) => ({ endpoints: list }),
        (error: unknown) => ({ error: describeError(error) }),
      );
      findings.push(virtualEndpointFinding(servers, endpoints));
    }
    return findings;
  },
};

/**
 * The app's SQL access to the replica (and the primary, when its connection is configured): each
 * connection opens, runs the query the lag probe runs on it, and reads from the catalog what the
 * connection user may do (`grantFindings`). Nothing is written.
 */
export const postgresSqlAccessCheck: DoctorCheck = {
  area: 'postgres',
  name: 'SQL access and grants of the connection user',
  timer: 'replica',
  async run({ config }: DoctorContext): Promise<DoctorFinding[]> {
    const targets = sqlTargetsOf(config);
    const results = await Promise.all(
      targets.map(async (target): Promise<DoctorFinding[]> => {
        if (!target.connection) return [sqlReachabilityFinding(target, undefined)];
        const probed = await probeConnection(target.role, target.connection);
        const findings = [sqlReachabilityFinding(target, probed.outcome)];
        if (probed.grants) {
          findings.push(
            ...grantFindings(
              { ...target, primaryConnectionConfigured: config.primary.postgresConnection !== undefined },
              probed.grants,
            ),
          );
        }
        return findings;
      }),
    );
    return results.flat();
  },
};

function serversOf(config: DrConfig): PostgresServers {
  return {
    primaryResourceGroup: config.primary.resourceGroup,
    primaryServer: config.primary.postgresServer,
    drResourceGroup: config.dr.resourceGroup,
    replicaServer: config.dr.replicaServer,
  };
}

function sqlTargetsOf(config: DrConfig): SqlTarget[] {
  const primaryServer = config.primary.postgresServer;
  return [
    {
      role: 'replica',
      server: config.dr.replicaServer,
      resourceGroup: config.dr.resourceGroup,
      primaryServer,
      connection: config.dr.replicaConnection,
    },
    {
      role: 'primary',
      server: primaryServer,
      resourceGroup: config.primary.resourceGroup,
      primaryServer,
      connection: config.primary.postgresConnection,
    },
  ];
}

/**
 * The catalog objects the probes use on each server, which PostgreSQL grants to PUBLIC: on the
 * replica the lag probe (`REPLICA_LAG_SQL`, and `pg_stat_wal_receiver` through `walReceiver.ts`), the
 * quiesce's replay check (`steps/quiesce.ts`) and, once promoted, the write proof's recovery check
 * (`promoteReplica.ts`); on the primary its position (`PRIMARY_POSITION_SQL`, the quiesce's insert and
 * flush positions) and the old-primary watch's writability (`OldPrimaryWatch.ts`).
 */
const CATALOG_FUNCTIONS: Record<SqlRole, readonly string[]> = {
  replica: [
    'pg_catalog.pg_is_in_recovery()',
    'pg_catalog.pg_is_wal_replay_paused()',
    'pg_catalog.pg_last_xact_replay_timestamp()',
    'pg_catalog.pg_last_wal_receive_lsn()',
    'pg_catalog.pg_last_wal_replay_lsn()',
    'pg_catalog.pg_wal_lsn_diff(pg_lsn, pg_lsn)',
    'pg_catalog.pg_stat_get_wal_receiver()',
  ],
  primary: [
    'pg_catalog.pg_current_wal_insert_lsn()',
    'pg_catalog.pg_current_wal_flush_lsn()',
    'pg_catalog.pg_is_in_recovery()',
    'pg_catalog.current_setting(text)',
  ],
};
const CATALOG_VIEWS: Record<SqlRole, readonly string[]> = {
  replica: ['pg_catalog.pg_stat_wal_receiver'],
  primary: [],
};

/** `pg_has_role(…, 'USAGE')`: holds the role's privileges, directly or through `pg_monitor`. */
const GRANTS_SQL = `
SELECT current_user AS user_name,
       current_database() AS database_name,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
       ARRAY(SELECT f FROM unnest($1::text[]) AS f WHERE NOT has_function_privilege(f, 'EXECUTE')) AS not_executable,
       ARRAY(SELECT v FROM unnest($2::text[]) AS v WHERE NOT has_table_privilege(v, 'SELECT')) AS not_selectable`;

/**
 * Opens `connection`, runs the role's probe query, then reads the grants. A connection that does not
 * open gives no grants; a probe query that fails still reads them, as they say why.
 */
async function probeConnection(
  role: SqlRole,
  connection: PostgresConnection,
): Promise<{ outcome: SqlProbeOutcome; grants?: ConnectionGrants }> {
  let client: pg.Client;
  try {
    client = await connectForHealth(connection, SQL_TIMEOUT_IN_MS, 'kyvos-dr-doctor');
  } catch (error) {
    return { outcome: { kind: 'failed', error } };
  }
  try {
    const probeError = await client
      .query(role === 'replica' ? REPLICA_LAG_SQL : PRIMARY_POSITION_SQL, role === 'replica' ? [null] : [])
      .then(
        () => undefined,
        (error: unknown) => error ?? new Error('the probe query failed'),
      );
    const row = (
      await client.query<{
        user_name: string;
        database_name: string;
        read_all_stats: boolean;
        not_executable: string[];
        not_selectable: string[];
      }>(GRANTS_SQL, [CATALOG_FUNCTIONS[role], CATALOG_VIEWS[role]])
    ).rows[0];
    if (!row) throw new Error('the grants query returned no row');
    const grants: ConnectionGrants = {
      user: row.user_name,
      database: row.database_name,
      readAllStats: row.read_all_stats,
      notExecutable: row.not_executable,
      notSelectable: row.not_selectable,
      ...(role === 'replica' ? { writeProof: await readWriteProofGrants(client) } : {}),
    };
    return {
      outcome: probeError === undefined ? { kind: 'answered' } : { kind: 'answered', probeError },
      grants,
    };
  } finally {
    await client.end().catch(() => {});
  }
}
