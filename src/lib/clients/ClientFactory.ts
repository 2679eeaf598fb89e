import { readFileSync } from 'node:fs';
import https from 'node:https';
import { inspect } from 'node:util';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { StorageManagementClient } from '@azure/arm-storage';
import type { TokenCredential } from '@azure/core-auth';
import {
  createDefaultHttpClient,
  type HttpClient,
  type PipelineRetryOptions,
} from '@azure/core-rest-pipeline';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import {
  AnonymousCredential,
  BlobServiceClient,
  newPipeline as newBlobPipeline,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { DataLakeServiceClient, newPipeline as newDataLakePipeline } from '@azure/storage-file-datalake';
import { newPipeline as newQueuePipeline, QueueServiceClient } from '@azure/storage-queue';
import { ConfigError } from '../errors.js';
import { type ArmResources, createArmResources } from './ArmResources.js';
import { type ContainerRequests, createContainerRequests } from './ContainerRequests.js';
import { LocalStackCredential } from './LocalStackCredential.js';
import { useCoreRetries } from './storageRetry.js';

/**
 * What a process needs to reach the local stack. `npm run local` and `startLocalStack()` write it
 * as JSON; the path goes in the app setting `KYVOS_DR_LOCAL_STACK`.
 */
export interface LocalStackDescriptor {
  kind: 'local';
  tenantId: string;
  subscriptionId: string;
  /** PEM file of the stack's self-signed certificate; the only certificate local clients trust. */
  caCertPath: string;
  armEndpoint: string;
  keyVaultUrl: string;
  /** Blob endpoint with `{account}` in place of the account name, e.g. `https://127.0.0.1:1234/{account}`. */
  blobEndpointTemplate: string;
  /** Queue endpoint template, as above. */
  queueEndpointTemplate: string;
}

/**
 * Retries of every client the factory builds (storage blob, Data Lake and queue, ARM, Key Vault, the
 * raw ARM and List Blobs requests), set here once: @azure/core-rest-pipeline's `defaultRetryPolicy`
 * (`useCoreRetries` for the Storage SDKs, whose own policy ignores `Retry-After`). A failed request
 * is sent again at most `maxRetries` times, so an operation makes at most `maxRetries + 1` requests
 * (4 with the defaults), whether the service throttles or fails: a 429 or 503 with `Retry-After`
 * waits what the service asks (uncapped: ARM's throttling asks for about 17 s), any other retriable
 * failure (408, 5xx but 501 and 505, a network error) waits a jittered `retryDelayInMs · 2^retry`,
 * capped at `maxRetryDelayInMs` (with the defaults at most 1 + 2 + 4 s before the last try).
 * Code that waits by itself (polling, ETag conflicts) uses @azure/core-util's `delay`.
 */
export interface RetrySettings {
  maxRetries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
  /** Per-try server timeout of data-plane (storage) requests; none: the service's default. */
  tryTimeoutInMs?: number;
}

/** The retries of the app in Azure, and of any environment that does not set its own. */
const DEFAULT_RETRY_SETTINGS: RetrySettings = {
  maxRetries: 3,
  retryDelayInMs: 1_000,
  maxRetryDelayInMs: 30_000,
};

export type ClientEnvironment =
  | { kind: 'azure'; credential?: TokenCredential; retry?: Partial<RetrySettings> }
  | {
      kind: 'local';
      descriptor: LocalStackDescriptor;
      /** Another identity than the app's (the local stack's operator, for test fixtures). */
      credential?: TokenCredential;
      retry?: Partial<RetrySettings>;
    };

interface BlobServiceOptions {
  /** Use the RA-GRS read-only endpoint `<account>-secondary`. */
  secondary?: boolean;
  /** A SAS query string (without `?`) to use instead of the identity. */
  sas?: string;
}

/**
 * An account's service endpoints as ARM reports them (`properties.primaryEndpoints.blob`/`dfs`,
 * `properties.secondaryEndpoints.blob`), without a trailing slash.
 */
export interface StorageEndpoints {
  blob?: string;
  dfs?: string;
  secondaryBlob?: string;
}

/**
 * The one place that builds credentials and SDK clients. In Azure it uses `DefaultAzureCredential`
 * (the Function's managed identity) and the public endpoints; on the local stack it uses the stack's
 * credential and trusts the stack's certificate. Code outside the factory never knows which one it
 * talks to.
 */
export interface ClientFactory {
  readonly kind: 'azure' | 'local';
  readonly credential: TokenCredential;
  storageManagement(subscriptionId: string): StorageManagementClient;
  postgresManagement(subscriptionId: string): PostgreSQLManagementFlexibleServerClient;
  secrets(vaultUrl: string): SecretClient;
  /**
   * The blob service endpoint of an account (primary or RA-GRS secondary), without a trailing slash:
   * the one ARM reported (`useEndpoints`), else the conventional one of the environment
   * (`https://<account>[-secondary].blob.core.windows.net` on Azure, the descriptor's on the stack).
   */
  blobEndpoint(accountName: string, secondary?: boolean): string;
  /**
   * Records an account's endpoints as ARM reported them, for every later client of the account:
   * accounts with Azure DNS zone endpoints (`<account>.zNN.blob.storage.azure.net`) and sovereign
   * clouds have other host names than the conventional ones.
   */
  useEndpoints(accountName: string, endpoints: StorageEndpoints): void;
  /** The endpoints recorded for an account, if any. */
  knownEndpoints(accountName: string): StorageEndpoints | undefined;
  blobService(accountName: string, options?: BlobServiceOptions): BlobServiceClient;
  /**
   * The Data Lake (`dfs`) endpoint of an account with a hierarchical namespace, for what the Blob API
   * does not carry (access control), authorised as `blobService`.
   */
  dataLakeService(accountName: string, options?: BlobServiceOptions): DataLakeServiceClient;
  queueService(accountName: string): QueueServiceClient;
  /** Raw requests on one container (List Blobs without the SDK's deserialiser), authorised as `blobService`. */
  containerRequests(accountName: string, container: string, options?: BlobServiceOptions): ContainerRequests;
  /** Plain ARM reads of resources without a management SDK here (the Key Vault resource). */
  armResources(): ArmResources;
  /** Extra TLS trust for raw HTTPS calls (Node's `https.Agent`), or undefined to use the defaults. */
  readonly httpsAgent: https.Agent | undefined;
}

const AZURE_STORAGE_SUFFIX = 'core.windows.net';

export function createClientFactory(environment: ClientEnvironment): ClientFactory {
  const retry: RetrySettings = { ...DEFAULT_RETRY_SETTINGS, ...definedOnly(environment.retry ?? {}) };
  const armRetry: PipelineRetryOptions = {
    maxRetries: retry.maxRetries,
    retryDelayInMs: retry.retryDelayInMs,
    maxRetryDelayInMs: retry.maxRetryDelayInMs,
  };
  // One try of the Storage SDKs' own policy (it sets the server timeout); `useCoreRetries` retries.
  const storageRetry: StoragePipelineOptions['retryOptions'] = {
    maxTries: 1,
    ...(retry.tryTimeoutInMs !== undefined ? { tryTimeoutInMs: retry.tryTimeoutInMs } : {}),
  };
  const retrying = <P extends { factories: unknown[] }>(pipeline: P): P => useCoreRetries(pipeline, armRetry);
  const known = new Map<string, StorageEndpoints>();
  const endpointBook = {
    useEndpoints: (account: string, endpoints: StorageEndpoints) => {
      known.set(account.toLowerCase(), endpoints);
    },
    knownEndpoints: (account: string) => known.get(account.toLowerCase()),
  };
  /** ARM's endpoint of an account when recorded, else `conventional`'s. */
  const preferKnown =
    (conventional: (account: string, secondary: boolean) => string) =>
    (account: string, secondary = false): string => {
      const recorded = known.get(account.toLowerCase());
      return (secondary ? recorded?.secondaryBlob : recorded?.blob) ?? conventional(account, secondary);
    };
  /** `ClientFactory.containerRequests` for accounts at `endpointOf`, authorised as `blobService`. */
  const containerRequestsVia =
    (endpointOf: ClientFactory['blobEndpoint'], credential: TokenCredential, httpClient: HttpClient) =>
    (account: string, container: string, options: BlobServiceOptions = {}): ContainerRequests =>
      createContainerRequests({
        url: `${endpointOf(account, options.secondary)}/${encodeURIComponent(container)}`,
        ...(options.sas ? { sas: options.sas } : {}),
        credential,
        httpClient,
        retry: armRetry,
        ...(retry.tryTimeoutInMs !== undefined ? { tryTimeoutInMs: retry.tryTimeoutInMs } : {}),
      });

  if (environment.kind === 'azure') {
    const credential = environment.credential ?? new DefaultAzureCredential();
    const blobEndpoint = preferKnown(
      (account, secondary) =>
        `https://${account}${secondary ? '-secondary' : ''}.blob.${AZURE_STORAGE_SUFFIX}`,
    );
    return {
      kind: 'azure',
      ...endpointBook,
      credential,
      httpsAgent: undefined,
      storageManagement: (sub) => new StorageManagementClient(credential, sub, { retryOptions: armRetry }),
      postgresManagement: (sub) =>
        new PostgreSQLManagementFlexibleServerClient(credential, sub, { retryOptions: armRetry }),
      secrets: (vaultUrl) => new SecretClient(vaultUrl, credential, { retryOptions: armRetry }),
      blobEndpoint,
      blobService(account, options = {}) {
        const endpoint = this.blobEndpoint(account, options.secondary);
        return options.sas
          ? new BlobServiceClient(
              `${endpoint}?${options.sas}`,
              retrying(newBlobPipeline(new AnonymousCredential(), { retryOptions: storageRetry })),
            )
          : new BlobServiceClient(
              endpoint,
              retrying(newBlobPipeline(credential, { retryOptions: storageRetry })),
            );
      },
      dataLakeService(account, options = {}) {
        const endpoint = `https://${account}${options.secondary ? '-secondary' : ''}.dfs.${AZURE_STORAGE_SUFFIX}`;
        return options.sas
          ? new DataLakeServiceClient(
              `${endpoint}?${options.sas}`,
              retrying(newDataLakePipeline(new AnonymousCredential(), { retryOptions: storageRetry })),
            )
          : new DataLakeServiceClient(
              endpoint,
              retrying(newDataLakePipeline(credential, { retryOptions: storageRetry })),
            );
      },
      queueService: (account) =>
        new QueueServiceClient(
          `https://${account}.queue.${AZURE_STORAGE_SUFFIX}`,
          retrying(newQueuePipeline(credential, { retryOptions: storageRetry })),
        ),
      containerRequests: containerRequestsVia(blobEndpoint, credential, createDefaultHttpClient()),
      armResources: () =>
        createArmResources({
          endpoint: 'https://management.azure.com',
          credential,
          httpClient: createDefaultHttpClient(),
          retry: armRetry,
        }),
    };
  }

  const { descriptor } = environment;
  const credential = environment.credential ?? new LocalStackCredential(descriptor.tenantId);
  const agent = localStackAgent(descriptor.caCertPath);
  const httpClient = trustingHttpClient(agent);
  // The Storage SDKs wrap the client options in a compatibility pipeline that rejects extra
  // policies; their own extension point is a request-policy factory, used here to set the agent.
  const storageTls = {
    create: (next: { sendRequest(request: { agent?: unknown }): Promise<unknown> }) => ({
      sendRequest: (request: { agent?: unknown }) => {
        request.agent = agent;
        return next.sendRequest(request);
      },
    }),
  };
  const blobPipeline = (credentialOrAnonymous: TokenCredential | AnonymousCredential) => {
    const pipeline = retrying(newBlobPipeline(credentialOrAnonymous, { retryOptions: storageRetry }));
    pipeline.factories.unshift(storageTls as never);
    return pipeline;
  };
  const endpointFor = (template: string, account: string) => template.replace('{account}', account);
  const blobEndpoint = preferKnown((account, secondary) =>
    endpointFor(descriptor.blobEndpointTemplate, `${account}${secondary ? '-secondary' : ''}`),
  );
  return {
    kind: 'local',
    ...endpointBook,
    credential,
    httpsAgent: agent,
    storageManagement: (sub) =>
      new StorageManagementClient(credential, sub, {
        endpoint: descriptor.armEndpoint,
        httpClient,
        retryOptions: armRetry,
      }),
    postgresManagement: (sub) =>
      new PostgreSQLManagementFlexibleServerClient(credential, sub, {
        endpoint: descriptor.armEndpoint,
        httpClient,
        retryOptions: armRetry,
      }),
    secrets: (vaultUrl) =>
      new SecretClient(vaultUrl, credential, {
        httpClient,
        retryOptions: armRetry,
        // The stack's vault is on 127.0.0.1, which is not a vault domain the challenge could match.
        disableChallengeResourceVerification: true,
      }),
    blobEndpoint,
    blobService(account, options = {}) {
      const endpoint = this.blobEndpoint(account, options.secondary);
      return options.sas
        ? new BlobServiceClient(`${endpoint}?${options.sas}`, blobPipeline(new AnonymousCredential()))
        : new BlobServiceClient(endpoint, blobPipeline(credential));
    },
    dataLakeService(account, options = {}) {
      // The storage front's Data Lake endpoint beside the blob one (local/hns/endpoints.ts).
      const endpoint = `${this.blobEndpoint(account, options.secondary)}-dfs`;
      const pipeline = retrying(
        newDataLakePipeline(options.sas ? new AnonymousCredential() : credential, {
          retryOptions: storageRetry,
        }),
      );
      pipeline.factories.unshift(storageTls as never);
      return new DataLakeServiceClient(options.sas ? `${endpoint}?${options.sas}` : endpoint, pipeline);
    },
    queueService: (account) => {
      const pipeline = retrying(newQueuePipeline(credential, { retryOptions: storageRetry }));
      pipeline.factories.unshift(storageTls as never);
      return new QueueServiceClient(endpointFor(descriptor.queueEndpointTemplate, account), pipeline);
    },
    containerRequests: containerRequestsVia(blobEndpoint, credential, httpClient),
    armResources: () =>
      createArmResources({ endpoint: descriptor.armEndpoint, credential, httpClient, retry: armRetry }),
  };
}

/**
 * An `https.Agent` that prints as its name only, in JSON and in `util.inspect`. The agent rides on
 * each request it serves (`request.agent`), and the SDK's request log JSON-serialises the whole
 * request, sanitising only its `url`, `headers` and `query` (`@typespec/ts-http-runtime`
 * `src/util/sanitizer.ts`): a plain agent is dumped with its keep-alive sockets, whose last requests
 * hold SAS query strings and `Authorization: Bearer` headers in clear, on every logged request.
 */
export class UnprintableAgent extends https.Agent {
  toJSON(): string {
    return 'https.Agent';
  }
  [inspect.custom](): string {
    return 'https.Agent';
  }
}

/**
 * The TLS trust of every client on the local stack: an agent that trusts exactly the stack's
 * certificate (the PEM file at `caCertPath`), keeps connections alive, and never prints its sockets.
 */
export function localStackAgent(caCertPath: string): https.Agent {
  return new UnprintableAgent({ ca: readCa(caCertPath), keepAlive: true, maxSockets: 256 });
}

/** An HTTP client that sends every request through `agent`, which trusts the stack's certificate. */
function trustingHttpClient(agent: https.Agent): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest: (request) => {
      request.agent ??= agent;
      return inner.sendRequest(request);
    },
  };
}

/** The settings given, without keys whose value is undefined (which would unset a default). */
function definedOnly(settings: Partial<RetrySettings>): Partial<RetrySettings> {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

function readCa(caCertPath: string): string {
  try {
    return readFileSync(caCertPath, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `Cannot read the local stack's certificate at ${caCertPath}: is the stack running? Start it with "npm run local".`,
      'KYVOS_DR_LOCAL_STACK',
      { cause: error },
    );
  }
}

/**
 * The environment from app settings: the local stack when `KYVOS_DR_LOCAL_STACK` names a stack
 * descriptor file, Azure otherwise.
 */
export function clientEnvironmentFromSettings(settings: NodeJS.ProcessEnv = process.env): ClientEnvironment {
  const descriptorPath = settings.KYVOS_DR_LOCAL_STACK?.trim();
  if (!descriptorPath) return { kind: 'azure' };
  let descriptor: LocalStackDescriptor;
  try {
    descriptor = JSON.parse(readFileSync(descriptorPath, 'utf8')) as LocalStackDescriptor;
  } catch (error) {
    throw new ConfigError(
      `KYVOS_DR_LOCAL_STACK names ${descriptorPath}, which is not a readable stack descriptor: start the stack with "npm run local" and use the path it prints.`,
      'KYVOS_DR_LOCAL_STACK',
      { cause: error },
    );
  }
  if (descriptor.kind !== 'local' || !descriptor.armEndpoint || !descriptor.blobEndpointTemplate) {
    throw new ConfigError(
      `${descriptorPath} is not a local stack descriptor (kind, armEndpoint, blobEndpointTemplate).`,
      'KYVOS_DR_LOCAL_STACK',
    );
  }
  return { kind: 'local', descriptor };
}
