import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type PostgresPair,
  type PostgresPairOptions,
  startPostgresPair,
  waitFor,
} from '../../local/postgres.js';
import type { PgInstance } from '../../local/types.js';

const pairs: PostgresPair[] = [];

async function startPair(options?: PostgresPairOptions): Promise<PostgresPair> {
  const pair = await startPostgresPair(options);
  pairs.push(pair);
  return pair;
}

afterEach(async () => {
  await Promise.all(pairs.splice(0).map((pair) => pair.stop()));
});

/** Rows of `sql`, or none while the table has not been replayed yet. */
async function rowsOn<T>(instance: PgInstance, sql: string): Promise<T[]> {
  try {
    return await instance.query<T>(sql);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return [];
    throw error;
  }
}

async function countOn(instance: PgInstance, table: string): Promise<number> {
  const [row] = await rowsOn<{ count: number }>(instance, `SELECT count(*)::int AS count FROM ${table}`);
  return row?.count ?? 0;
}

function waitForCount(instance: PgInstance, table: string, expected: number): Promise<true> {
  return waitFor(async () => (await countOn(instance, table)) === expected, {
    timeoutInMs: 15_000,
    description: `${expected} rows in ${table} on "${instance.name}"`,
  });
}

/** `0/1B80D08` as a number, to compare LSNs. */
function lsn(text: string | null | undefined): bigint {
  const [high, low] = (text ?? '0/0').split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** The postmaster (from its own `postmaster.pid`) and the processes it forked. */
async function serverPids(instance: PgInstance): Promise<number[]> {
  const postmaster = Number(
    (await fs.readFile(path.join(instance.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  const children: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

describe('local PostgreSQL pair', () => {
  it('replays a row written on the primary on the replica, which streams and stays read-only', async () => {
    const { primary, replica } = await startPair();

    await primary.query('CREATE TABLE runs (id int PRIMARY KEY, note text)');
    await primary.query('INSERT INTO runs VALUES ($1, $2)', [1, 'written on the primary']);

    const [row] = await waitFor(
      async () => {
        const rows = await rowsOn<{ note: string }>(replica, 'SELECT note FROM runs WHERE id = 1');
        return rows.length > 0 ? rows : undefined;
      },
      { timeoutInMs: 15_000, description: 'the row on the replica' },
    );
    expect(row?.note).toBe('written on the primary');
    expect(await replica.status()).toMatchObject({
      running: true,
      inRecovery: true,
      walReceiverStatus: 'streaming',
      replayPaused: false,
    });
    expect(await primary.status()).toMatchObject({
      running: true,
      inRecovery: false,
      walReceiverStatus: null,
    });
    // The primary sees the replica under its name, as the health check reads it on Azure.
    expect(
      await primary.query(
        'SELECT application_name, state FROM pg_stat_replication WHERE application_name = $1',
        [replica.name],
      ),
    ).toEqual([{ application_name: replica.name, state: 'streaming' }]);
    await expect(replica.query('INSERT INTO runs VALUES (2, $1)', ['on the replica'])).rejects.toThrow(
      /read-only transaction/,
    );

    // The published connection string reaches the Kyvos database with the published credentials.
    const client = new pg.Client({ connectionString: replica.connectionString });
    await client.connect();
    try {
      const result = await client.query('SELECT current_database() AS db, count(*)::int AS runs FROM runs');
      expect(result.rows).toEqual([{ db: 'kyvos', runs: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('holds writes back from the replica while replay is paused, and applies them on resume', async () => {
    const { primary, replica } = await startPair();
    await primary.query('CREATE TABLE events (id int)');
    await primary.query('INSERT INTO events VALUES (1)');
    await waitForCount(replica, 'events', 1);

    await replica.pauseReplay();
    await primary.query('INSERT INTO events SELECT generate_series(2, 100)');

    const paused = await waitFor(
      async () => {
        const status = await replica.status();
        return lsn(status.receivedLsn) > lsn(status.replayedLsn) ? status : undefined;
      },
      { timeoutInMs: 15_000, description: 'the replica to receive WAL it does not replay' },
    );
    expect(paused).toMatchObject({ running: true, inRecovery: true, replayPaused: true });
    expect(await countOn(replica, 'events')).toBe(1);

    await replica.resumeReplay();
    await waitForCount(replica, 'events', 100);
    const resumed = await replica.status();
    expect(resumed.replayPaused).toBe(false);
    expect(lsn(resumed.replayedLsn)).toBeGreaterThanOrEqual(lsn(paused.receivedLsn));
  });

  it('promotes the replica into a writable primary', async () => {
    const { primary, replica } = await startPair();

    await replica.promote();

    expect(await replica.status()).toMatchObject({
      running: true,
      inRecovery: false,
      walReceiverStatus: null,
    });
    await replica.query('CREATE TABLE after_failover (id int)');
    await replica.query('INSERT INTO after_failover VALUES (42)');
    expect(await replica.query('SELECT id FROM after_failover')).toEqual([{ id: 42 }]);
    await expect(primary.promote()).rejects.toThrow(
      /Cannot promote PostgreSQL "pg-kyvos" \(127\.0\.0\.1:\d+\): recovery is not in progress/,
    );
  });

  it('a primary crash stops the replica streaming until the primary is back, and the crashed primary reports not running', async () => {
    const { primary, replica } = await startPair();
    await primary.query('CREATE TABLE before_outage (id int)');
    await primary.query('INSERT INTO before_outage VALUES (7)');
    await waitForCount(replica, 'before_outage', 1);

    await primary.stop('immediate');

    expect(primary.isRunning()).toBe(false);
    expect(await primary.status()).toEqual({ running: false });
    await expect(primary.query('SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    const orphaned = await waitFor(
      async () => {
        const status = await replica.status();
        return status.walReceiverStatus !== 'streaming' ? status : undefined;
      },
      { timeoutInMs: 15_000, description: 'the replica to stop streaming' },
    );
    // Still a readable standby with the data it had, waiting for a primary.
    expect(orphaned).toMatchObject({ running: true, inRecovery: true });
    expect(await countOn(replica, 'before_outage')).toBe(1);

    // When the region comes back, the primary recovers from the crash and the replica reconnects.
    await primary.start();
    await waitFor(async () => (await replica.status()).walReceiverStatus === 'streaming', {
      timeoutInMs: 15_000,
      description: 'the replica to stream again',
    });
    await primary.query('INSERT INTO before_outage VALUES (8)');
    await waitForCount(replica, 'before_outage', 2);
  });

  it('runs two pairs side by side, and stopping a pair leaves no server process and no directory', async () => {
    const [a, b] = await Promise.all([
      startPair({ primaryName: 'pg-a', replicaName: 'pg-a-dr', database: 'metadata_a' }),
      startPair({ primaryName: 'pg-b', replicaName: 'pg-b-dr', database: 'metadata_b' }),
    ]);
    const instances = [a.primary, a.replica, b.primary, b.replica];
    expect(new Set(instances.map((instance) => instance.port)).size).toBe(4);

    for (const pair of [a, b]) {
      await pair.primary.query('CREATE TABLE owner (name text)');
      await pair.primary.query('INSERT INTO owner VALUES ($1)', [pair.primary.name]);
    }
    for (const pair of [a, b]) {
      const [row] = await waitFor(
        async () => {
          const rows = await rowsOn<{ name: string; db: string }>(
            pair.replica,
            'SELECT name, current_database() AS db FROM owner',
          );
          return rows.length > 0 ? rows : undefined;
        },
        { timeoutInMs: 15_000, description: `the row on "${pair.replica.name}"` },
      );
      expect(row).toEqual({ name: pair.primary.name, db: pair.primary.database });
    }

    const pids = (await Promise.all(instances.map(serverPids))).flat();
    // Each server has at least its checkpointer and the replication processes besides the postmaster.
    expect(pids.length).toBeGreaterThan(8);
    expect(pids.every(isAlive)).toBe(true);

    await Promise.all([a.stop(), b.stop()]);

    expect(pids.filter(isAlive)).toEqual([]);
    for (const pair of [a, b]) {
      await expect(fs.access(pair.baseDir)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(instances.map((instance) => instance.isRunning())).toEqual([false, false, false, false]);
  });

  it('after a switchover the old primary follows the promoted replica', async () => {
    const { primary, replica } = await startPair();
    await primary.query('CREATE TABLE ledger (id int)');
    await primary.query('INSERT INTO ledger VALUES (1)');
    await waitForCount(replica, 'ledger', 1);
    await expect(primary.followAsStandby(replica)).rejects.toThrow(/while it runs; stop it first/);

    await primary.stop('fast');
    await replica.promote();
    await primary.followAsStandby(replica);

    expect(await primary.status()).toMatchObject({
      running: true,
      inRecovery: true,
      walReceiverStatus: 'streaming',
    });
    await replica.query('INSERT INTO ledger VALUES (2)');
    await waitForCount(primary, 'ledger', 2);
  });
});
