import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { retryFailover } from '../lib/failover/FailoverService.js';
import { authenticatedPrincipal } from '../lib/failover/requester.js';
import { parseRetryRequest } from '../lib/failover/requests.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { badRunId, errorResponse, json, readJson, runStatusUrl } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';

/**
 * `POST /api/failover/{runId}/retry` `{reason, requestedBy?}` → 202 with the status URL: a run that
 * ended Failed runs again from its failed steps, keeping what succeeded. 404 for an unknown run;
 * 409 `RunNotRetryable` when it is running, succeeded or was refused; 409 `FailoverInProgress`
 * when another run holds the lock.
 */
export async function failoverRetry(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  const runId = request.params.runId ?? '';
  try {
    const invalid = badRunId(runId);
    if (invalid) return invalid;
    const retry = parseRetryRequest(
      await readJson(request),
      'http',
      authenticatedPrincipal(request.headers, deps.settings),
    );
    const run = await retryFailover(failoverRuntime(withLogger(deps, logger)), runId, retry);
    const location = runStatusUrl(request.url, 'retry');
    return json(
      202,
      { runId: run.runId, state: run.state, retries: run.retries?.length ?? 0, statusUrl: location },
      { location, 'retry-after': '10' },
    );
  } catch (error) {
    return errorResponse(error, logger, 'failover.retry_failed');
  }
}

app.http('failoverRetry', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'failover/{runId}/retry',
  handler: (request, context) => failoverRetry(request, context),
});
