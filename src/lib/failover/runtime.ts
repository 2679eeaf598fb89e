import type { ClientFactory } from '../clients/ClientFactory.js';
import type { Deps } from '../deps.js';
import { createFailoverRuntime, type FailoverDeps, type FailoverRuntime } from './FailoverService.js';

const runtimes = new WeakMap<ClientFactory, FailoverRuntime>();

/**
 * The failover runtime of a set of dependencies. Its storage clients are built once per client
 * factory; the dependencies themselves (a Functions invocation's logger) are those given.
 */
export function failoverRuntime(deps: Deps | FailoverDeps): FailoverRuntime {
  let base = runtimes.get(deps.clients);
  if (!base) {
    base = createFailoverRuntime(deps);
    runtimes.set(deps.clients, base);
  }
  if (base.deps === deps) return base;
  return { ...base, deps, options: createFailoverRuntime.optionsOf(deps) };
}
