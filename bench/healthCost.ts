import type { ClientRequest } from 'node:http';
import type https from 'node:https';
import type { LocalStack } from '../local/stack.js';
import { createDeps } from '../src/lib/deps.js';
import type { HealthCheckName } from '../src/lib/health/HealthReport.js';
import { runHealthCheck } from '../src/lib/health/runHealthCheck.js';
import { silentLogger } from '../src/lib/log.js';
import { type BenchContext, loadAverage, round } from './BenchContext.js';

/** Where a request went: the planes of the stack, told apart by port. */
type Plane = 'arm' | 'keyVault' | 'blob' | 'queue' | 'other';

interface CheckRun {
  wallInMs: number;
  requests: Record<Plane, number>;
  status: string;
}

export interface HealthCheckCost {
  check: HealthCheckName;
  runs: CheckRun[];
  /** ARM requests of each run after the first (the first also reads the configuration). */
  armCallsPerCheck: number[];
  /** The distinct ARM requests one warm check makes (method and path, without the query). */
  armRequests: string[];
  wallInMs: { first: number; median: number; mean: number; p95: number; min: number; max: number };
  loadAverage: number;
}

/**
 * Counts the requests leaving through an agent, by plane, from its `addRequest` (called once per
 * request by Node's `ClientRequest`). The local client factory sends every SDK request (ARM, Key
 * Vault, blob, queue) through its one agent; the stack's emulator has a request hook, but
 * `startLocalStack()` does not expose it.
 */
function countRequests(agent: https.Agent, planeOf: (port: number) => Plane) {
  const counts: Record<Plane, number> = { arm: 0, keyVault: 0, blob: 0, queue: 0, other: 0 };
  const arm: string[] = [];
  const target = agent as unknown as {
    addRequest(request: ClientRequest, options: { port?: number | string }, ...rest: unknown[]): void;
  };
  const original = target.addRequest;
  target.addRequest = function (request, options, ...rest) {
    const plane = planeOf(Number(options.port ?? 443));
    counts[plane] += 1;
    if (plane === 'arm') arm.push(`${request.method} ${request.path.split('?')[0]}`);
    return original.call(this, request, options, ...rest);
  };
  return {
    take(): { counts: Record<Plane, number>; arm: string[] } {
      const taken = { counts: { ...counts }, arm: [...arm] };
      for (const key of Object.keys(counts) as Plane[]) counts[key] = 0;
      arm.length = 0;
      return taken;
    },
    restore(): void {
      target.addRequest = original;
    },
  };
}

function planes(stack: LocalStack): (port: number) => Plane {
  const portOf = (url: string) => Number(new URL(url.replace('{account}', 'a')).port || 443);
  const table = new Map<number, Plane>([
    [portOf(stack.descriptor.armEndpoint), 'arm'],
    [portOf(stack.descriptor.keyVaultUrl), 'keyVault'],
    [portOf(stack.descriptor.blobEndpointTemplate), 'blob'],
    [portOf(stack.descriptor.queueEndpointTemplate), 'queue'],
  ]);
  return (port) => table.get(port) ?? 'other';
}

/**
 * Section 5: what one scheduled health check costs, run as the timer trigger runs it
 * (`runHealthCheck`: configuration, check, health history, log line), `runs` times per check, one
 * after the other, with the Function app's configuration cache. Counts requests by plane and times
 * each run.
 */
export async function measureHealthCost(ctx: BenchContext, runs: number): Promise<HealthCheckCost[]> {
  const agent = ctx.stack.clients.httpsAgent;
  if (!agent) throw new Error("The stack's client factory has no agent to count requests on.");
  const counter = countRequests(agent, planes(ctx.stack));
  const deps = createDeps(ctx.stack.settings, { clients: ctx.stack.clients, logger: silentLogger });
  const costs: HealthCheckCost[] = [];
  try {
    for (const check of ['storage', 'replica'] as const) {
      ctx.say(`health: ${runs} ${check} checks`);
      const results: CheckRun[] = [];
      let armRequests: string[] = [];
      counter.take();
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        const recorded = await runHealthCheck(check, deps);
        const wallInMs = round(performance.now() - started, 1);
        const { counts, arm } = counter.take();
        results.push({ wallInMs, requests: counts, status: recorded.report.status });
        if (i === runs - 1) armRequests = [...new Set(arm)];
      }
      const warm = results.length > 1 ? results.slice(1) : results;
      const sorted = warm.map((r) => r.wallInMs).sort((a, b) => a - b);
      const percentile = (p: number) =>
        sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
      costs.push({
        check,
        runs: results,
        armCallsPerCheck: warm.map((r) => r.requests.arm),
        armRequests,
        wallInMs: {
          first: results[0]?.wallInMs ?? 0,
          median: percentile(50),
          mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length), 1),
          p95: percentile(95),
          min: sorted[0] ?? 0,
          max: sorted.at(-1) ?? 0,
        },
        loadAverage: loadAverage(),
      });
      ctx.say(
        `    ${costs.at(-1)?.wallInMs.median} ms median, ARM calls ${costs.at(-1)?.armCallsPerCheck.join(',')}`,
      );
    }
  } finally {
    counter.restore();
  }
  return costs;
}
