import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { handleAlert } from '../lib/failover/FailoverService.js';
import { parseAlert } from '../lib/failover/requests.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { json, readJson, startedStatusUrl, webhookErrorResponse } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';

/**
 * `POST /api/failover/alert`: an Azure Monitor action group webhook (common alert schema). A fired
 * alert about one of the pair's resources (or an allow-listed one) starts a run in the policy's mode
 * or joins the running one (202); a resolved alert, an alert about another resource, or the policy
 * "off", is answered 200 with the reason. A malformed payload is 400 naming the field; any other
 * failure is 503, so that the action group delivers the alert again.
 */
export async function failoverAlert(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  try {
    const alert = parseAlert(await readJson(request));
    const outcome = await handleAlert(failoverRuntime(withLogger(deps, logger)), alert);
    logger.info('failover.alert', {
      alertId: alert.alertId,
      condition: alert.monitorCondition,
      action: outcome.action,
      ...(outcome.action === 'ignored' ? {} : { runId: outcome.runId }),
    });
    if (outcome.action === 'ignored') return json(200, outcome);
    const location = startedStatusUrl(request.url, 'failover', outcome.runId);
    return json(202, { ...outcome, statusUrl: location }, { location });
  } catch (error) {
    return webhookErrorResponse(error, logger, 'failover.alert_failed');
  }
}

app.http('failoverAlert', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'failover/alert',
  handler: (request, context) => failoverAlert(request, context),
});
