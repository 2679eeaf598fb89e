import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps, withLogger } from '../lib/deps.js';
import { authenticatedPrincipal } from '../lib/failover/requester.js';
import { errorResponse, json, readJson, startedStatusUrl } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';
import { enqueueRehearsal, rehearsalRuntime, startRehearsal } from '../lib/rehearsal/RehearsalService.js';
import { parseRehearsalRequest } from '../lib/rehearsal/requests.js';

/**
 * `POST /api/rehearsal` `{sampleBlobs?, sampleBytes?, instances?, requestedBy?}` (an empty body for
 * the defaults) → 202 with the rehearsal id and a `Location` status URL. The rehearsal runs on the
 * rehearsal queue's worker; 409 while a failover runs.
 */
export async function rehearsalStart(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  try {
    const body = parseRehearsalRequest(
      await readJson(request, { allowEmpty: true }),
      'http',
      authenticatedPrincipal(request.headers, deps.settings),
    );
    const runtime = rehearsalRuntime(withLogger(deps, logger));
    const record = await startRehearsal(runtime, body);
    await enqueueRehearsal(runtime, record.rehearsalId);
    const location = startedStatusUrl(request.url, 'rehearsal', record.rehearsalId);
    return json(
      202,
      { rehearsalId: record.rehearsalId, state: record.state, statusUrl: location },
      { location, 'retry-after': '30' },
    );
  } catch (error) {
    return errorResponse(error, logger, 'rehearsal.start_failed');
  }
}

app.http('rehearsalStart', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'rehearsal',
  handler: (request, context) => rehearsalStart(request, context),
});
