import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionStringAs, type PgLogin, queryAs } from '../../../local/azurePostgresRoles.js';
import { findFreePort } from '../../../local/postgres.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import type { DrConfig, PostgresConnection } from '../../../src/lib/config/DrConfig.js';
import { parsePostgresConnectionString } from '../../../src/lib/config/postgresConnectionString.js';
import { appSettingName, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import type { DoctorFinding } from '../../../src/lib/doctor/doctorCheck.js';
import { runDoctor } from '../../../src/lib/doctor/runDoctor.js';
import { stackDeps, stackDoctorContext, waitFor } from '../../helpers/healthStack.js';

/**
 * The doctor's PostgreSQL checks on the local stack: every one passes on the stack as started (the
 * connection user of docs/configuration.md, equal sizes, Standalone), and each misconfiguration an
 * operator can make fails, naming its fix.
 */

/**
 * The findings with some Key Vault secrets replaced, read through the configuration loader as the
 * doctor reads them; the stack's own values are put back afterwards.
 */
async function findingsWithSecrets(
  stack: LocalStack,
  secrets: Record<string, string>,
): Promise<Map<string, DoctorFinding>> {
  try {
    for (const [name, value] of Object.entries(secrets)) await stack.setSecret(name, value);
    return await postgresFindings(stack, await stackDeps(stack).config());
  } finally {
    for (const name of Object.keys(secrets)) {
      await stack.setSecret(name, stack.fallbackSettings[appSettingName(name)] as string);
    }
  }
}

async function postgresFindings(stack: LocalStack, config: DrConfig): Promise<Map<string, DoctorFinding>> {
  const report = await runDoctor(await stackDoctorContext(stack, config), { areas: ['postgres'] });
  return new Map(report.findings.map((f) => [f.id, f]));
}

function connectionOf(stack: LocalStack, login: PgLogin, server: 'primary' | 'replica'): PostgresConnection {
  const parsed = parsePostgresConnectionString(connectionStringAs(stack.postgres[server], login));
  if (!('connection' in parsed)) throw new Error(parsed.problem);
  return parsed.connection;
}

describe('the doctor on PostgreSQL, on the stack as started', () => {
  let stack: LocalStack;
  let config: DrConfig;

  beforeAll(async () => {
    stack = await startLocalStack();
    config = await stackDeps(stack).config();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('every PostgreSQL check passes with the documented connection user', async () => {
    const findings = await postgresFindings(stack, config);
    expect(Object.fromEntries([...findings].map(([id, f]) => [id, f.outcome]))).toEqual({
      'postgres.serverSymmetry': 'pass',
      'postgres.sql.replica': 'pass',
      'postgres.grants.replica.readAllStats': 'pass',
      'postgres.grants.replica.catalog': 'pass',
      'postgres.grants.replica.writeProof': 'pass',
      'postgres.sql.primary': 'pass',
      'postgres.grants.primary.catalog': 'pass',
    });
  });

  it('a switchover without a virtual endpoint fails, naming the command that creates it; with it, it passes', async () => {
    const switchover = { [CONFIG_SECRETS.promoteMode]: 'Switchover' };
    const missing = (await findingsWithSecrets(stack, switchover)).get('postgres.virtualEndpoint');
    expect(missing?.outcome).toBe('fail');
    expect(missing?.fix).toContain(
      'az postgres flexible-server virtual-endpoint create --resource-group rg-kyvos --server-name pg-kyvos --name <name> --endpoint-type ReadWrite --members pg-kyvos-dr',
    );

    await stack
      .operatorClients()
      .postgresManagement(stack.names.subscriptionId)
      .virtualEndpoints.beginCreateAndWait(
        stack.names.primaryResourceGroup,
        stack.names.primaryPostgresServer,
        'kyvos',
        { endpointType: 'ReadWrite', members: [stack.names.replicaPostgresServer] },
        { updateIntervalInMs: 200 },
      );
    const findings = await findingsWithSecrets(stack, switchover);
    expect(findings.get('postgres.virtualEndpoint')?.outcome).toBe('pass');
    expect(findings.get('postgres.serverSymmetry')?.outcome).toBe('pass');
  });

  it('an unreachable replica port fails, naming host:port and the virtual-network integration', async () => {
    const port = await findFreePort();
    const finding = (
      await findingsWithSecrets(stack, {
        [CONFIG_SECRETS.replicaConnectionString]: connectionStringAs(
          { ...stack.postgres.replica, port },
          stack.postgres.logins.connectionUser,
        ),
      })
    ).get('postgres.sql.replica');
    expect(finding?.outcome).toBe('fail');
    expect(finding?.detail).toContain(
      `The app cannot open a SQL connection to pg-kyvos-dr at 127.0.0.1:${port}`,
    );
    expect(finding?.fix).toContain(`Let the app reach 127.0.0.1:${port}`);
    expect(finding?.fix).toContain('infra/function-app.json, parameter virtualNetworkSubnetId');
  });

  it('without the replica connection string the check fails, naming what is lost and the secret', async () => {
    const finding = (
      await postgresFindings(stack, { ...config, dr: { ...config.dr, replicaConnection: undefined } })
    ).get('postgres.sql.replica');
    expect(finding?.outcome).toBe('fail');
    expect(finding?.fix).toContain('Set the Key Vault secret kyvos-dr-replica-connection-string');
  });

  it('a non-superuser login without grants fails, naming each GRANT; running them as the server admin makes it pass', async () => {
    const bare: PgLogin = { user: 'kyvos_dr_doctor', password: 'doctor-Passw0rd' };
    const { primary, replica, logins } = stack.postgres;
    await queryAs(primary, logins.admin, primary.database, [
      `CREATE ROLE ${bare.user} LOGIN PASSWORD '${bare.password}'`,
    ]);
    await waitFor(
      () => replica.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [bare.user]),
      (rows) => rows.length > 0,
      { what: `role ${bare.user} on the replica` },
    );
    const asBare: DrConfig = {
      ...config,
      primary: { ...config.primary, postgresConnection: undefined },
      dr: { ...config.dr, replicaConnection: connectionOf(stack, bare, 'replica') },
    };
    const findings = await postgresFindings(stack, asBare);
    expect(findings.get('postgres.sql.replica')?.outcome).toBe('pass');
    const stats = findings.get('postgres.grants.replica.readAllStats');
    expect(stats?.outcome).toBe('fail');
    expect(stats?.fix).toContain('on the primary pg-kyvos');
    expect(stats?.fix).toContain('GRANT pg_read_all_stats TO "kyvos_dr_doctor"');
    const proof = findings.get('postgres.grants.replica.writeProof');
    expect(proof?.outcome).toBe('fail');
    expect(proof?.fix).toBe(
      'As the server admin, connected to "kyvos" on the primary pg-kyvos (grants reach the replica by replication), run: GRANT USAGE ON SCHEMA kyvos_dr TO "kyvos_dr_doctor"; GRANT SELECT, INSERT, UPDATE ON kyvos_dr.failover_probe TO "kyvos_dr_doctor".',
    );

    // The fixes as named, run as Azure's server admin (not a superuser) on the primary.
    const statements = [
      /GRANT pg_read_all_stats TO "kyvos_dr_doctor"/.exec(stats?.fix ?? '')?.[0] ?? '',
      ...(proof?.fix ?? '')
        .replace(/^.*run: /, '')
        .replace(/\.$/, '')
        .split('; '),
    ];
    await queryAs(primary, logins.admin, primary.database, statements);
    await waitFor(
      async () => [...(await postgresFindings(stack, asBare)).values()].map((f) => [f.id, f.outcome]),
      (outcomes) => outcomes.every(([, outcome]) => outcome === 'pass'),
      { what: 'every PostgreSQL finding passing once the grants replicated' },
    );
  });

  it('GRANT pg_monitor, the alternative the fix names, gives the privileges of pg_read_all_stats', async () => {
    const monitor: PgLogin = { user: 'kyvos_dr_monitor', password: 'monitor-Passw0rd' };
    const { primary, replica, logins } = stack.postgres;
    await queryAs(primary, logins.admin, primary.database, [
      `CREATE ROLE ${monitor.user} LOGIN PASSWORD '${monitor.password}'`,
      `GRANT pg_monitor TO ${monitor.user}`,
    ]);
    await waitFor(
      () => replica.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [monitor.user]),
      (rows) => rows.length > 0,
      { what: `role ${monitor.user} on the replica` },
    );
    const findings = await postgresFindings(stack, {
      ...config,
      primary: { ...config.primary, postgresConnection: undefined },
      dr: { ...config.dr, replicaConnection: connectionOf(stack, monitor, 'replica') },
    });
    expect(findings.get('postgres.grants.replica.readAllStats')?.outcome).toBe('pass');
  });

  it('a catalog function revoked from PUBLIC fails, naming the GRANT EXECUTE', async () => {
    const { primary, replica } = stack.postgres;
    const fn = 'pg_catalog.pg_last_wal_replay_lsn()';
    await primary.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
    try {
      await waitFor(
        () =>
          replica.query<{ granted: boolean }>(
            "SELECT has_function_privilege('kyvos_dr', 'pg_catalog.pg_last_wal_replay_lsn()', 'EXECUTE') AS granted",
          ),
        (rows) => rows[0]?.granted === false,
        { what: 'the revoke on the replica' },
      );
      const findings = await postgresFindings(stack, config);
      expect(findings.get('postgres.sql.replica')?.outcome).toBe('fail');
      const catalog = findings.get('postgres.grants.replica.catalog');
      expect(catalog?.outcome).toBe('fail');
      expect(catalog?.fix).toContain(`GRANT EXECUTE ON FUNCTION ${fn} TO "kyvos_dr"`);
    } finally {
      await primary.query(`GRANT EXECUTE ON FUNCTION ${fn} TO PUBLIC`);
    }
  });
});

describe('the doctor on PostgreSQL, with a replica smaller than the primary', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      serverSizes: { replica: { skuName: 'Standard_D2ds_v5', tier: 'GeneralPurpose', storageSizeGB: 64 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('the server symmetry fails, naming the update of the replica to the primary size', async () => {
    const findings = await postgresFindings(stack, await stackDeps(stack).config());
    const symmetry = findings.get('postgres.serverSymmetry');
    expect(symmetry?.outcome).toBe('fail');
    expect(symmetry?.detail).toContain(
      'the replica pg-kyvos-dr is Standard_D2ds_v5 (GeneralPurpose) with 64 GB of storage, the primary pg-kyvos Standard_D4ds_v5 (GeneralPurpose) with 128 GB of storage',
    );
    expect(symmetry?.fix).toContain(
      'az postgres flexible-server update --resource-group rg-kyvos-dr --name pg-kyvos-dr --tier GeneralPurpose --sku-name Standard_D4ds_v5 --storage-size 128',
    );
    expect(findings.get('postgres.sql.replica')?.outcome).toBe('pass');
  });
});
