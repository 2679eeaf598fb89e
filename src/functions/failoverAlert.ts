import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { handleAlert } from '../lib/failover/FailoverService.js';
import { parseAlert } from '../lib/failover/requests.js';
import { failoverRuntime } from '../lib/failover/runtime.js';
import { errorResponse, json, readJson } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';

/**
 * `POST /api/failover/alert`: an Azure Monitor action group webhook (common alert schema). A fired
 * alert starts a run in the policy's mode or joins the running one (202); a resolved alert, or the
 * policy "off", is answered 200 with the reason.
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
    });
    if (outcome.action === 'ignored') return json(200, outcome);
    const location = new URL(outcome.runId, request.url.replace(/\?.*$/, '')).toString();
    return json(202, { ...outcome, statusUrl: location }, { location });
  } catch (error) {
    return errorResponse(error, logger, 'failover.alert_failed');
  }
}

app.http('failoverAlert', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'failover/alert',
  handler: (request, context) => failoverAlert(request, context),
});
