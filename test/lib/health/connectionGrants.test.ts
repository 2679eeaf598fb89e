import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionStringAs, type PgLogin, queryAs } from '../../../local/azurePostgresRoles.js';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import type { DrConfig, PostgresConnection } from '../../../src/lib/config/DrConfig.js';
import {
  parsePostgresConnectionString,
  pgClientConfig,
} from '../../../src/lib/config/postgresConnectionString.js';
import { APP_SETTINGS, CONFIG_SECRETS } from '../../../src/lib/config/secretNames.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { checkReplicaHealth } from '../../../src/lib/health/ReplicaHealth.js';
import { proveWritable } from '../../../src/lib/promote/promoteReplica.js';
import {
  capturingLogger,
  confirmWhenWaiting,
  failoverDepsFor,
  postFailover,
} from '../../helpers/failoverHarness.js';
import { stackDeps } from '../../helpers/healthStack.js';

/**
 * kyvos-dr connects to PostgreSQL as the stack's connection user, made by Azure's server admin
 * (not a superuser) with the grants of docs/configuration.md: what works with them, and what health
 * and preflight say when one is missing.
 */
describe('the PostgreSQL connection user on the local stack', () => {
  let stack: LocalStack;
  let config: DrConfig;
  /** A user the admin made with CONNECT and pg_read_all_stats only: no write proof table grants. */
  const bare: PgLogin = { user: 'kyvos_dr_bare', password: 'bare-Passw0rd' };

  beforeAll(async () => {
    stack = await startLocalStack();
    config = await stackDeps(stack).config();
    await queryAs(stack.postgres.primary, stack.postgres.logins.admin, stack.postgres.primary.database, [
      `CREATE ROLE ${bare.user} LOGIN PASSWORD '${bare.password}'`,
      `GRANT pg_read_all_stats TO ${bare.user}`,
    ]);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const connectionOf = (login: PgLogin, server: 'primary' | 'replica'): PostgresConnection => {
    const parsed = parsePostgresConnectionString(connectionStringAs(stack.postgres[server], login));
    if (!('connection' in parsed)) throw new Error(parsed.problem);
    return parsed.connection;
  };
  /** Runs SQL as `login` and returns the rows, or the error's message. */
  const runAs = async (login: PgLogin, server: 'primary' | 'replica', sql: string) => {
    const client = new pg.Client({ connectionString: connectionStringAs(stack.postgres[server], login) });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } catch (error) {
      return (error as Error).message;
    } finally {
      await client.end();
    }
  };
  const waitForRole = async (login: PgLogin) => {
    for (let i = 0; i < 100; i++) {
      const rows = await stack.postgres.replica.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [
        login.user,
      ]);
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`role ${login.user} never reached the replica`);
  };

  it('Key Vault holds the connection user, not a superuser; the server admin is not one either', async () => {
    const secret = await stack.clients
      .secrets(stack.settings[APP_SETTINGS.keyVaultUrl] as string)
      .getSecret(CONFIG_SECRETS.replicaConnectionString);
    expect(parsePostgresConnectionString(secret.value as string)).toMatchObject({
      connection: { user: 'kyvos_dr' },
    });
    const roles = await stack.postgres.primary.query<{
      rolname: string;
      rolsuper: boolean;
      admin_member: boolean;
    }>(
      `SELECT rolname, rolsuper, pg_has_role(rolname, 'azure_pg_admin', 'MEMBER') AS admin_member
         FROM pg_roles WHERE rolname IN ('kyvos_dr', 'kyvosadmin') ORDER BY rolname`,
    );
    expect(roles).toEqual([
      { rolname: 'kyvos_dr', rolsuper: false, admin_member: false },
      { rolname: 'kyvosadmin', rolsuper: false, admin_member: true },
    ]);
  });

  it('the configured connection user cannot create the old probe table in schema public, which azure_pg_admin owns', async () => {
    const columns = '(run_id text PRIMARY KEY, written_at timestamptz NOT NULL)';
    const asConfigured = async (sql: string) => {
      const connection = config.primary.postgresConnection as PostgresConnection;
      const client = new pg.Client(
        pgClientConfig(connection, { timeoutInMs: 10_000, applicationName: 'test' }),
      );
      await client.connect();
      try {
        return await client.query(sql).then(
          () => 'created',
          (error: Error) => error.message,
        );
      } finally {
        await client.end();
      }
    };
    expect(await asConfigured(`CREATE TABLE public.kyvos_dr_failover_probe ${columns}`)).toBe(
      'permission denied for schema public',
    );
    // The statement of the old write proof, unqualified: no schema on the user's search_path takes it.
    expect(await asConfigured(`CREATE TABLE IF NOT EXISTS kyvos_dr_failover_probe ${columns}`)).toMatch(
      /^permission denied for schema /,
    );
    expect(
      await stack.postgres.primary.query(
        "SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'public'",
      ),
    ).toEqual([{ owner: 'azure_pg_admin' }]);
  });

  it('with the documented grants the write proof writes its row, on the primary and in no other schema', async () => {
    await proveWritable(
      connectionOf(stack.postgres.logins.connectionUser, 'primary'),
      'run-grants-1',
      10_000,
    );
    expect(
      await stack.postgres.primary.query('SELECT run_id FROM kyvos_dr.failover_probe WHERE run_id = $1', [
        'run-grants-1',
      ]),
    ).toEqual([{ run_id: 'run-grants-1' }]);
  });

  it('with the documented grants the replica check is Healthy and sees the WAL receiver; the server admin sees only its pid', async () => {
    const noPrimary: DrConfig = { ...config, primary: { ...config.primary, postgresConnection: undefined } };
    const report = await checkReplicaHealth(noPrimary, stackDeps(stack));
    expect(report.facts).toMatchObject({
      walReceiverStatus: 'streaming',
      lagBasis: 'wal-receiver',
      writeProof: 'ready',
    });
    expect(report.status).toBe('Healthy');
    expect(
      await runAs(
        stack.postgres.logins.admin,
        'replica',
        'SELECT pid IS NOT NULL AS has_pid, status FROM pg_stat_wal_receiver',
      ),
    ).toEqual([{ has_pid: true, status: null }]);
  });

  it('a user without pg_read_all_stats: the lag basis is replay time, said so, and the check names the grant', async () => {
    const asAdmin: DrConfig = {
      ...config,
      primary: { ...config.primary, postgresConnection: undefined },
      dr: { ...config.dr, replicaConnection: connectionOf(stack.postgres.logins.admin, 'replica') },
    };
    const report = await checkReplicaHealth(asAdmin, stackDeps(stack));
    expect(report.facts).toMatchObject({ walReceiverStatus: 'hidden', lagBasis: 'replay-time' });
    expect(report.status).toBe('Degraded');
    expect(report.reasons).toContain(
      `Replica "pg-kyvos-dr": the lag is measured as replay time (the age of the last replayed transaction), not against a WAL position, because the WAL receiver's status is hidden from the connection user "kyvosadmin", which lacks pg_read_all_stats; as the server admin on the primary, run: GRANT pg_read_all_stats TO "kyvosadmin"; or set kyvos-dr-primary-connection-string to measure it against the primary's position.`,
    );
  });

  it('a user without the write proof table: the replica check is Unhealthy and names the SQL that fixes it', async () => {
    await waitForRole(bare);
    const asBare: DrConfig = {
      ...config,
      dr: { ...config.dr, replicaConnection: connectionOf(bare, 'replica') },
    };
    const report = await checkReplicaHealth(asBare, stackDeps(stack));
    expect(report.facts.writeProof).toBe('missing grant');
    expect(report.status).toBe('Unhealthy');
    expect(report.reasons).toContain(
      'Replica "pg-kyvos-dr": a failover would promote it and then fail to prove that it takes writes, so preflight refuses every run: the connection user "kyvos_dr_bare" lacks USAGE on schema kyvos_dr, SELECT on kyvos_dr.failover_probe, INSERT on kyvos_dr.failover_probe, UPDATE on kyvos_dr.failover_probe, which the write proof needs in database "kyvos"; as the server admin, connected to "kyvos" on the primary, run: GRANT USAGE ON SCHEMA kyvos_dr TO "kyvos_dr_bare"; GRANT SELECT, INSERT, UPDATE ON kyvos_dr.failover_probe TO "kyvos_dr_bare".',
    );
  });

  it('a write proof without its grants fails at once, naming the grant, instead of retrying until its timeout', async () => {
    await expect(proveWritable(connectionOf(bare, 'primary'), 'run-grants-2', 20_000)).rejects.toThrow(
      /is out of recovery, but its write cannot be proven\. The write proof could not write to kyvos_dr\.failover_probe \(permission denied for schema kyvos_dr\): the connection user "kyvos_dr_bare" lacks USAGE on schema kyvos_dr, .*run: GRANT USAGE ON SCHEMA kyvos_dr TO "kyvos_dr_bare"; GRANT SELECT, INSERT, UPDATE ON kyvos_dr\.failover_probe TO "kyvos_dr_bare"\.$/,
    );
  });

  it('a forced failover whose write proof would fail is refused by preflight, naming the grant, and promotes nothing', async () => {
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 5,
      },
    );
    await stack.setSecret(
      CONFIG_SECRETS.replicaConnectionString,
      connectionStringAs(stack.postgres.replica, bare),
    );
    try {
      const deps = failoverDepsFor(stack, capturingLogger().logger);
      const runId = await postFailover(deps, { mode: 'forced', reason: 'grants test' });
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
      expect(run.state).toBe('Refused');
      expect(run.errors.join('\n')).toContain(
        'the promoted server "pg-kyvos-dr" could not prove that it takes writes: the connection user "kyvos_dr_bare" lacks USAGE on schema kyvos_dr',
      );
      expect(run.steps['database.promote'].status).toBe('Skipped');
      expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
    } finally {
      await stack.setSecret(
        CONFIG_SECRETS.replicaConnectionString,
        connectionStringAs(stack.postgres.replica, stack.postgres.logins.connectionUser),
      );
    }
  });

  describe('without the primary connection string', () => {
    let own: LocalStack;
    afterAll(async () => {
      await own?.stop();
    });

    it('a planned run with a user that cannot see the WAL receiver is refused by preflight naming the grant, and promotes nothing', async () => {
      own = await startLocalStack({ omitSecrets: [CONFIG_SECRETS.primaryConnectionString] });
      await own.setSecret(
        CONFIG_SECRETS.replicaConnectionString,
        connectionStringAs(own.postgres.replica, own.postgres.logins.admin),
      );
      const deps = failoverDepsFor(own, capturingLogger().logger, { walQuiesceTimeoutInMs: 3_000 });
      const runId = await postFailover(deps, { mode: 'planned', reason: 'grants test' });
      void confirmWhenWaiting(deps, runId);
      const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
      // The doctor's grants check in preflight's health checks finds it before the quiesce would.
      expect(run.state).toBe('Refused');
      expect(JSON.stringify(run)).toContain('GRANT pg_read_all_stats TO');
      expect(run.steps.quiesce.status).not.toBe('Succeeded');
      expect(run.steps['database.promote'].status).toBe('Skipped');
      expect((await own.postgres.replica.status()).inRecovery).toBe(true);
    });
  });
});
