import { HttpRequest, InvocationContext } from '@azure/functions';
import { expect } from 'vitest';
import { seedKyvosDataset } from '../../local/seed.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.js';
import { failoverConfirm } from '../../src/functions/failoverConfirm.js';
import { failoverStart } from '../../src/functions/failoverStart.js';
import { createDeps } from '../../src/lib/deps.js';
import type { FailoverRun } from '../../src/lib/failover/FailoverRun.js';
import type { FailoverDeps } from '../../src/lib/failover/FailoverService.js';
import { awaitsOperator } from '../../src/lib/failover/runbook.js';
import { failoverRuntime } from '../../src/lib/failover/runtime.js';
import { createLogger, type Logger } from '../../src/lib/log.js';

/**
 * Starts a local stack whose primary container holds a small Kyvos engine work directory (`files`
 * files). `onStarted` receives the stack before seeding, so that the caller can stop it either way.
 */
export async function startSeededStack(
  options: LocalStackOptions,
  onStarted: (stack: LocalStack) => void,
  files = 20,
): Promise<LocalStack> {
  const stack = await startLocalStack(options);
  onStarted(stack);
  await seedKyvosDataset(
    stack.clients.blobService(stack.names.primaryStorageAccount),
    stack.names.container,
    {
      prefix: stack.names.engineWorkDirectory,
      files,
    },
  );
  return stack;
}

/** Log lines captured from the code under test, to assert on them (and on what they never contain). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger((_level, line) => lines.push(line)), lines };
}

/**
 * The Function app's dependencies pointed at a local stack, with failover timings for tests: short
 * polls and small partitions, so a run over a few hundred blobs spans several queue messages.
 * `settings` replaces the stack's app settings (to add the app-settings fallback, say).
 */
export function failoverDepsFor(
  stack: LocalStack,
  logger: Logger,
  options: FailoverDeps['options'] = {},
  settings: Record<string, string> = stack.settings,
): FailoverDeps {
  const deps = createDeps(settings, { clients: stack.clients, logger });
  return {
    ...deps,
    options: {
      copyPollDelayInSeconds: 1,
      pollIntervalInMs: 200,
      partitionSize: 100,
      largeBlobThresholdInBytes: 64 * 1024,
      stepClaimInMs: 30_000,
      walSteadyIntervalInMs: 1_000,
      storageSyncPollIntervalInMs: 200,
      ...options,
    },
  };
}

export function httpRequest(
  method: string,
  url: string,
  body?: unknown,
  params: Record<string, string> = {},
): HttpRequest {
  return new HttpRequest({
    method,
    url,
    ...(body !== undefined
      ? { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }
      : {}),
    headers: { 'content-type': 'application/json' },
    params,
  });
}

export function invocation(functionName: string): InvocationContext {
  return new InvocationContext({ invocationId: `test-${functionName}-${Date.now()}`, functionName });
}

/** Blobs in the DR account's container (0 while it does not exist). */
export async function drBlobCount(stack: LocalStack): Promise<number> {
  return (await drPathCounts(stack)).paths;
}

/**
 * The paths in the DR container, and how many of them are directories (`hdi_isfolder`): on a
 * hierarchical namespace a directory is there as soon as a child is, before its own stub is copied.
 */
export async function drPathCounts(stack: LocalStack): Promise<{ paths: number; directories: number }> {
  const counts = { paths: 0, directories: 0 };
  const container = stack.clients
    .blobService(stack.names.drStorageAccount)
    .getContainerClient(stack.names.container);
  if (!(await container.exists())) return counts;
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
    counts.paths += 1;
    if (blob.metadata?.hdi_isfolder === 'true') counts.directories += 1;
  }
  return counts;
}

/** Starts a failover through the HTTP handler, as a caller would; returns the accepted run's id. */
export async function postFailover(
  deps: FailoverDeps,
  body: { mode: 'planned' | 'forced'; reason: string },
): Promise<string> {
  const started = await failoverStart(
    httpRequest('POST', 'https://kyvos-dr.example/api/failover', body),
    invocation('failoverStart'),
    deps,
  );
  expect(started.status).toBe(202);
  return (started.jsonBody as { runId: string }).runId;
}

/** The run succeeded without errors, the DR container holds all `blobs`, and verification passed. */
export async function expectCompleteFailover(
  stack: LocalStack,
  run: FailoverRun,
  blobs: number,
): Promise<void> {
  expect(run.errors).toEqual([]);
  expect(run.state).toBe('Succeeded');
  expect(await drBlobCount(stack)).toBe(blobs);
  expect((run.steps.verify.detail as { storage: { ok: boolean } }).storage.ok).toBe(true);
}

/** What the confirm endpoint answered. */
export interface ConfirmAnswer {
  status: number;
  body: {
    runId?: string;
    quiescedAt?: string;
    confirmedBy?: string;
    error?: { code: string; message: string };
  };
}

/** `POST /api/failover/{runId}/confirm` through the handler, as the operator would: Kyvos is stopped. */
export async function confirmKyvosStopped(
  deps: FailoverDeps,
  runId: string,
  body: unknown = { kyvosStopped: true, requestedBy: 'test operator' },
): Promise<ConfirmAnswer> {
  const response = await failoverConfirm(
    httpRequest('POST', `https://kyvos-dr.example/api/failover/${runId}/confirm`, body, { runId }),
    invocation('failoverConfirm'),
    deps,
  );
  return { status: response.status ?? 200, body: response.jsonBody as ConfirmAnswer['body'] };
}

/**
 * Acts as the operator of a planned run: once the run pauses at its quiesce, runs `beforeConfirm`
 * (stop the writers) and confirms that Kyvos is stopped. Resolves with the answer, or undefined when
 * the run ended without asking (forced, dry, refused). Runs beside the workers; no need to await it.
 */
export async function confirmWhenWaiting(
  deps: FailoverDeps,
  runId: string,
  beforeConfirm?: () => Promise<void>,
): Promise<ConfirmAnswer | undefined> {
  const { store } = failoverRuntime(deps);
  for (;;) {
    const run = await store.get(runId);
    if (run && run.state !== 'Running') return undefined;
    if (run && awaitsOperator(run, 'quiesce')) {
      await beforeConfirm?.();
      const answer = await confirmKyvosStopped(deps, runId);
      expect(answer.status).toBe(202);
      return answer;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
