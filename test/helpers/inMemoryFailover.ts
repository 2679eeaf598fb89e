/**
 * A failover runtime with no stack, for decision tests: the run store on an `InMemoryDocumentStore`
 * (whose `beforeWrite`/`beforeRead` hooks inject faults and interleavings), a queue that records what
 * is sent, a fixed configuration and a fake clock. Nothing that talks to Azure or the local stack is
 * there: a client used by mistake throws, naming itself.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { ClientFactory } from '../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../src/lib/config/DrConfig.js';
import {
  createFailoverRuntime,
  type FailoverDeps,
  type FailoverRuntime,
} from '../../src/lib/failover/FailoverService.js';
import { type AdvanceMessage, decodeMessage } from '../../src/lib/failover/queues.js';
import { RunStore } from '../../src/lib/failover/RunStore.js';
import { createLogger } from '../../src/lib/log.js';
import { InMemoryDocumentStore } from './InMemoryDocumentStore.js';

export const SUBSCRIPTION_ID = '6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a';

/** A valid configuration of the pair `infra/` describes (rg-kyvos / rg-kyvos-dr). */
export function testConfig(overrides: Partial<DrConfig> = {}): DrConfig {
  return {
    subscriptionId: SUBSCRIPTION_ID,
    primary: {
      resourceGroup: 'rg-kyvos',
      region: 'centralus',
      storageAccount: 'kyvosprimdata',
      container: 'kyvoscontainer',
      postgresServer: 'pg-kyvos',
    },
    dr: {
      resourceGroup: 'rg-kyvos-dr',
      region: 'eastus2',
      storageAccount: 'kyvosdrdata',
      container: 'kyvoscontainer',
      storageSku: 'Standard_LRS',
      replicaServer: 'pg-kyvos-dr',
    },
    engineWorkDirectory: 'kyvos/engine_work',
    thresholds: {
      maxStorageRpoSeconds: 900,
      maxReplicaLagSeconds: 300,
      maxReplicaLagBytes: 64 * 1024 * 1024,
      sasExpiryWarningDays: 14,
    },
    alertFailoverPolicy: 'planned',
    alertTargetAllowList: [],
    promoteMode: 'Standalone',
    storageStrategy: 'copy',
    stopOldPrimary: true,
    restoreGeoRedundancy: false,
    splitBrainAutoFence: false,
    copyPrefix: '',
    sourceAuth: 'stored-sas',
    copyAccessControl: 'auto',
    ...overrides,
  };
}

export interface InMemoryFailover {
  runtime: FailoverRuntime;
  documents: InMemoryDocumentStore;
  store: RunStore;
  /** Every advance message sent, in order. */
  advances: AdvanceMessage[];
  /** Log lines, as JSON text. */
  lines: string[];
  /** Moves the fake clock on. */
  tick(ms: number): void;
}

export function inMemoryFailover(
  options: { config?: Partial<DrConfig>; now?: Date; settings?: Record<string, string> } = {},
): InMemoryFailover {
  const documents = new InMemoryDocumentStore();
  const store = new RunStore(documents);
  const advances: AdvanceMessage[] = [];
  const lines: string[] = [];
  let now = (options.now ?? new Date('2026-12-01T10:00:00Z')).getTime();
  const config = testConfig(options.config);
  const deps: FailoverDeps = {
    settings: options.settings ?? {},
    clients: unusable<ClientFactory>('clients'),
    config: async () => config,
    logger: createLogger((_level, line) => lines.push(line)),
    clock: () => new Date(now),
    appStorageAccount: 'kyvosdrapp',
  };
  const queue = (name: string) =>
    ({
      name,
      createIfNotExists: async () => ({}),
      sendMessage: async (text: string) => {
        advances.push(decodeMessage<AdvanceMessage>(text));
        return {};
      },
    }) as unknown as QueueClient;
  const runtime: FailoverRuntime = {
    deps,
    options: createFailoverRuntime.optionsOf(deps),
    store,
    failoverQueue: queue('kyvos-dr-failover'),
    copyQueue: queue('kyvos-dr-copy'),
  };
  return {
    runtime,
    documents,
    store,
    advances,
    lines,
    tick: (ms) => {
      now += ms;
    },
  };
}

/** An error shaped like the Azure SDK's `RestError` for a 503 (Server Busy). */
export function serverBusy(): Error {
  return Object.assign(new Error('The server is busy.'), { statusCode: 503, code: 'ServerBusy' });
}

function unusable<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(`The in-memory failover has no ${name} (${String(property)} was used).`);
    },
  });
}
