import type { DrConfig } from '../config/DrConfig.js';
import type { Deps } from '../deps.js';
import { combineReadiness, type Readiness } from './readiness.js';
import { runHealthCheck } from './runHealthCheck.js';

/**
 * Runs both health checks afresh (each recorded in the health history like the timer's) and
 * combines them: the readiness a failover decides on. The checks only observe: the split-brain
 * auto-fence, which only the health timers may use to stop an old primary, is off here, so that a
 * dry run or a rehearsal changes nothing.
 */
export async function checkReadinessNow(
  deps: Omit<Deps, 'config'>,
  config: DrConfig,
  options: { abortSignal?: AbortSignal } = {},
): Promise<Readiness> {
  const observing: Deps = {
    settings: deps.settings,
    clients: deps.clients,
    config: async () => ({ ...config, splitBrainAutoFence: false }),
    logger: deps.logger,
    clock: deps.clock,
    appStorageAccount: deps.appStorageAccount,
    ...(deps.doctorChecks ? { doctorChecks: deps.doctorChecks } : {}),
  };
  const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  const [storage, replica] = await Promise.all([
    runHealthCheck('storage', observing, abort),
    runHealthCheck('replica', observing, abort),
  ]);
  return combineReadiness(storage, replica, { now: deps.clock() });
}
