import { describe, expect, it } from 'vitest';
import { type PostgresConnection, Sensitive } from '../../../src/lib/config/DrConfig.js';
import {
  type ConnectionGrants,
  connectionFailureOf,
  grantFindings,
  type PostgresServers,
  type SqlTarget,
  serverSymmetryFinding,
  sqlReachabilityFinding,
  virtualEndpointFinding,
} from '../../../src/lib/doctor/postgresFindings.js';
import type { ServerSize } from '../../../src/lib/health/promotePrerequisites.js';
import type { WriteProofGrants } from '../../../src/lib/promote/writeProof.js';

const SERVERS: PostgresServers = {
  primaryResourceGroup: 'rg-kyvos',
  primaryServer: 'pg-kyvos',
  drResourceGroup: 'rg-kyvos-dr',
  replicaServer: 'pg-kyvos-dr',
};
const PRIMARY: ServerSize = { skuName: 'Standard_D4ds_v5', tier: 'GeneralPurpose', storageSizeGB: 128 };

describe('server symmetry finding', () => {
  it('passes for equal sizes in either mode', () => {
    for (const mode of ['Standalone', 'Switchover'] as const) {
      expect(serverSymmetryFinding(mode, SERVERS, { size: PRIMARY }, { size: PRIMARY }).outcome).toBe('pass');
    }
  });

  it('a standalone replica with less storage and compute fails, naming the update of the replica to the primary size', () => {
    const finding = serverSymmetryFinding(
      'Standalone',
      SERVERS,
      { size: PRIMARY },
      { size: { skuName: 'Standard_D2ds_v5', tier: 'GeneralPurpose', storageSizeGB: 64 } },
    );
    expect(finding.outcome).toBe('fail');
    expect(finding.fix).toContain(
      'az postgres flexible-server update --resource-group rg-kyvos-dr --name pg-kyvos-dr --tier GeneralPurpose --sku-name Standard_D4ds_v5 --storage-size 128',
    );
    expect(finding.fix).not.toContain('--name pg-kyvos ');
  });

  it('a standalone replica with only less storage changes only its storage', () => {
    const finding = serverSymmetryFinding(
      'Standalone',
      SERVERS,
      { size: PRIMARY },
      { size: { ...PRIMARY, skuName: 'Standard_D8ds_v5', storageSizeGB: 64 } },
    );
    expect(finding.fix).toContain(
      'az postgres flexible-server update --resource-group rg-kyvos-dr --name pg-kyvos-dr --storage-size 128 (or',
    );
    expect(finding.fix).not.toContain('--sku-name');
  });

  it('a larger replica passes a standalone promote but fails a switchover: the primary grows its storage, the replica takes its compute, or Standalone', () => {
    const larger = { skuName: 'Standard_D8ds_v5', tier: 'GeneralPurpose', storageSizeGB: 256 };
    expect(serverSymmetryFinding('Standalone', SERVERS, { size: PRIMARY }, { size: larger }).outcome).toBe(
      'pass',
    );
    const finding = serverSymmetryFinding('Switchover', SERVERS, { size: PRIMARY }, { size: larger });
    expect(finding.outcome).toBe('fail');
    expect(finding.fix).toContain(
      'az postgres flexible-server update --resource-group rg-kyvos-dr --name pg-kyvos-dr --tier GeneralPurpose --sku-name Standard_D4ds_v5',
    );
    expect(finding.fix).toContain(
      'az postgres flexible-server update --resource-group rg-kyvos --name pg-kyvos --storage-size 256',
    );
    expect(finding.fix).toContain('or set kyvos-dr-promote-mode to Standalone');
  });

  it('an unreadable server is unknown, naming the server to let the identity read', () => {
    const finding = serverSymmetryFinding(
      'Standalone',
      SERVERS,
      { size: PRIMARY },
      { error: '403 AuthorizationFailed' },
    );
    expect(finding).toMatchObject({ outcome: 'unknown' });
    expect(finding.fix).toContain('read pg-kyvos-dr in resource group rg-kyvos-dr');
  });
});

describe('virtual endpoint finding', () => {
  it('passes when an endpoint has the replica as member', () => {
    const finding = virtualEndpointFinding(SERVERS, {
      endpoints: [{ name: 'kyvos', members: ['pg-kyvos', 'pg-kyvos-dr'] }],
    });
    expect(finding.outcome).toBe('pass');
  });

  it('fails without one, naming the create command', () => {
    const finding = virtualEndpointFinding(SERVERS, { endpoints: [] });
    expect(finding.outcome).toBe('fail');
    expect(finding.fix).toContain(
      'az postgres flexible-server virtual-endpoint create --resource-group rg-kyvos --server-name pg-kyvos --name <name> --endpoint-type ReadWrite --members pg-kyvos-dr',
    );
  });

  it('is unknown when the list cannot be read', () => {
    expect(virtualEndpointFinding(SERVERS, { error: '403' }).outcome).toBe('unknown');
  });
});

const CONNECTION: PostgresConnection = {
  host: 'pg-kyvos-dr.postgres.database.azure.com',
  port: 5432,
  user: 'kyvos_dr',
  database: 'kyvos',
  sslmode: 'require',
  password: new Sensitive('not-a-real-password'),
};
const REPLICA: SqlTarget = {
  role: 'replica',
  server: 'pg-kyvos-dr',
  resourceGroup: 'rg-kyvos-dr',
  primaryServer: 'pg-kyvos',
  connection: CONNECTION,
};

function codeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('SQL reachability finding', () => {
  it('a missing replica connection fails, saying what the runbook loses and which secret to set', () => {
    const finding = sqlReachabilityFinding({ ...REPLICA, connection: undefined }, undefined);
    expect(finding.outcome).toBe('fail');
    expect(finding.detail).toContain('cannot measure the replica');
    expect(finding.detail).toContain('cannot prove that pg-kyvos-dr takes writes');
    expect(finding.fix).toContain('kyvos-dr-replica-connection-string');
    expect(finding.fix).toContain('KYVOS_DR_REPLICA_CONNECTION_STRING');
  });

  it('a missing primary connection passes: it is optional', () => {
    const target: SqlTarget = { ...REPLICA, role: 'primary', server: 'pg-kyvos', connection: undefined };
    expect(sqlReachabilityFinding(target, undefined).outcome).toBe('pass');
  });

  it.each([
    ['refused', codeError('ECONNREFUSED')],
    ['timed out', new Error('timeout expired')],
    ['one address of several refused', new AggregateError([codeError('ECONNREFUSED')], '')],
  ])('a connection %s fails naming host:port and the virtual-network integration', (_, error) => {
    const finding = sqlReachabilityFinding(REPLICA, { kind: 'failed', error });
    expect(finding.outcome).toBe('fail');
    expect(finding.detail).toContain('pg-kyvos-dr.postgres.database.azure.com:5432');
    expect(finding.fix).toContain('virtualNetworkSubnetId');
    expect(finding.fix).toContain('outbound TCP 5432');
  });

  it.each([
    [codeError('ENOTFOUND'), 'private DNS zone'],
    [codeError('28P01'), 'ALTER ROLE "kyvos_dr" PASSWORD'],
    [
      codeError('28000'),
      'az postgres flexible-server firewall-rule create --resource-group rg-kyvos-dr --name pg-kyvos-dr',
    ],
    [codeError('42501'), 'GRANT CONNECT ON DATABASE "kyvos" TO "kyvos_dr"'],
    [codeError('3D000'), 'Correct the database name in kyvos-dr-replica-connection-string'],
    [codeError('SELF_SIGNED_CERT_IN_CHAIN'), 'set sslmode=require in kyvos-dr-replica-connection-string'],
    [new Error('The server does not support SSL connections'), 'Azure requires TLS'],
  ])('a connection error %s names its own fix', (error, fix) => {
    const finding = sqlReachabilityFinding(REPLICA, { kind: 'failed', error });
    expect(finding.outcome).toBe('fail');
    expect(finding.fix).toContain(fix);
  });

  it('classifies a network error in a cause', () => {
    expect(connectionFailureOf(new Error('wrapped', { cause: codeError('EHOSTUNREACH') }))).toBe('network');
    expect(connectionFailureOf(new Error('something else'))).toBe('other');
  });

  it('an answered connection whose probe query fails is a failure that points at the grants', () => {
    const finding = sqlReachabilityFinding(REPLICA, {
      kind: 'answered',
      probeError: codeError('42501', 'permission denied for function pg_last_wal_replay_lsn'),
    });
    expect(finding.outcome).toBe('fail');
    expect(finding.fix).toContain('postgres.grants.replica');
  });
});

const FULL: ConnectionGrants = {
  user: 'kyvos_dr',
  database: 'kyvos',
  readAllStats: true,
  notExecutable: [],
  notSelectable: [],
  writeProof: {
    user: 'kyvos_dr',
    database: 'kyvos',
    schemaExists: true,
    schemaUsage: true,
    tableExists: true,
    tablePrivileges: ['SELECT', 'INSERT', 'UPDATE'],
  },
};
const WRITE_PROOF_READY = FULL.writeProof as WriteProofGrants;

describe('grant findings', () => {
  const replica = { ...REPLICA, primaryConnectionConfigured: false };
  const outcomes = (grants: ConnectionGrants, target = replica) =>
    Object.fromEntries(grantFindings(target, grants).map((f) => [f.id, f.outcome]));

  it('the documented grants pass', () => {
    expect(outcomes(FULL)).toEqual({
      'postgres.grants.replica.readAllStats': 'pass',
      'postgres.grants.replica.catalog': 'pass',
      'postgres.grants.replica.writeProof': 'pass',
    });
  });

  it('without pg_read_all_stats: fail without the primary connection, warn with it, naming the GRANT on the primary', () => {
    const grants = { ...FULL, readAllStats: false };
    expect(outcomes(grants)['postgres.grants.replica.readAllStats']).toBe('fail');
    expect(
      outcomes(grants, { ...replica, primaryConnectionConfigured: true })[
        'postgres.grants.replica.readAllStats'
      ],
    ).toBe('warn');
    const finding = grantFindings(replica, grants).find((f) => f.id.endsWith('readAllStats'));
    expect(finding?.fix).toContain('on the primary pg-kyvos');
    expect(finding?.fix).toContain(
      'GRANT pg_read_all_stats TO "kyvos_dr" (or GRANT pg_monitor TO "kyvos_dr"',
    );
  });

  it('a revoked catalog function fails naming the GRANT EXECUTE', () => {
    const finding = grantFindings(replica, {
      ...FULL,
      notExecutable: ['pg_catalog.pg_last_wal_replay_lsn()'],
      notSelectable: ['pg_catalog.pg_stat_wal_receiver'],
    }).find((f) => f.id.endsWith('catalog'));
    expect(finding?.outcome).toBe('fail');
    expect(finding?.fix).toContain(
      'GRANT EXECUTE ON FUNCTION pg_catalog.pg_last_wal_replay_lsn() TO "kyvos_dr"; GRANT SELECT ON pg_catalog.pg_stat_wal_receiver TO "kyvos_dr"',
    );
  });

  it('a user without the write proof table grants fails naming the GRANTs to run on the primary', () => {
    const finding = grantFindings(replica, {
      ...FULL,
      writeProof: {
        ...WRITE_PROOF_READY,
        schemaUsage: false,
        tablePrivileges: [],
      },
    }).find((f) => f.id.endsWith('writeProof'));
    expect(finding?.outcome).toBe('fail');
    expect(finding?.fix).toBe(
      'As the server admin, connected to "kyvos" on the primary pg-kyvos (grants reach the replica by replication), run: GRANT USAGE ON SCHEMA kyvos_dr TO "kyvos_dr"; GRANT SELECT, INSERT, UPDATE ON kyvos_dr.failover_probe TO "kyvos_dr".',
    );
  });

  it('the primary has no read-all-stats or write proof finding', () => {
    const primary = { ...replica, role: 'primary' as const, server: 'pg-kyvos' };
    expect(Object.keys(outcomes({ ...FULL, readAllStats: false }, primary))).toEqual([
      'postgres.grants.primary.catalog',
    ]);
  });
});
