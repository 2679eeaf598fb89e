import { z } from 'zod';
import { InputError } from '../errors.js';
import { requestedByField } from '../failover/requests.js';
import type { RehearsalRequest } from './Rehearsal.js';
import { DEFAULT_SAMPLE_LIMITS } from './sampleSelection.js';

const body = z.object({
  sampleBlobs: z
    .number({ error: 'sampleBlobs must be a whole number of at least 1' })
    .int('sampleBlobs must be a whole number of at least 1')
    .min(1, 'sampleBlobs must be a whole number of at least 1')
    .optional(),
  sampleBytes: z
    .number({ error: 'sampleBytes must be a whole number of at least 0' })
    .int('sampleBytes must be a whole number of at least 0')
    .min(0, 'sampleBytes must be a whole number of at least 0')
    .optional(),
  instances: z
    .number({ error: 'instances must be a whole number from 1 to 1000' })
    .int('instances must be a whole number from 1 to 1000')
    .min(1, 'instances must be a whole number from 1 to 1000')
    .max(1000, 'instances must be a whole number from 1 to 1000')
    .optional(),
  requestedBy: requestedByField,
});

/**
 * Parses the body of `POST /api/rehearsal` (`{sampleBlobs?, sampleBytes?, instances?, requestedBy?}`,
 * an empty body for the defaults) and the CLI's flags alike. Throws `InputError` naming the field at
 * fault. `requestedBy` is the authenticated principal when there is one.
 */
export function parseRehearsalRequest(
  input: unknown,
  defaultRequester = 'unknown',
  authenticatedPrincipal?: string,
): RehearsalRequest {
  const value = input ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(
      'The request body must be a JSON object: {"sampleBlobs":1000,"sampleBytes":1073741824}.',
    );
  }
  const parsed = body.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      `Invalid rehearsal request: ${issue?.message ?? 'invalid body'}.`,
      issue?.path.join('.'),
    );
  }
  const data = parsed.data;
  return {
    sample: {
      maxBlobs: data.sampleBlobs ?? DEFAULT_SAMPLE_LIMITS.maxBlobs,
      maxBytes: data.sampleBytes ?? DEFAULT_SAMPLE_LIMITS.maxBytes,
    },
    instances: data.instances ?? 1,
    requestedBy: authenticatedPrincipal ?? (data.requestedBy || defaultRequester),
  };
}
