import type { PostgresConnection, PromoteMode } from '../config/DrConfig.js';
import { appSettingName, CONFIG_SECRETS } from '../config/secretNames.js';
import {
  type PrimarySizeReading,
  type ServerSizeChanges,
  serverSizeChanges,
  serverSymmetryCondition,
  type VirtualEndpointsReading,
  virtualEndpointCondition,
  virtualEndpointCreateCommand,
} from '../health/promotePrerequisites.js';
import { quoteIdentifier, type WriteProofGrants, writeProofRemedy } from '../promote/writeProof.js';
import { describeError } from '../redact.js';
import type { DoctorFinding } from './doctorCheck.js';

/**
 * The decisions of the doctor's PostgreSQL checks (`postgresChecks.ts` reads what they decide on):
 * the promote's prerequisites, whether the app reaches each server over SQL, and whether the
 * connection user holds what the lag probe, the quiesce and the write proof run.
 *
 * The connection user is never a superuser on Azure: the server admin is a member of
 * `azure_pg_admin` without SUPERUSER ("Azure Database for PostgreSQL is a managed PaaS service and
 * only Microsoft users have the azuresu (super user) role",
 * https://learn.microsoft.com/azure/postgresql/security/security-manage-database-users), so every
 * grant a fix names is one the server admin runs, on the primary: roles and grants reach the replica
 * by physical replication, and a replica takes no writes.
 */

/** The pair of servers and where they are. */
export interface PostgresServers {
  primaryResourceGroup: string;
  primaryServer: string;
  drResourceGroup: string;
  replicaServer: string;
}

/** A size read through ARM, or the error of the read. */
export type ServerSizeReading = PrimarySizeReading;

/**
 * The server symmetry the promote mode needs (`serverSymmetryCondition`): `pass`, `fail` with the
 * `az postgres flexible-server update` commands that scale the servers to it, or `unknown` when ARM
 * did not give both sizes.
 */
export function serverSymmetryFinding(
  promoteMode: PromoteMode,
  servers: PostgresServers,
  primary: ServerSizeReading,
  replica: ServerSizeReading,
): DoctorFinding {
  const id = 'postgres.serverSymmetry';
  if ('error' in replica)
    return sizeUnread(promoteMode, servers.replicaServer, servers.drResourceGroup, replica);
  if ('error' in primary) {
    return sizeUnread(promoteMode, servers.primaryServer, servers.primaryResourceGroup, primary);
  }
  const condition = serverSymmetryCondition(promoteMode, servers, primary, replica.size);
  if (condition.ok) return { area: 'postgres', id, outcome: 'pass', detail: condition.detail };
  const changes = serverSizeChanges(promoteMode, primary.size, replica.size);
  if (!changes) {
    return {
      area: 'postgres',
      id,
      outcome: 'unknown',
      detail: `${condition.detail}.`,
      fix: `Compare the compute and storage of ${servers.primaryServer} and ${servers.replicaServer} on their "Compute + storage" pages in the portal: ARM reported no complete size.`,
    };
  }
  const standaloneWouldDo =
    promoteMode === 'Switchover' &&
    Object.keys(serverSizeChanges('Standalone', primary.size, replica.size) ?? {}).length === 0;
  return {
    area: 'postgres',
    id,
    outcome: 'fail',
    detail: `${condition.detail}.`,
    fix: `Scale the servers (storage only grows): ${scaleCommands(servers, changes).join('; ')} (or the same on each server's "Compute + storage" page in the portal)${standaloneWouldDo ? `; or set ${CONFIG_SECRETS.promoteMode} to Standalone, whose promote needs the replica only at least the primary's size` : ''}.`,
  };
}

function sizeUnread(
  promoteMode: PromoteMode,
  server: string,
  resourceGroup: string,
  reading: { error: string },
): DoctorFinding {
  return {
    area: 'postgres',
    id: 'postgres.serverSymmetry',
    outcome: 'unknown',
    detail: `The size of ${server} could not be read through ARM (${reading.error}), so the server symmetry of a ${promoteMode} promote is unverified.`,
    fix: `Let the app's identity read ${server} in resource group ${resourceGroup} (the Reader role of infra/, docs/rbac.md), then run kyvos-dr doctor again.`,
  };
}

/** The `az postgres flexible-server update` commands that make `changes`. */
function scaleCommands(servers: PostgresServers, changes: ServerSizeChanges): string[] {
  const update = (resourceGroup: string, server: string, options: string[]) =>
    `az postgres flexible-server update --resource-group ${resourceGroup} --name ${server} ${options.join(' ')}`;
  const replicaOptions = [
    ...(changes.replicaCompute
      ? [`--tier ${changes.replicaCompute.tier} --sku-name ${changes.replicaCompute.skuName}`]
      : []),
    ...(changes.replicaStorageSizeGB !== undefined ? [`--storage-size ${changes.replicaStorageSizeGB}`] : []),
  ];
  return [
    ...(replicaOptions.length > 0
      ? [update(servers.drResourceGroup, servers.replicaServer, replicaOptions)]
      : []),
    ...(changes.primaryStorageSizeGB !== undefined
      ? [
          update(servers.primaryResourceGroup, servers.primaryServer, [
            `--storage-size ${changes.primaryStorageSizeGB}`,
          ]),
        ]
      : []),
  ];
}

/** The virtual endpoint a `Switchover` needs (`virtualEndpointCondition`), with the command that creates it. */
export function virtualEndpointFinding(
  servers: PostgresServers,
  reading: VirtualEndpointsReading,
): DoctorFinding {
  const id = 'postgres.virtualEndpoint';
  const condition = virtualEndpointCondition(servers, reading);
  if (condition.ok) return { area: 'postgres', id, outcome: 'pass', detail: condition.detail };
  if ('error' in reading) {
    return {
      area: 'postgres',
      id,
      outcome: 'unknown',
      detail: `${condition.detail}.`,
      fix: `Let the app's identity read ${servers.primaryServer} in resource group ${servers.primaryResourceGroup} (the Reader role of infra/, docs/rbac.md), then run kyvos-dr doctor again.`,
    };
  }
  return {
    area: 'postgres',
    id,
    outcome: 'fail',
    detail: `${condition.detail}.`,
    fix: `Create the virtual endpoint: ${virtualEndpointCreateCommand(servers)} (or in the portal: ${servers.primaryServer}, Replication, Create endpoint); or set ${CONFIG_SECRETS.promoteMode} to Standalone.`,
  };
}

export type SqlRole = 'replica' | 'primary';

/** A server the app connects to over SQL, and the secret that configures the connection. */
export interface SqlTarget {
  role: SqlRole;
  server: string;
  resourceGroup: string;
  /** The primary, where the server admin runs every grant. */
  primaryServer: string;
  connection: PostgresConnection | undefined;
}

/**
 * What the doctor saw over one connection: it did not open (`error`), or it opened and the probe's
 * own query answered or failed (`probeError`), which the grants explain.
 */
export type SqlProbeOutcome = { kind: 'failed'; error: unknown } | { kind: 'answered'; probeError?: unknown };

const SECRET_OF: Record<SqlRole, string> = {
  replica: CONFIG_SECRETS.replicaConnectionString,
  primary: CONFIG_SECRETS.primaryConnectionString,
};

/**
 * Whether the app reaches `target` over SQL. A missing replica connection fails (the runbook then
 * measures no lag and proves no write); a missing primary connection passes (it is optional).
 */
export function sqlReachabilityFinding(
  target: SqlTarget,
  outcome: SqlProbeOutcome | undefined,
): DoctorFinding {
  const id = `postgres.sql.${target.role}`;
  const secret = SECRET_OF[target.role];
  const { connection, server } = target;
  if (!connection || !outcome) {
    return target.role === 'primary'
      ? {
          area: 'postgres',
          id,
          outcome: 'pass',
          detail: `${secret} is not set (optional): the lag is measured against what the replica received, which needs pg_read_all_stats.`,
        }
      : {
          area: 'postgres',
          id,
          outcome: 'fail',
          detail: `${secret} is not set: health cannot measure the replica's lag (so it never turns Healthy and planned failovers are refused), a planned failover cannot confirm the quiesce, and the promote cannot prove that ${server} takes writes.`,
          fix: `Set the Key Vault secret ${secret} (app setting ${appSettingName(secret)} without a vault) to postgres://<user>:<password>@<${server} host>:5432/<database>?sslmode=require for the connection user of docs/configuration.md.`,
        };
  }
  const at = `${connection.host}:${connection.port}`;
  if (outcome.kind === 'answered') {
    if (outcome.probeError === undefined) {
      return {
        area: 'postgres',
        id,
        outcome: 'pass',
        detail: `${server} answers SQL at ${at} as "${connection.user}", and the ${target.role === 'replica' ? 'lag probe' : 'position'} query works.`,
      };
    }
    return {
      area: 'postgres',
      id,
      outcome: 'fail',
      detail: `${server} answers SQL at ${at} as "${connection.user}", but the ${target.role === 'replica' ? 'lag probe' : 'position'} query fails: ${describeError(outcome.probeError)}.`,
      fix: `Grant what the postgres.grants.${target.role} findings name, on the primary ${target.primaryServer}.`,
    };
  }
  const error = describeError(outcome.error);
  const fail = (why: string, fix: string): DoctorFinding => ({
    area: 'postgres',
    id,
    outcome: 'fail',
    detail: `The app cannot open a SQL connection to ${server} at ${at} (${error}): ${why}.`,
    fix,
  });
  const cause = connectionFailureOf(outcome.error);
  const user = quoteIdentifier(connection.user);
  switch (cause) {
    case 'network':
      return fail(
        'the connection was refused or timed out',
        `Let the app reach ${at}: the Function app must join a subnet (infra/function-app.json, parameter virtualNetworkSubnetId) in the DR region, delegated to Microsoft.App/environments, in ${server}'s virtual network or one peered with it, whose network security group allows outbound TCP ${connection.port}; and ${server} must be running (infra/README.md, "Network").`,
      );
    case 'dns':
      return fail(
        `${connection.host} does not resolve from the app`,
        `Link the private DNS zone of the flexible servers to the app's virtual network (infra/README.md, "Network"), or correct the host in ${secret}.`,
      );
    case 'password':
      return fail(
        `the server refused the password of "${connection.user}"`,
        `Put the role's password in ${secret}, or, as the server admin on the primary ${target.primaryServer}, run ALTER ROLE ${user} PASSWORD '<new password>' and put that in ${secret}.`,
      );
    case 'rejected':
      return fail(
        "the server rejects connections from the app's address",
        `With public access, admit the app's outbound address: az postgres flexible-server firewall-rule create --resource-group ${target.resourceGroup} --name ${server} --rule-name kyvos-dr-app --start-ip-address <app outbound address> --end-ip-address <app outbound address>; with private access, connect through the app's virtual-network integration (infra/README.md, "Network").`,
      );
    case 'connectPrivilege':
      return fail(
        `"${connection.user}" may not connect to database "${connection.database}"`,
        `As the server admin on the primary ${target.primaryServer}, run: GRANT CONNECT ON DATABASE ${quoteIdentifier(connection.database)} TO ${user}`,
      );
    case 'tls':
      return fail(
        `TLS failed with sslmode=${connection.sslmode}`,
        `Azure requires TLS: set sslmode=require in ${secret}, or, for verify-ca and verify-full, let Node trust the certificate authority of the server's certificate (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-ssl-tls).`,
      );
    case 'database':
      return fail(
        `database "${connection.database}" does not exist on ${server}`,
        `Correct the database name in ${secret}: it is the Kyvos database, where the write proof's table is.`,
      );
    default:
      return fail('see the error', `Fix what the error names, then run kyvos-dr doctor again.`);
  }
}

/** Why a connection did not open, as far as an operator's fix differs. */
export type ConnectionFailure =
  | 'network'
  | 'dns'
  | 'password'
  | 'rejected'
  | 'connectPrivilege'
  | 'tls'
  | 'database'
  | 'other';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
]);

/** Node's certificate errors (`tls.connect`), and a server without TLS. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Classifies a connection error of node-postgres: Node's socket codes (an `AggregateError` of one per
 * address when the host has several), node-postgres's connect timeout (its message, it has no code),
 * Node's certificate errors, and the server's SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * 28P01 invalid_password, 28000 invalid_authorization_specification (no pg_hba.conf entry: the
 * address is not admitted), 42501 insufficient_privilege (no CONNECT), 3D000 invalid_catalog_name.
 */
export function connectionFailureOf(error: unknown): ConnectionFailure {
  const codes = codesOf(error);
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN')) return 'dns';
  if (codes.some((c) => NETWORK_CODES.has(c))) return 'network';
  const message = error instanceof Error ? error.message : '';
  if (/timeout/i.test(message) || /Connection terminated unexpectedly/.test(message)) return 'network';
  if (codes.some((c) => TLS_CODES.has(c)) || /does not support SSL/.test(message)) return 'tls';
  if (codes.includes('28P01')) return 'password';
  if (codes.includes('28000')) return 'rejected';
  if (codes.includes('42501')) return 'connectPrivilege';
  if (codes.includes('3D000')) return 'database';
  return 'other';
}

function codesOf(error: unknown): string[] {
  const own = (error as { code?: unknown } | undefined)?.code;
  const nested = error instanceof AggregateError ? error.errors.flatMap(codesOf) : [];
  const cause = error instanceof Error && error.cause !== undefined ? codesOf(error.cause) : [];
  return [...(typeof own === 'string' ? [own] : []), ...nested, ...cause];
}

/**
 * What the catalog says the connection user may do, read over its own connection
 * (`has_function_privilege`, `has_table_privilege`, `pg_has_role`): read-only, answered on a standby.
 */
export interface ConnectionGrants {
  user: string;
  database: string;
  /** Holds the privileges of `pg_read_all_stats` (itself, or through `pg_monitor`). */
  readAllStats: boolean;
  /** The probes' catalog functions (`pg_catalog.f(args)`) the user may not execute. */
  notExecutable: string[];
  /** The probes' catalog views the user may not select from. */
  notSelectable: string[];
  /** The write proof's table, on the replica (the server the write proof runs on once promoted). */
  writeProof?: WriteProofGrants;
}

/**
 * The findings on the connection user's grants: on the replica, `pg_read_all_stats` (without it the
 * WAL receiver's position is hidden, `walReceiver.ts`: the quiesce then needs the primary's
 * connection, and the lag falls back to replay time) and the write proof's table; on both, the
 * catalog functions and views the probes call, which PostgreSQL grants to PUBLIC unless revoked.
 */
export function grantFindings(
  target: SqlTarget & { primaryConnectionConfigured: boolean },
  grants: ConnectionGrants,
): DoctorFinding[] {
  const prefix = `postgres.grants.${target.role}`;
  const user = quoteIdentifier(grants.user);
  const onPrimary = `As the server admin, connected to "${grants.database}" on the primary ${target.primaryServer} (grants reach the replica by replication), run`;
  const findings: DoctorFinding[] = [];
  if (target.role === 'replica') {
    findings.push(
      grants.readAllStats
        ? {
            area: 'postgres',
            id: `${prefix}.readAllStats`,
            outcome: 'pass',
            detail: `"${grants.user}" holds the privileges of pg_read_all_stats: it sees the WAL receiver's status and position.`,
          }
        : {
            area: 'postgres',
            id: `${prefix}.readAllStats`,
            outcome: target.primaryConnectionConfigured ? 'warn' : 'fail',
            detail: `"${grants.user}" lacks the privileges of pg_read_all_stats: pg_stat_wal_receiver shows it the replica's WAL receiver without its status and position. ${
              target.primaryConnectionConfigured
                ? 'The lag and the quiesce are measured against the primary while it answers; without it (a primary outage) the lag falls back to replay time.'
                : `Without ${CONFIG_SECRETS.primaryConnectionString}, a planned failover cannot confirm the quiesce, and the lag is measured as replay time.`
            }`,
            fix: `${onPrimary}: GRANT pg_read_all_stats TO ${user} (or GRANT pg_monitor TO ${user}, which includes it).`,
          },
    );
  }
  const statements = [
    ...grants.notExecutable.map((f) => `GRANT EXECUTE ON FUNCTION ${f} TO ${user}`),
    ...grants.notSelectable.map((v) => `GRANT SELECT ON ${v} TO ${user}`),
  ];
  findings.push(
    statements.length === 0
      ? {
          area: 'postgres',
          id: `${prefix}.catalog`,
          outcome: 'pass',
          detail: `"${grants.user}" may call every catalog function and view the ${target.role === 'replica' ? 'lag probe, the quiesce and the write proof' : 'lag probe and the quiesce'} use on ${target.server}.`,
        }
      : {
          area: 'postgres',
          id: `${prefix}.catalog`,
          outcome: 'fail',
          detail: `"${grants.user}" may not use ${[...grants.notExecutable, ...grants.notSelectable].join(', ')} on ${target.server}, which the probes call; PostgreSQL grants them to PUBLIC, so they were revoked.`,
          fix: `On the primary ${target.primaryServer}, as the role that revoked them (the owner of pg_catalog's objects, or one holding their grant option), run: ${statements.join('; ')}.`,
        },
  );
  if (target.role === 'replica' && grants.writeProof) {
    const remedy = writeProofRemedy(grants.writeProof);
    findings.push(
      remedy
        ? {
            area: 'postgres',
            id: `${prefix}.writeProof`,
            outcome: 'fail',
            detail: `A failover would promote ${target.server} and then fail to prove that it takes writes (preflight refuses every run): ${remedy.problem}.`,
            fix: `${onPrimary}: ${remedy.statements.join('; ')}.`,
          }
        : {
            area: 'postgres',
            id: `${prefix}.writeProof`,
            outcome: 'pass',
            detail: `"${grants.user}" may upsert into the write proof's table in database "${grants.database}".`,
          },
    );
  }
  return findings;
}
