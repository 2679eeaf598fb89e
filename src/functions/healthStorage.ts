import { app, type InvocationContext, type Timer } from '@azure/functions';
import { APP_SETTINGS } from '../lib/config/secretNames.js';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { healthSchedule } from '../lib/health/healthSchedule.js';
import { runHealthCheck } from '../lib/health/runHealthCheck.js';
import { contextLogger } from '../lib/log.js';

/**
 * Checks storage geo-replication (RA-GRS SKU, geoReplicationStats, the secondary endpoint, the source
 * SAS) and records the result with its measured storage RPO. A past-due run still checks: a late
 * result is better than none, and the log line carries `pastDue`.
 */
export async function healthStorage(
  myTimer: Timer,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<void> {
  await runHealthCheck('storage', withLogger(deps, contextLogger(context)), {
    pastDue: myTimer.isPastDue,
  });
}

app.timer('healthStorage', {
  schedule: healthSchedule(APP_SETTINGS.healthStorageSchedule),
  handler: (myTimer, context) => healthStorage(myTimer, context),
});
