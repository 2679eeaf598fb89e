import type { Deps } from '../deps.js';
import { createFailoverRuntime, type FailoverRuntime } from './FailoverService.js';

const runtimes = new WeakMap<Deps, FailoverRuntime>();

/** The failover runtime of a set of dependencies, built once. */
export function failoverRuntime(deps: Deps): FailoverRuntime {
  let runtime = runtimes.get(deps);
  if (!runtime) {
    runtime = createFailoverRuntime(deps);
    runtimes.set(deps, runtime);
  }
  return runtime;
}
