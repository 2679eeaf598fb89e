import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps } from '../lib/deps.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { runStatus } from '../lib/failover/status.js';
import { badRunId, errorResponse, json } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';

/**
 * `GET /api/failover/{runId}` → the run's state, what it is waiting for, steps, progress, decision,
 * errors and report.
 */
export async function failoverStatus(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  const runId = request.params.runId ?? '';
  const invalid = badRunId(runId);
  if (invalid) return invalid;
  try {
    const run = await failoverRuntime(deps).store.get(runId);
    if (!run) return json(404, { error: { code: 'NotFound', message: `No failover run ${runId}.` } });
    return json(200, runStatus(run, deps.clock()), run.state === 'Running' ? { 'retry-after': '10' } : {});
  } catch (error) {
    return errorResponse(error, logger, 'failover.status_failed');
  }
}

app.http('failoverStatus', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'failover/{runId}',
  handler: (request, context) => failoverStatus(request, context),
});
