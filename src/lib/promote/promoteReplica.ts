import { delay } from '@azure/core-util';
import pg from 'pg';
import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig, PostgresConnection } from '../config/DrConfig.js';
import { pgClientConfig } from '../config/postgresConnectionString.js';
import { PreconditionFailed, statusOf } from '../errors.js';
import { describeError } from '../redact.js';
import { MissingWriteProofGrant, WRITE_PROOF_TABLE, writeProofRow } from './writeProof.js';

export interface PromoteOptions {
  option: 'Planned' | 'Forced';
  timeoutInMs: number;
  pollIntervalInMs: number;
  /** Written to the probe table to prove the promoted server accepts writes. */
  runId: string;
  abortSignal?: AbortSignal;
}

export interface PromoteResult {
  server: string;
  promoteMode: DrConfig['promoteMode'];
  promoteOption: PromoteOptions['option'];
  /** False when the server was already promoted (a retried step). */
  promotedNow: boolean;
  /** Proven by SQL: `pg_is_in_recovery()` is false and a write succeeded. */
  writable: boolean | null;
  writeCheck: string;
}

/**
 * Promotes the read replica in the DR region to a writable server through ARM, waits for the
 * long-running operation, then proves through SQL that it accepts writes.
 *
 * Idempotent: a replica that ARM already reports as a primary is not promoted again, so a worker
 * that resumes after a crash continues with the SQL proof.
 */
export async function promoteReplica(
  clients: ClientFactory,
  config: DrConfig,
  options: PromoteOptions,
): Promise<PromoteResult> {
  const arm = clients.postgresManagement(config.subscriptionId);
  const { resourceGroup, replicaServer } = config.dr;
  const server = await arm.servers.get(resourceGroup, replicaServer);
  const role = server.replica?.role ?? server.replicationRole;
  const alreadyPrimary = role === 'Primary' || (role === 'None' && !server.sourceServerResourceId);
  if (!alreadyPrimary && role !== 'AsyncReplica' && role !== 'GeoAsyncReplica') {
    throw new PreconditionFailed(
      `Cannot promote "${replicaServer}" (${resourceGroup}): its replication role is ${role ?? 'unknown'}, not a read replica.`,
    );
  }
  if (!alreadyPrimary) {
    const signal = combineSignals(options.abortSignal, AbortSignal.timeout(options.timeoutInMs));
    try {
      await arm.servers.beginUpdateAndWait(
        resourceGroup,
        replicaServer,
        { replica: { promoteMode: config.promoteMode, promoteOption: options.option } },
        { updateIntervalInMs: options.pollIntervalInMs, abortSignal: signal },
      );
    } catch (error) {
      if (signal.aborted && !options.abortSignal?.aborted) {
        throw new Error(
          `Promoting "${replicaServer}" (${resourceGroup}) did not finish within ${Math.round(options.timeoutInMs / 1000)} s; check the server in the portal before retrying.`,
          { cause: error },
        );
      }
      // A retry keeps the run's mode: a planned run whose primary went down since preflight fails
      // here (Azure refuses a Planned promote unless both servers are available), so say how out.
      // A 403 is the identity's roles, not the servers: ARM may have started the promote and denied
      // only its status (docs/rbac.md, "Kyvos DR Operation Status Reader").
      const advice =
        statusOf(error) === 403
          ? ` (${describeError(error)}). The identity lacks a role of infra/ (docs/rbac.md); the promote may have started anyway, so check the replica in the portal before retrying.`
          : options.option === 'Planned'
            ? ` (${describeError(error)}). A planned promote needs the primary server ${config.primary.postgresServer} available; if the primary region is down, start a new failover with mode forced.`
            : '';
      throw new Error(
        `Cannot promote replica "${replicaServer}" (${resourceGroup}) with promoteOption ${options.option}${advice}`,
        { cause: error },
      );
    }
  }
  let writable: boolean | null = null;
  let writeCheck = 'no connection string configured for the replica (kyvos-dr-replica-connection-string)';
  if (config.dr.replicaConnection) {
    await proveWritable(config.dr.replicaConnection, options.runId, Math.min(options.timeoutInMs, 60_000));
    writable = true;
    writeCheck = `pg_is_in_recovery() = false and a write to ${WRITE_PROOF_TABLE} succeeded`;
  }
  return {
    server: replicaServer,
    promoteMode: config.promoteMode,
    promoteOption: options.option,
    promotedNow: !alreadyPrimary,
    writable,
    writeCheck,
  };
}

/**
 * Connects with the probe connection and waits until the server is out of recovery and takes a
 * write into the write proof's table (`writeProof.ts`). A missing table or grant fails at once.
 */
export async function proveWritable(
  connection: PostgresConnection,
  runId: string,
  timeoutInMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  let lastProblem = '';
  while (Date.now() < deadline) {
    const client = new pg.Client(
      pgClientConfig(connection, { timeoutInMs: 10_000, applicationName: 'kyvos-dr-failover' }),
    );
    client.on('error', () => {});
    try {
      await client.connect();
      const [row] = (await client.query('SELECT pg_is_in_recovery() AS in_recovery')).rows as Array<{
        in_recovery: boolean;
      }>;
      if (row?.in_recovery === false) {
        await writeProofRow(client, runId);
        return;
      }
      lastProblem = 'the server is still in recovery';
    } catch (error) {
      if (error instanceof MissingWriteProofGrant) {
        throw new Error(
          `The promoted server ${connection.host}:${connection.port} is out of recovery, but its write cannot be proven. ${error.message}`,
          { cause: error },
        );
      }
      lastProblem = describeError(error);
    } finally {
      await client.end().catch(() => {});
    }
    await delay(500);
  }
  throw new Error(
    `The promoted server ${connection.host}:${connection.port} does not accept writes after ${Math.round(timeoutInMs / 1000)} s: ${lastProblem}.`,
  );
}

function combineSignals(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}
