import { describeError } from '../../src/lib/redact.js';

/**
 * Errors of the emulated control plane, in the ARM wire format `{"error":{"code","message"}}`.
 *
 * Codes are the ones Azure answers in the same situation where one is documented
 * (`ResourceNotFound`, `MissingApiVersionParameter`, `InvalidRequestContent`, `TooManyRequests`, …).
 * Situations that only exist on the local stack (an account Azurite was not started with) get a
 * descriptive code and a message that says what the local stack can and cannot do.
 */
export class ArmError extends Error {
  override readonly name = 'ArmError';
  readonly isArmError = true;
  constructor(
    /** HTTP status of the response. */
    readonly status: number,
    /** `error.code` of the response body. */
    readonly code: string,
    message: string,
    /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The response body: `{"error":{"code","message"}}`. */
  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isArmError(value: unknown): value is ArmError {
  return value instanceof ArmError;
}

export function missingApiVersion(): ArmError {
  return new ArmError(
    400,
    'MissingApiVersionParameter',
    'The api-version query parameter (?api-version=) is required for all requests.',
  );
}

export function invalidRequestContent(detail: string): ArmError {
  return new ArmError(
    400,
    'InvalidRequestContent',
    `The request content was invalid and could not be deserialized: ${detail}`,
  );
}

export function routeNotFound(method: string, path: string): ArmError {
  return new ArmError(
    404,
    'NotFound',
    `The local control-plane emulator does not serve ${method} ${path}. It serves Microsoft.Storage ` +
      'storageAccounts (get, create, listKeys, failover, blob containers) and Microsoft.DBforPostgreSQL ' +
      'flexibleServers (get, promote replica, start, stop, list replicas, virtual endpoints), the Key Vault ' +
      'resource (get) and Microsoft.Authorization permissions (list for a resource group or a resource).',
  );
}

export function methodNotAllowed(method: string, path: string, allowed: string[]): ArmError {
  return new ArmError(
    405,
    'MethodNotAllowed',
    `The local control-plane emulator does not support ${method} on ${path}; it supports ${allowed.join(', ')}.`,
    { Allow: allowed.join(', ') },
  );
}

export function subscriptionNotFound(subscriptionId: string): ArmError {
  return new ArmError(
    404,
    'SubscriptionNotFound',
    `The subscription '${subscriptionId}' could not be found.`,
  );
}

export function resourceGroupNotFound(resourceGroup: string): ArmError {
  return new ArmError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`);
}

/** `resourceType` is `Microsoft.Storage/storageAccounts` or `Microsoft.DBforPostgreSQL/flexibleServers`. */
export function resourceNotFound(resourceType: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceType}/${name}' under resource group '${resourceGroup}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
  );
}

export function parentResourceNotFound(resourceType: string, name: string): ArmError {
  return new ArmError(
    404,
    'ParentResourceNotFound',
    `Can not perform requested operation on nested resource. Parent resource '${resourceType}/${name}' not found.`,
  );
}

/** The resource provider of a region in outage does not answer. */
export function regionUnavailable(provider: string, location: string): ArmError {
  return new ArmError(
    503,
    'ServiceUnavailable',
    `The resource provider '${provider}' is unavailable in region '${location}' (the local stack has that region down). ` +
      'Retry later.',
  );
}

export function conflictingOperation(resource: string): ArmError {
  return new ArmError(
    409,
    'AnotherOperationInProgress',
    `Another operation is in progress on ${resource}. Wait for it to finish and retry.`,
  );
}

/** ARM throttling: `429 TooManyRequests` or `503 ServiceUnavailable`, with `Retry-After`. */
export function throttled(status: 429 | 503, retryAfterSeconds: number): ArmError {
  return status === 429
    ? new ArmError(
        429,
        'TooManyRequests',
        `The request was throttled (injected fault). Retry after ${retryAfterSeconds} seconds.`,
        { 'Retry-After': String(retryAfterSeconds) },
      )
    : new ArmError(
        503,
        'ServiceUnavailable',
        `The service is temporarily unavailable (injected fault). Retry after ${retryAfterSeconds} seconds.`,
        { 'Retry-After': String(retryAfterSeconds) },
      );
}

export function internalError(error: unknown): ArmError {
  return new ArmError(
    500,
    'InternalServerError',
    `The local control-plane emulator failed to process the request: ${describeError(error)}`,
  );
}
