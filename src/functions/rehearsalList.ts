import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { type Deps, getDeps } from '../lib/deps.js';
import { errorResponse, json } from '../lib/http.js';
import { contextLogger } from '../lib/log.js';
import { rehearsalRuntime } from '../lib/rehearsal/RehearsalService.js';
import { rehearsalSummary } from '../lib/rehearsal/rehearsalSummary.js';

/** `GET /api/rehearsal?limit=20` → the latest rehearsals, newest first, each summarised (its figures and problems). */
export async function rehearsalList(
  request: HttpRequest,
  context: InvocationContext,
  deps: Deps = getDeps(),
): Promise<HttpResponseInit> {
  const logger = contextLogger(context);
  const raw = request.query.get('limit');
  const limit = raw === null ? 20 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return json(400, {
      error: { code: 'BadRequest', message: 'limit must be a whole number from 1 to 500.', field: 'limit' },
    });
  }
  try {
    const records = await rehearsalRuntime(deps).rehearsals.list({ limit });
    return json(200, { rehearsals: records.map(rehearsalSummary) });
  } catch (error) {
    return errorResponse(error, logger, 'rehearsal.list_failed');
  }
}

// The same route as rehearsalStart, for another method: the host matches a route with its methods
// (Azure/azure-functions-host#763), and two functions of distinct names may share a route
// (Azure/azure-functions-nodejs-library#243).
app.http('rehearsalList', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'rehearsal',
  handler: (request, context) => rehearsalList(request, context),
});
