import { RestError } from '@azure/core-rest-pipeline';

/** An error as the SDK throws it for a failed request: status, error code and parsed `details`. */
export function restError(statusCode: number | undefined, code?: string, details?: unknown): RestError {
  const error = new RestError('The service said no.', {
    ...(statusCode ? { statusCode } : {}),
    ...(code ? { code } : {}),
  });
  if (details) error.details = details;
  return error;
}
