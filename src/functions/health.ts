import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { ConfigError } from '../lib/errors.js';
import { getLatestReadiness } from '../lib/health/readiness.js';
import { contextLogger } from '../lib/log.js';
import { describeError } from '../lib/redact.js';

/**
 * `GET /api/health`: the latest combined readiness (worst status, combined RPO, planned-promote
 * eligibility, the failover's prerequisites, both reports) from the health history; it does not run
 * the checks.
 *
 * 200 when Healthy or Degraded (a failover would work; the body says how well), 503 when Unhealthy
 * (a failover would fail now, a prerequisite the doctor checks among the causes, or a check has never
 * reported; after a failover, a split brain or a promoted server that is down), so a plain availability probe alerts on what matters. 503 also when the history cannot be read, 500 when the app settings are wrong.
 */
export async function health(
  _request: HttpRequest,
  context: InvocationContext,
  processDeps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const deps = withLogger(processDeps, contextLogger(context));
  const headers = { 'cache-control': 'no-store' };
  try {
    const readiness = await getLatestReadiness(deps);
    return { status: readiness.status === 'Unhealthy' ? 503 : 200, headers, jsonBody: readiness };
  } catch (error) {
    const message = describeError(error);
    deps.logger.error('health.readFailed', { error: message });
    const config = error instanceof ConfigError;
    return {
      status: config ? 500 : 503,
      headers,
      jsonBody: { error: { code: config ? 'ConfigError' : 'HealthHistoryUnavailable', message } },
    };
  }
}

app.http('health', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health',
  handler: (request, context) => health(request, context),
});
