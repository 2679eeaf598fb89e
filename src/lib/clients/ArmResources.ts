import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type PipelineRetryOptions,
  RestError,
} from '@azure/core-rest-pipeline';

const ARM_SCOPE = 'https://management.azure.com/.default';

/**
 * Plain ARM reads of resources that no management SDK of this app covers (the Key Vault resource:
 * `@azure/arm-keyvault` is not a dependency; the permissions API: `@azure/arm-authorization` is not
 * either). Same endpoint, credential, retries and TLS trust as the factory's management clients.
 */
export interface ArmResources {
  /** GET `{resourceId}?api-version=…`: the resource's JSON, or a `RestError` with ARM's status and code. */
  get(resourceId: string, apiVersion: string, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  /**
   * GET `{path}?api-version=…` of an ARM list (`{ value: [...], nextLink? }`), following `nextLink`
   * to the last page: every item, or a `RestError` with ARM's status and code.
   */
  list(path: string, apiVersion: string, options?: { abortSignal?: AbortSignal }): Promise<unknown[]>;
}

export function createArmResources(options: {
  endpoint: string;
  credential: TokenCredential;
  httpClient: HttpClient;
  retry: PipelineRetryOptions;
}): ArmResources {
  const pipeline = createPipelineFromOptions({ retryOptions: options.retry });
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: ARM_SCOPE }));
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const send = async (url: string, abortSignal: AbortSignal | undefined): Promise<unknown> => {
    const request = createPipelineRequest({ url, method: 'GET', ...(abortSignal ? { abortSignal } : {}) });
    const response = await pipeline.sendRequest(options.httpClient, request);
    let body: unknown;
    try {
      body = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      body = undefined;
    }
    if (response.status >= 200 && response.status < 300) return body;
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RestError(
      `ARM answered ${response.status}${error?.code ? ` ${error.code}` : ''}${error?.message ? `: ${error.message}` : ''}`,
      { statusCode: response.status, ...(error?.code ? { code: error.code } : {}) },
    );
  };
  const urlOf = (path: string, apiVersion: string) =>
    `${endpoint}${path}?api-version=${encodeURIComponent(apiVersion)}`;
  return {
    get: (resourceId, apiVersion, requestOptions = {}) =>
      send(urlOf(resourceId, apiVersion), requestOptions.abortSignal),
    async list(path, apiVersion, requestOptions = {}) {
      const items: unknown[] = [];
      let next: string | undefined = urlOf(path, apiVersion);
      while (next) {
        const page = (await send(next, requestOptions.abortSignal)) as
          | { value?: unknown[]; nextLink?: string | null }
          | undefined;
        items.push(...(page?.value ?? []));
        next = page?.nextLink ?? undefined;
      }
      return items;
    },
  };
}
