import type { HttpResponseInit } from '@azure/functions';
import {
  ConfigError,
  FailoverInProgress,
  InputError,
  RunNotFound,
  RunNotRetryable,
  RunNotWaiting,
} from './errors.js';
import { RUN_ID_PATTERN } from './failover/FailoverRun.js';
import type { Logger } from './log.js';
import { describeError } from './redact.js';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json', ...headers } };
}

/** Reads a JSON body; bad JSON is an `InputError`, never a thrown `SyntaxError`. */
export async function readJson(
  request: { text(): Promise<string> },
  options: { allowEmpty?: boolean } = {},
): Promise<unknown> {
  const text = await request.text();
  if (!text.trim()) {
    if (options.allowEmpty) return undefined;
    throw new InputError('The request body is empty; send a JSON object.');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError('The request body is not valid JSON.');
  }
}

/**
 * Maps an error to a response an operator can act on: 400 for bad input, 404 for an unknown run, 409
 * for a running failover, a run that cannot be retried or is not waiting for a confirmation, 500 with the (redacted) reason for
 * configuration problems and everything else.
 */
export function errorResponse(error: unknown, logger: Logger, event: string): HttpResponseInit {
  if (error instanceof InputError)
    return json(400, { error: { code: 'BadRequest', message: error.message, field: error.field ?? null } });
  if (error instanceof FailoverInProgress) {
    return json(409, { error: { code: 'FailoverInProgress', message: error.message, runId: error.runId } });
  }
  if (error instanceof RunNotFound) return json(404, { error: { code: 'NotFound', message: error.message } });
  if (error instanceof RunNotRetryable) {
    return json(409, {
      error: { code: 'RunNotRetryable', message: error.message, runId: error.runId, state: error.state },
    });
  }
  if (error instanceof RunNotWaiting) {
    return json(409, {
      error: { code: 'RunNotWaiting', message: error.message, runId: error.runId, state: error.state },
    });
  }
  const message = describeError(error);
  logger.error(event, { error: message });
  if (error instanceof ConfigError) {
    return json(500, { error: { code: 'ConfigError', message, setting: error.setting ?? null } });
  }
  return json(500, { error: { code: 'InternalError', message } });
}

/**
 * `errorResponse` for an Azure Monitor action group's webhook call. An action group delivers a
 * webhook again only on 408, 429, 503 and 504 (and on no answer), never on 500
 * (https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups, webhook retry rules), so a
 * failure that is not the payload's fault answers 503 with `Retry-After`: the alert is delivered
 * again rather than lost. Bad input stays 400: delivering it again cannot help.
 */
export function webhookErrorResponse(error: unknown, logger: Logger, event: string): HttpResponseInit {
  const response = errorResponse(error, logger, event);
  if (response.status !== 500) return response;
  return {
    ...response,
    status: 503,
    headers: { ...(response.headers as Record<string, string>), 'retry-after': '5' },
  };
}

/** `400` naming the `runId` route parameter when it is not a failover run id; undefined when it is. */
export function badRunId(runId: string): HttpResponseInit | undefined {
  return badRouteId(runId, RUN_ID_PATTERN, 'runId', 'a failover run id');
}

/** `400` naming the route parameter `field` when `value` is not `what`; undefined when it is. */
export function badRouteId(
  value: string,
  pattern: RegExp,
  field: string,
  what: string,
): HttpResponseInit | undefined {
  if (pattern.test(value)) return undefined;
  return json(400, {
    error: { code: 'BadRequest', message: `"${value.slice(0, 80)}" is not ${what}.`, field },
  });
}

/**
 * The status URL of what a POST started, beside the route it was posted to, without the function key:
 * `https://host/api/failover?code=…` or `https://host/api/failover/alert` with `('failover', id)` →
 * `https://host/api/failover/<id>`; `https://host/api/rehearsal` with `('rehearsal', id)` →
 * `https://host/api/rehearsal/<id>`.
 */
export function startedStatusUrl(postedUrl: string, collection: string, id: string): string {
  const u = new URL(postedUrl);
  u.search = '';
  const at = u.pathname.lastIndexOf(`/${collection}`);
  const base = at >= 0 ? u.pathname.slice(0, at) : u.pathname.replace(/\/+$/, '');
  u.pathname = `${base}/${collection}/${id}`;
  return u.toString();
}

/**
 * The status URL of the run an action was posted to: `https://host/api/failover/<id>/<action>?code=…`
 * → `https://host/api/failover/<id>` (no function key in it).
 */
export function runStatusUrl(actionUrl: string, action: string): string {
  const u = new URL(actionUrl);
  u.search = '';
  u.pathname = u.pathname.replace(new RegExp(`/${action}/?$`), '');
  return u.toString();
}
