import { z } from 'zod';
import type { StorageStrategy } from '../config/DrConfig.js';
import { storageStrategy } from '../config/rules.js';
import { InputError } from '../errors.js';
import type { FailoverRequest, QuiesceConfirmation, RetryRequest } from './FailoverRun.js';
import { REQUESTED_BY_MAX_LENGTH, requestedByProblem } from './requester.js';

function reasonField(what: string) {
  return z
    .string({ error: `reason is required: say why ${what}` })
    .trim()
    .min(1, `reason is required: say why ${what}`)
    .max(1000, 'reason must be at most 1000 characters');
}

/** Who asks, as the caller writes it (body, `--requested-by`): bounded, no control or invisible characters. */
export const requestedByField = z
  .string({ error: 'requestedBy must be a string' })
  .trim()
  .max(REQUESTED_BY_MAX_LENGTH, `requestedBy must be at most ${REQUESTED_BY_MAX_LENGTH} characters`)
  .superRefine((value, context) => {
    const problem = requestedByProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  })
  .optional();

const STRATEGY_PROBLEM = 'strategy must be "copy" or "accountFailover" (also "account-failover")';

const failoverBody = z.object({
  mode: z.enum(['planned', 'forced'], { error: 'mode must be "planned" or "forced"' }),
  reason: reasonField('this failover is requested'),
  dryRun: z.boolean({ error: 'dryRun must be true or false' }).optional(),
  requestedBy: requestedByField,
  // The configuration's rule, so that the secret and the request accept the same spellings.
  strategy: z
    .string({ error: STRATEGY_PROBLEM })
    .transform((value, context): StorageStrategy => {
      const parsed = storageStrategy(value);
      if (parsed.ok) return parsed.value;
      context.addIssue({ code: 'custom', message: STRATEGY_PROBLEM });
      return z.NEVER;
    })
    .optional(),
});

const retryBody = z.object({
  reason: reasonField('the run is retried (what was fixed)'),
  requestedBy: requestedByField,
});

const confirmBody = z.object({
  kyvosStopped: z.literal(true, {
    error: 'kyvosStopped must be true: confirm only once Kyvos is stopped and writes nothing',
  }),
  requestedBy: requestedByField,
});

/**
 * Validates a JSON body with `schema`. Throws `InputError` naming the first field at fault; `shape`
 * shows the expected object when the body is not one.
 */
function parseBody<T extends z.ZodType>(schema: T, body: unknown, what: string, shape: string): z.infer<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError(`The request body must be a JSON object: ${shape}.`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || undefined;
    throw new InputError(`Invalid ${what}: ${issue?.message ?? 'invalid body'}.`, field);
  }
  return parsed.data;
}

/**
 * Parses the body of `POST /api/failover`. Throws `InputError` naming the first field at fault.
 * `requestedBy` is the authenticated principal when there is one (see `authenticatedPrincipal`),
 * else the body's, else `defaultRequester`; the body's is checked either way.
 */
export function parseFailoverRequest(
  body: unknown,
  defaultRequester = 'unknown',
  authenticatedPrincipal?: string,
): FailoverRequest {
  const data = parseBody(
    failoverBody,
    body,
    'failover request',
    '{"mode":"planned"|"forced","reason":"…","strategy"?:"copy"|"accountFailover"}',
  );
  return {
    mode: data.mode,
    reason: data.reason,
    dryRun: data.dryRun ?? false,
    requestedBy: authenticatedPrincipal ?? (data.requestedBy || defaultRequester),
    ...(data.strategy ? { strategy: data.strategy } : {}),
  };
}

/**
 * Parses the body of `POST /api/failover/{runId}/retry` (`{reason, requestedBy?}`). Throws
 * `InputError` naming the field at fault.
 */
export function parseRetryRequest(
  body: unknown,
  defaultRequester = 'unknown',
  authenticatedPrincipal?: string,
): RetryRequest {
  const data = parseBody(retryBody, body, 'retry request', '{"reason":"…"}');
  return {
    reason: data.reason,
    requestedBy: authenticatedPrincipal ?? (data.requestedBy || defaultRequester),
  };
}

/**
 * Parses the body of `POST /api/failover/{runId}/confirm` (`{"kyvosStopped": true, requestedBy?}`):
 * the operator states that Kyvos is stopped. Throws `InputError` naming the field at fault.
 */
export function parseConfirmRequest(
  body: unknown,
  defaultRequester = 'unknown',
  authenticatedPrincipal?: string,
): Pick<QuiesceConfirmation, 'confirmedBy'> {
  const data = parseBody(confirmBody, body, 'confirmation', '{"kyvosStopped":true}');
  return { confirmedBy: authenticatedPrincipal ?? (data.requestedBy || defaultRequester) };
}

/** The parts of an Azure Monitor common alert schema payload that decide what to do. */
export interface AlertNotification {
  alertId: string;
  alertRule: string;
  monitorCondition: 'Fired' | 'Resolved';
  /** `essentials.alertTargetIDs`: the ARM ids of the resources the alert fired on (at least one). */
  targetIds: string[];
  severity?: string;
  description?: string;
  firedDateTime?: string;
}

const TARGETS_FIELD = 'data.essentials.alertTargetIDs';
const TARGETS_SHAPE = `${TARGETS_FIELD} must be a non-empty array of ARM resource id strings (the resources the alert fired on)`;

const commonAlert = z.object({
  schemaId: z.literal('azureMonitorCommonAlertSchema', {
    error:
      'schemaId must be "azureMonitorCommonAlertSchema" (enable the common alert schema on the action group)',
  }),
  data: z.object({
    essentials: z.object({
      alertId: z.string({ error: 'data.essentials.alertId is required' }).min(1),
      alertRule: z.string().optional(),
      monitorCondition: z.enum(['Fired', 'Resolved'], {
        error: 'data.essentials.monitorCondition must be "Fired" or "Resolved"',
      }),
      // The common alert schema always sends it; without it nothing says which resource the alert is about.
      alertTargetIDs: z
        .array(z.string({ error: TARGETS_SHAPE }).trim().min(1, TARGETS_SHAPE), { error: TARGETS_SHAPE })
        .min(1, TARGETS_SHAPE),
      severity: z.string().optional(),
      description: z.string().optional().nullable(),
      firedDateTime: z.string().optional(),
    }),
  }),
});

/**
 * Parses an Azure Monitor alert sent with the common alert schema. Throws `InputError` naming the
 * field at fault; any fault in `alertTargetIDs` (missing, not an array, empty, an element that is not
 * a non-empty string) names `data.essentials.alertTargetIDs`.
 */
export function parseAlert(body: unknown): AlertNotification {
  const parsed = commonAlert.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.');
    throw new InputError(
      `Invalid alert payload: ${issue?.message ?? 'invalid body'}.`,
      field?.startsWith(TARGETS_FIELD) ? TARGETS_FIELD : field,
    );
  }
  const e = parsed.data.data.essentials;
  return {
    alertId: e.alertId,
    alertRule: e.alertRule ?? 'unknown rule',
    monitorCondition: e.monitorCondition,
    targetIds: e.alertTargetIDs,
    ...(e.severity ? { severity: e.severity } : {}),
    ...(e.description ? { description: e.description } : {}),
    ...(e.firedDateTime ? { firedDateTime: e.firedDateTime } : {}),
  };
}
