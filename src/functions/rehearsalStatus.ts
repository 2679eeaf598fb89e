import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps } from '../lib/deps.js';
import { badRouteId, errorResponse, json } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';
import { REHEARSAL_ID_PATTERN } from '../lib/rehearsal/Rehearsal.js';
import { rehearsalRuntime } from '../lib/rehearsal/RehearsalService.js';

/** `GET /api/rehearsal/{rehearsalId}` → the rehearsal's record: state, phase, problems and its evidence report. */
export async function rehearsalStatus(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  const rehearsalId = request.params.rehearsalId ?? '';
  const invalid = badRouteId(rehearsalId, REHEARSAL_ID_PATTERN, 'rehearsalId', 'a rehearsal id');
  if (invalid) return invalid;
  try {
    const record = await rehearsalRuntime(deps).rehearsals.get(rehearsalId);
    if (!record) return json(404, { error: { code: 'NotFound', message: `No rehearsal ${rehearsalId}.` } });
    const ongoing = record.state === 'Queued' || record.state === 'Running';
    return json(200, record, ongoing ? { 'retry-after': '30' } : {});
  } catch (error) {
    return errorResponse(error, logger, 'rehearsal.status_failed');
  }
}

app.http('rehearsalStatus', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'rehearsal/{rehearsalId}',
  handler: (request, context) => rehearsalStatus(request, context),
});
