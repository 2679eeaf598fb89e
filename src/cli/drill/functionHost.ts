import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import type { Deps } from '../../lib/deps.js';

// The package is CommonJS whose exports Node's ESM loader cannot list (only `app` is found), so its
// classes are read from the default export.
const { HttpRequest, InvocationContext } = functions;

/** The base URL the Functions host serves locally (`func start`); the status URL is built from it. */
const FUNCTIONS_BASE = 'http://localhost:7071/api';

export interface StartResponse {
  status: number;
  body: { runId?: string; statusUrl?: string; error?: { code?: string; message?: string } };
}

/**
 * `POST /api/failover` through the Function app's own handler, in this process: the request the
 * Functions host would pass, with the invocation's log lines sent to `logLine`.
 */
export async function postFailover(
  deps: Deps,
  body: { mode: 'planned' | 'forced'; reason: string; requestedBy: string },
  logLine: (line: string) => void,
): Promise<StartResponse> {
  const { failoverStart } = await importFunctionModule(() => import('../../functions/failoverStart.js'));
  const request = new HttpRequest({
    method: 'POST',
    url: `${FUNCTIONS_BASE}/failover`,
    body: { string: JSON.stringify(body) },
    headers: { 'content-type': 'application/json' },
  });
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: 'failoverStart',
    logHandler: (_level, ...args) => logLine(args.map(String).join(' ')),
  });
  const response = await failoverStart(request, context, deps);
  return { status: response.status ?? 200, body: (response.jsonBody ?? {}) as StartResponse['body'] };
}

export interface ConfirmResponse {
  status: number;
  body: { quiescedAt?: string; confirmedBy?: string; error?: { code?: string; message?: string } };
}

/**
 * `POST /api/failover/{runId}/confirm` through the Function app's own handler, in this process: the
 * operator's word that Kyvos is stopped.
 */
export async function postConfirm(
  deps: Deps,
  runId: string,
  body: { kyvosStopped: true; requestedBy: string },
  logLine: (line: string) => void,
): Promise<ConfirmResponse> {
  const { failoverConfirm } = await importFunctionModule(() => import('../../functions/failoverConfirm.js'));
  const request = new HttpRequest({
    method: 'POST',
    url: `${FUNCTIONS_BASE}/failover/${runId}/confirm`,
    body: { string: JSON.stringify(body) },
    headers: { 'content-type': 'application/json' },
    params: { runId },
  });
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: 'failoverConfirm',
    logHandler: (_level, ...args) => logLine(args.map(String).join(' ')),
  });
  const response = await failoverConfirm(request, context, deps);
  return { status: response.status ?? 200, body: (response.jsonBody ?? {}) as ConfirmResponse['body'] };
}

/**
 * Imports a Function module. Each module registers its trigger with the host when imported; outside
 * the host, `@azure/functions` says on the console that it skips the registration. The handler is
 * called directly here, so those two warnings are dropped; any other warning passes.
 */
async function importFunctionModule<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('"@azure/functions" package')) warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}
