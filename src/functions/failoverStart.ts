import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { startFailover } from '../lib/failover/FailoverService.js';
import { authenticatedPrincipal } from '../lib/failover/requester.js';
import { parseFailoverRequest } from '../lib/failover/requests.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { errorResponse, json, readJson, startedStatusUrl } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';

/**
 * `POST /api/failover` `{mode: "planned"|"forced", reason, dryRun?, requestedBy?}` → 202 with the run
 * id and a `Location` status URL. The work continues on the queue workers.
 */
export async function failoverStart(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  try {
    const body = parseFailoverRequest(
      await readJson(request),
      'http',
      authenticatedPrincipal(request.headers, deps.settings),
    );
    const run = await startFailover(failoverRuntime(withLogger(deps, logger)), body);
    const location = startedStatusUrl(request.url, 'failover', run.runId);
    return json(
      202,
      { runId: run.runId, state: run.state, statusUrl: location },
      { location, 'retry-after': '10' },
    );
  } catch (error) {
    return errorResponse(error, logger, 'failover.start_failed');
  }
}

app.http('failoverStart', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'failover',
  handler: (request, context) => failoverStart(request, context),
});
