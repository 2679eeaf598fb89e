import {
  defaultRetryPolicy,
  type PipelineRequest,
  type PipelineResponse,
  type PipelineRetryOptions,
} from '@azure/core-rest-pipeline';

/** The request-policy factory shape of the Storage SDKs' `Pipeline.factories` (core-http's `RequestPolicyFactory`). */
interface RequestPolicyFactory {
  create(next: RequestPolicy): RequestPolicy;
}
interface RequestPolicy {
  sendRequest(request: object): Promise<object>;
}

/**
 * Gives a Storage SDK pipeline (blob, Data Lake, queue) the retries of every other client of the
 * factory: @azure/core-rest-pipeline's `defaultRetryPolicy` with `options`, which waits what a 429
 * or 503 asks in `Retry-After` (or `retry-after-ms`, `x-ms-retry-after-ms`) and otherwise backs off
 * exponentially on 408, 5xx (but 501 and 505) and network errors (`throttlingRetryStrategy` and
 * `exponentialRetryStrategy` of @typespec/ts-http-runtime, under core-rest-pipeline 1.24).
 *
 * Why not the Storage SDKs' own retries: their `storageRetryPolicy` (@azure/storage-common
 * `src/policies/StorageRetryPolicyV2.ts`) ignores `Retry-After`, never retries a 429, and its first
 * retry does not wait at all (`(2^(attempt−1) − 1) · retryDelayInMs`). The pipeline that
 * `newPipeline` builds (`getCoreClientOptions` in @azure/storage-blob `src/Pipeline.ts`, the same in
 * the queue and Data Lake packages) replaces the Retry phase with that policy and takes no other core
 * policy; its one extension point is `Pipeline.factories`, whose entries run wrapped by
 * @azure/core-http-compat's `createRequestPolicyFactoryPolicy` before the Deserialize phase, so
 * outside the storage retry policy. Hence the caller sets `retryOptions.maxTries` to 1 (the storage
 * policy then only sets the per-try server `timeout`) and this policy does every retry: the failed
 * answers it sees are the deserialiser's `RestError`s, which carry the response it judges.
 */
export function useCoreRetries<P extends { factories: unknown[] }>(
  pipeline: P,
  options: PipelineRetryOptions,
): P {
  const retry = defaultRetryPolicy(options);
  const factory: RequestPolicyFactory = {
    create: (next) => ({
      // The compat request is a proxy of the core request: `abortSignal`, `url` and `requestId`,
      // all the retry policy reads, are the core request's.
      sendRequest: async (request) =>
        (await retry.sendRequest(
          request as PipelineRequest,
          async () => (await next.sendRequest(request)) as PipelineResponse,
        )) as object,
    }),
  };
  pipeline.factories.push(factory);
  return pipeline;
}
