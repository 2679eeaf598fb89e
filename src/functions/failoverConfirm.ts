import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { confirmQuiesce } from '../lib/failover/confirmQuiesce.js';
import { authenticatedPrincipal } from '../lib/failover/requester.js';
import { parseConfirmRequest } from '../lib/failover/requests.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { badRunId, errorResponse, json, readJson, runStatusUrl } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';

/**
 * `POST /api/failover/{runId}/confirm` `{"kyvosStopped": true, requestedBy?}` → 202 with the status
 * URL: the operator confirms that Kyvos is stopped, and a planned run paused at its quiesce goes on.
 * 400 for a bad body, naming the field; 404 for an unknown run; 409 `RunNotWaiting` when the run is
 * not paused waiting for a confirmation (ended, forced, not there yet, already confirmed).
 */
export async function failoverConfirm(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  const runId = request.params.runId ?? '';
  try {
    const invalid = badRunId(runId);
    if (invalid) return invalid;
    const confirmation = parseConfirmRequest(
      await readJson(request),
      'http',
      authenticatedPrincipal(request.headers, deps.settings),
    );
    const run = await confirmQuiesce(failoverRuntime(withLogger(deps, logger)), runId, confirmation);
    const location = runStatusUrl(request.url, 'confirm');
    return json(
      202,
      {
        runId: run.runId,
        state: run.state,
        quiescedAt: run.quiesce?.confirmedAt,
        confirmedBy: run.quiesce?.confirmedBy,
        statusUrl: location,
      },
      { location, 'retry-after': '10' },
    );
  } catch (error) {
    return errorResponse(error, logger, 'failover.confirm_failed');
  }
}

app.http('failoverConfirm', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'failover/{runId}/confirm',
  handler: (request, context) => failoverConfirm(request, context),
});
