import type { LocalStack } from '../../local/stack.js';
import type { DoctorContext } from '../../src/lib/doctor/doctorCheck.js';
import { stackDeps } from './healthStack.js';

/** What the doctor's checks get on a running local stack: the app's configuration, clients and settings. */
export async function stackDoctorContext(stack: LocalStack): Promise<DoctorContext> {
  const deps = stackDeps(stack);
  return {
    config: await deps.config(),
    clients: deps.clients,
    settings: deps.settings,
    clock: deps.clock,
    logger: deps.logger,
  };
}
