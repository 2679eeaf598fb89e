/**
 * The drill's two HTTP requests (start a failover, confirm the quiesce), served by the Function app's
 * own HTTP-triggered handlers called in this process. Not a Functions host: it builds the request and
 * invocation context the host would pass and loads the handler's module, nothing more. The run's
 * queue-triggered work is `runQueueHost`'s (src/lib/failover/queueHost.ts).
 */
import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import type { StorageStrategy } from '../../src/lib/config/DrConfig.js';
import type { Deps } from '../../src/lib/deps.js';

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
  body: { mode: 'planned' | 'forced'; reason: string; requestedBy: string; strategy?: StorageStrategy },
  logLine: (line: string) => void,
): Promise<StartResponse> {
  const { failoverStart } = await importFunctionModule(() => import('../../src/functions/failoverStart.js'));
  const response = await failoverStart(
    postRequest(`${FUNCTIONS_BASE}/failover`, body),
    invocation('failoverStart', logLine),
    deps,
  );
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
  const { failoverConfirm } = await importFunctionModule(
    () => import('../../src/functions/failoverConfirm.js'),
  );
  const response = await failoverConfirm(
    postRequest(`${FUNCTIONS_BASE}/failover/${runId}/confirm`, body, { runId }),
    invocation('failoverConfirm', logLine),
    deps,
  );
  return { status: response.status ?? 200, body: (response.jsonBody ?? {}) as ConfirmResponse['body'] };
}

/** A JSON `POST` as the Functions host passes it to an HTTP-triggered handler. */
function postRequest(url: string, body: object, params: Record<string, string> = {}) {
  return new HttpRequest({
    method: 'POST',
    url,
    body: { string: JSON.stringify(body) },
    headers: { 'content-type': 'application/json' },
    params,
  });
}

/** An invocation context whose log lines go to `logLine`. */
function invocation(functionName: string, logLine: (line: string) => void) {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    logHandler: (_level, ...args) => logLine(args.map(String).join(' ')),
  });
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
