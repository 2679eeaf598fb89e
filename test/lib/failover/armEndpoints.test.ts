import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../../local/stack.js';
import { type ClientFactory, createClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import { runUntilDone } from '../../../src/lib/failover/localWorker.js';
import { failoverRuntime } from '../../../src/lib/failover/runtime.js';
import { checkStorageGeoReplication } from '../../../src/lib/health/StorageGeoReplication.js';
import { capturingLogger, failoverDepsFor, postFailover } from '../../helpers/failoverHarness.js';

/**
 * ARM hands out the storage accounts' endpoints at `localhost`, which reaches the same storage front
 * as the descriptor's `127.0.0.1` but is not what the client factory builds by itself: as an account
 * with Azure DNS zone endpoints (`<account>.zNN.blob.storage.azure.net`) or in a sovereign cloud
 * answers at other names than `<account>.blob.core.windows.net`. Every storage call on the source
 * and the DR account must go where ARM says.
 */
describe('storage endpoints taken from ARM', () => {
  let stack: LocalStack;
  let clients: ClientFactory;
  const armEndpoint = (account: string) =>
    `https://localhost:${new URL(stack.descriptor.blobEndpointTemplate.replace('{account}', 'x')).port}/${account}`;

  beforeAll(async () => {
    stack = await startLocalStack({ storageEndpointHost: 'localhost' });
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 20,
      },
    );
    // A factory of the app's own, as a Function instance has: it knows only the descriptor.
    clients = createClientFactory({ kind: 'local', descriptor: stack.descriptor });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("health reads the source's secondary at the endpoint ARM reports", async () => {
    const deps = { ...failoverDepsFor(stack, capturingLogger().logger), clients };
    const report = await checkStorageGeoReplication(await deps.config(), deps);
    expect(report.facts).toMatchObject({
      endpointsFromArm: true,
      secondaryEndpoint: armEndpoint(`${stack.names.primaryStorageAccount}-secondary`),
      source: 'both',
    });
  });

  it('a failover lists and copies the source, and creates and fills the DR account, at the endpoints ARM reports', async () => {
    const log = capturingLogger();
    const deps = { ...failoverDepsFor(stack, log.logger), clients };
    const runId = await postFailover(deps, { mode: 'forced', reason: 'endpoints from ARM' });
    const run = await runUntilDone(failoverRuntime(deps), runId, { timeoutInMs: 120_000 });
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('Succeeded');
    const preflight = run.steps.preflight.detail as { sourceAccess?: { endpoint?: string } };
    expect(preflight.sourceAccess?.endpoint).toBe(
      armEndpoint(`${stack.names.primaryStorageAccount}-secondary`),
    );
    expect(clients.blobEndpoint(stack.names.drStorageAccount)).toBe(
      armEndpoint(stack.names.drStorageAccount),
    );
    expect(run.progress.blobsCopied).toBeGreaterThan(0);
  });
});
