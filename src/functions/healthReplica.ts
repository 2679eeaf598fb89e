import { app, type InvocationContext, type Timer } from '@azure/functions';
import { APP_SETTINGS } from '../lib/config/secretNames.js';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { healthSchedule } from '../lib/health/healthSchedule.js';
import { runHealthCheck } from '../lib/health/runHealthCheck.js';
import { contextLogger } from '../lib/log.js';

/**
 * Checks the PostgreSQL read replica (existence, region, role, state, replicationState, measured lag)
 * and records the result with its database RPO and planned-promote eligibility. After a failover it
 * checks the promoted server as the primary and watches the old primary for split brain
 * (`OldPrimaryWatch`). A past-due run still checks, and the log line carries `pastDue`.
 */
export async function healthReplica(
  myTimer: Timer,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<void> {
  await runHealthCheck('replica', withLogger(deps, contextLogger(context)), {
    pastDue: myTimer.isPastDue,
  });
}

app.timer('healthReplica', {
  schedule: healthSchedule(APP_SETTINGS.healthReplicaSchedule),
  handler: (myTimer, context) => healthReplica(myTimer, context),
});
