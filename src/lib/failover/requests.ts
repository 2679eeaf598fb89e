import { z } from 'zod';
import { InputError } from '../errors.js';
import type { FailoverRequest } from './FailoverRun.js';

const failoverBody = z.object({
  mode: z.enum(['planned', 'forced'], { error: 'mode must be "planned" or "forced"' }),
  reason: z
    .string({ error: 'reason is required: say why this failover is requested' })
    .trim()
    .min(1, 'reason is required: say why this failover is requested')
    .max(1000, 'reason must be at most 1000 characters'),
  dryRun: z.boolean({ error: 'dryRun must be true or false' }).optional(),
  requestedBy: z.string({ error: 'requestedBy must be a string' }).trim().max(200).optional(),
});

/**
 * Parses the body of `POST /api/failover`. Throws `InputError` naming the first field at fault.
 */
export function parseFailoverRequest(body: unknown, defaultRequester = 'unknown'): FailoverRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('The request body must be a JSON object: {"mode":"planned"|"forced","reason":"…"}.');
  }
  const parsed = failoverBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || undefined;
    throw new InputError(`Invalid failover request: ${issue?.message ?? 'invalid body'}.`, field);
  }
  return {
    mode: parsed.data.mode,
    reason: parsed.data.reason,
    dryRun: parsed.data.dryRun ?? false,
    requestedBy: parsed.data.requestedBy || defaultRequester,
  };
}

/** The parts of an Azure Monitor common alert schema payload that decide what to do. */
export interface AlertNotification {
  alertId: string;
  alertRule: string;
  monitorCondition: 'Fired' | 'Resolved';
  severity?: string;
  description?: string;
  firedDateTime?: string;
}

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
      severity: z.string().optional(),
      description: z.string().optional().nullable(),
      firedDateTime: z.string().optional(),
    }),
  }),
});

/** Parses an Azure Monitor alert sent with the common alert schema. Throws `InputError`. */
export function parseAlert(body: unknown): AlertNotification {
  const parsed = commonAlert.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      `Invalid alert payload: ${issue?.message ?? 'invalid body'}.`,
      issue?.path.join('.'),
    );
  }
  const e = parsed.data.data.essentials;
  return {
    alertId: e.alertId,
    alertRule: e.alertRule ?? 'unknown rule',
    monitorCondition: e.monitorCondition,
    ...(e.severity ? { severity: e.severity } : {}),
    ...(e.description ? { description: e.description } : {}),
    ...(e.firedDateTime ? { firedDateTime: e.firedDateTime } : {}),
  };
}
