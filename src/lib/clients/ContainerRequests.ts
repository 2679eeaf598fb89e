import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type PipelineRetryOptions,
} from '@azure/core-rest-pipeline';
import { redact } from '../redact.js';

/** The Blob service version of raw requests: the one the Storage SDK speaks. */
const BLOB_SERVICE_VERSION = '2026-04-06';
const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** A failed raw storage request: status and service error code, and never the request URL. */
export class StorageRequestError extends Error {
  override readonly name = 'StorageRequestError';
  constructor(
    message: string,
    readonly statusCode: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Requests on one blob container that bypass the Storage SDK's response handling, for calls whose
 * answer is large and whose SDK deserialisation costs more than the call (List Blobs). They go
 * through the same retries, authorisation (the SAS, or the identity's bearer token) and TLS trust
 * as the SDK clients of the same factory.
 */
export interface ContainerRequests {
  /**
   * GET on the container with `query`; resolves with the body of a 2xx answer, rejects with a
   * `StorageRequestError` (status, service code, message) otherwise.
   */
  get(query: Record<string, string>, options?: { abortSignal?: AbortSignal }): Promise<string>;
}

/**
 * Query parameters the SDK's request log may show in clear (it redacts every other one): the List
 * Blobs parameters and the SAS fields but its signature `sig`, as the Storage SDK allows them
 * (`StorageBlobLoggingAllowedQueryParameters` in @azure/storage-blob `src/utils/constants.ts`).
 */
const LOGGED_QUERY_PARAMETERS = [
  ...['restype', 'comp', 'prefix', 'delimiter', 'marker', 'maxresults', 'include'],
  ...['sv', 'ss', 'srt', 'sp', 'se', 'st', 'spr', 'sr', 'si', 'sip'],
];

export interface ContainerRequestsOptions {
  /** The container URL, without a SAS. */
  url: string;
  /** A SAS query string (without `?`); without one the credential's bearer token authorises. */
  sas?: string;
  credential: TokenCredential;
  httpClient: HttpClient;
  retry: PipelineRetryOptions;
  /** Per-try timeout; 0 or undefined: none. */
  tryTimeoutInMs?: number;
}

export function createContainerRequests(options: ContainerRequestsOptions): ContainerRequests {
  const pipeline = createPipelineFromOptions({
    retryOptions: options.retry,
    loggingOptions: { additionalAllowedQueryParameters: LOGGED_QUERY_PARAMETERS },
  });
  if (!options.sas) {
    pipeline.addPolicy(
      bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: STORAGE_SCOPE }),
    );
  }
  return {
    async get(query, requestOptions = {}) {
      const search = Object.entries(query)
        .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
        .join('&');
      const sas = options.sas ? `&${options.sas}` : '';
      const request = createPipelineRequest({
        url: `${options.url}?${search}${sas}`,
        method: 'GET',
        headers: createHttpHeaders({
          'x-ms-version': BLOB_SERVICE_VERSION,
          'x-ms-date': new Date().toUTCString(),
        }),
        ...(options.tryTimeoutInMs ? { timeout: options.tryTimeoutInMs } : {}),
        ...(requestOptions.abortSignal ? { abortSignal: requestOptions.abortSignal } : {}),
      });
      const response = await pipeline.sendRequest(options.httpClient, request);
      const body = response.bodyAsText ?? '';
      if (response.status >= 200 && response.status < 300) return body;
      const code = response.headers.get('x-ms-error-code') ?? elementText(body, 'Code');
      const message = elementText(body, 'Message')?.split('\n')[0] ?? `HTTP ${response.status}`;
      throw new StorageRequestError(redact(message), response.status, code);
    },
  };
}

/** The text of the first `<name>` element of a service error body. */
function elementText(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match?.[1];
}
