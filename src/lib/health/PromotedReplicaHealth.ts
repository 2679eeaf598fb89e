import type { DrConfig } from '../config/DrConfig.js';
import { ACTIVE_SECRETS } from '../config/secretNames.js';
import { statusOf } from '../errors.js';
import type { RecordedFailover } from '../failover/steps/record.js';
import { describeError } from '../redact.js';
import { ReportBuilder } from './HealthReport.js';
import { probeWritability } from './OldPrimaryWatch.js';
import type { ReplicaHealthDeps, ReplicaHealthOptions, ReplicaHealthReport } from './ReplicaHealth.js';

const REPLICA_ROLES = ['AsyncReplica', 'GeoAsyncReplica'];
const DOWN_STATES = ['Stopped', 'Stopping', 'Disabled', 'Dropping', 'Inaccessible'];

/**
 * The replica check once a failover is recorded (`kyvos-dr-last-failover-run-id`): the configured
 * replica is the promoted server, the primary Kyvos now writes to, so it is checked as such, not as a
 * replica (which it no longer is; judging it as one would make the check Unhealthy for good and hide
 * a real incident, such as a split brain, behind a permanent one).
 *
 * Degraded at best: the pair has no replica, so no failover is possible and the database RPO is not
 * measured, until a new DR pair is built and kyvos-dr reconfigured for it. Unhealthy when the
 * promoted server is missing, down, still a replica, or does not take writes (in recovery or
 * read-only): Kyvos could not write its metadata. A planned promote is never eligible.
 */
export async function checkPromotedReplica(
  config: DrConfig,
  deps: ReplicaHealthDeps,
  failover: RecordedFailover,
  options: Pick<ReplicaHealthOptions, 'abortSignal' | 'sqlTimeoutInMs'> = {},
): Promise<ReplicaHealthReport> {
  const checkedAt = deps.clock();
  const name = config.dr.replicaServer;
  const report = new ReportBuilder();
  Object.assign(report.facts, {
    server: name,
    resourceGroup: config.dr.resourceGroup,
    failedOver: true,
    failoverRunId: failover.runId,
    failedOverAt: failover.at ?? null,
    rpoNote: `no replica: this pair failed over in run ${failover.runId}`,
  });
  report.note(
    'Degraded',
    `This DR pair failed over in run ${failover.runId}${failover.at ? ` at ${failover.at}` : ''} (${ACTIVE_SECRETS.lastFailoverRunId}): "${name}" is the primary now and has no replica, so no failover is possible. Build a new DR pair and reconfigure kyvos-dr for it (runbook: "What cannot be undone").`,
  );

  const connection = config.dr.replicaConnection;
  const [management, sql] = await Promise.allSettled([
    deps.clients
      .postgresManagement(config.subscriptionId)
      .servers.get(config.dr.resourceGroup, name, { abortSignal: options.abortSignal }),
    connection ? probeWritability(connection, options.sqlTimeoutInMs ?? 10_000) : Promise.resolve(undefined),
  ]);

  if (management.status === 'fulfilled') {
    const server = management.value;
    const role = server.replica?.role ?? server.replicationRole ?? null;
    const state = server.state ?? null;
    Object.assign(report.facts, { exists: true, role, state });
    if (role && REPLICA_ROLES.includes(role)) {
      report.note(
        'Unhealthy',
        `"${name}" is still a read replica (role ${role}) although run ${failover.runId} recorded it as promoted: Kyvos cannot write to it. Retry that run (kyvos-dr retry ${failover.runId}) or promote it in the portal.`,
      );
    }
    if (state !== 'Ready') {
      const down = state !== null && DOWN_STATES.includes(state);
      report.note(
        down ? 'Unhealthy' : 'Degraded',
        down
          ? `"${name}", the primary since run ${failover.runId}, is ${state}: Kyvos's metadata repository is down${state === 'Stopped' ? `; start it: az postgres flexible-server start --name ${name} --resource-group ${config.dr.resourceGroup}` : ''}.`
          : `"${name}", the primary since run ${failover.runId}, is ${state ?? 'in an unknown state'}, not Ready: an operation is running on it.`,
      );
    }
  } else if (statusOf(management.reason) === 404) {
    report.facts.exists = false;
    report.note(
      'Unhealthy',
      `"${name}", the primary since run ${failover.runId}, was not found in resource group "${config.dr.resourceGroup}": Kyvos's metadata repository is gone.`,
    );
  } else {
    report.facts.managementError = describeError(management.reason);
    report.note(
      'Degraded',
      `The PostgreSQL management plane (ARM) did not answer for "${name}" (${describeError(management.reason)}): its state is unverified.`,
    );
  }

  if (!connection) {
    report.facts.sqlProbe = 'not configured';
  } else if (sql.status === 'rejected') {
    report.facts.sqlProbe = 'failed';
    report.facts.sqlError = describeError(sql.reason);
    report.note(
      'Degraded',
      `"${name}", the primary since run ${failover.runId}, does not answer SQL at ${connection.host}:${connection.port} (${describeError(sql.reason)}).`,
    );
  } else if (sql.value) {
    const { inRecovery, readOnly } = sql.value;
    Object.assign(report.facts, { sqlProbe: 'ok', inRecovery, readOnly });
    if (inRecovery || readOnly) {
      report.note(
        'Unhealthy',
        `"${name}", the primary since run ${failover.runId}, does not take writes: it is ${inRecovery ? 'in recovery (a standby)' : 'read-only (default_transaction_read_only or transaction_read_only is on)'}, so Kyvos cannot write its metadata.`,
      );
    }
  }

  const detail = `this DR pair already failed over (run ${failover.runId}): there is no replica to promote`;
  return {
    ...report.build('replica', null, checkedAt),
    check: 'replica',
    eligibleForPlannedPromote: false,
    eligibilityReasons: [detail],
    promoteConditions: [{ name: 'replicaRole', ok: false, detail }],
  };
}
