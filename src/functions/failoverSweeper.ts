import { app, type InvocationContext, type Timer } from '@azure/functions';
import { APP_SETTINGS } from '../lib/config/secretNames.js';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { sweeperOptionsFromSettings, sweepFailoverRuns } from '../lib/failover/sweeper.js';
import { healthSchedule } from '../lib/health/healthSchedule.js';
import { contextLogger } from '../lib/log.js';

/**
 * Finds the failover run that holds the lock and has stopped advancing (its advance messages failed
 * or were lost): re-advances it, and after a longer bound ends it Failed with the reason and releases
 * the lock. It needs only the app's storage, never Key Vault, so it works when the configuration
 * does not load.
 */
export async function failoverSweeper(
  myTimer: Timer,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<void> {
  const invocationDeps = withLogger(deps, contextLogger(context));
  const outcome = await sweepFailoverRuns(
    failoverRuntime(invocationDeps),
    sweeperOptionsFromSettings(deps.settings),
  );
  invocationDeps.logger.info('failover.sweeper', { ...outcome, pastDue: myTimer.isPastDue });
}

// The health timers' rule: the app setting's schedule when it is set, every five minutes otherwise.
app.timer('failoverSweeper', {
  schedule: healthSchedule(APP_SETTINGS.sweeperSchedule),
  handler: (myTimer, context) => failoverSweeper(myTimer, context),
});
