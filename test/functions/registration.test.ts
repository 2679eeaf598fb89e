import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** One `app.<trigger>(name, options)` call, as the Functions host would receive it. */
interface Registration {
  trigger: string;
  name: string;
  options: Record<string, unknown> & { handler?: unknown };
}

const registry = vi.hoisted(() => ({ calls: [] as Registration[] }));

// The real package, with `app` replaced by a recorder: every `app.http/timer/storageQueue/...` call is
// kept (the shorthands `app.get/post/...` as http with that method); `app.setup` and `app.hook` are no-ops.
vi.mock('@azure/functions', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@azure/functions')>();
  const shorthands: Record<string, string> = {
    get: 'GET',
    put: 'PUT',
    post: 'POST',
    patch: 'PATCH',
    deleteRequest: 'DELETE',
  };
  const noop = new Proxy({}, { get: () => () => ({ dispose() {} }) });
  const app = new Proxy(
    {},
    {
      get(_target, prop) {
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        if (prop === 'hook') return noop;
        if (prop === 'setup') return () => {};
        return (name: string, options: unknown) => {
          const opts = (
            typeof options === 'function' ? { handler: options } : { ...(options as object) }
          ) as Registration['options'];
          const method = shorthands[prop];
          if (method) registry.calls.push({ trigger: 'http', name, options: { ...opts, methods: [method] } });
          else registry.calls.push({ trigger: prop, name, options: opts });
        };
      },
    },
  );
  return { ...actual, app };
});

/**
 * Every function the app registers, with what the host binds it to. A function registered without a
 * row here fails the test, and so does a row without a function: add the row with the function.
 */
const EXPECTED: Record<string, Record<string, unknown>> = {
  healthStorage: { trigger: 'timer', schedule: '%KYVOS_DR_HEALTH_STORAGE_SCHEDULE%' },
  healthReplica: { trigger: 'timer', schedule: '%KYVOS_DR_HEALTH_REPLICA_SCHEDULE%' },
  failoverSweeper: { trigger: 'timer', schedule: '%KYVOS_DR_SWEEPER_SCHEDULE%' },
  health: { trigger: 'http', methods: ['GET'], authLevel: 'function', route: 'health' },
  failoverStart: { trigger: 'http', methods: ['POST'], authLevel: 'function', route: 'failover' },
  failoverStatus: { trigger: 'http', methods: ['GET'], authLevel: 'function', route: 'failover/{runId}' },
  failoverAlert: { trigger: 'http', methods: ['POST'], authLevel: 'function', route: 'failover/alert' },
  failoverRetry: {
    trigger: 'http',
    methods: ['POST'],
    authLevel: 'function',
    route: 'failover/{runId}/retry',
  },
  failoverConfirm: {
    trigger: 'http',
    methods: ['POST'],
    authLevel: 'function',
    route: 'failover/{runId}/confirm',
  },
  failoverWorker: {
    trigger: 'storageQueue',
    queueName: 'kyvos-dr-failover',
    connection: 'AzureWebJobsStorage',
  },
  copyWorker: { trigger: 'storageQueue', queueName: 'kyvos-dr-copy', connection: 'AzureWebJobsStorage' },
  rehearsalStart: { trigger: 'http', methods: ['POST'], authLevel: 'function', route: 'rehearsal' },
  rehearsalList: { trigger: 'http', methods: ['GET'], authLevel: 'function', route: 'rehearsal' },
  rehearsalStatus: {
    trigger: 'http',
    methods: ['GET'],
    authLevel: 'function',
    route: 'rehearsal/{rehearsalId}',
  },
  rehearsalWorker: {
    trigger: 'storageQueue',
    queueName: 'kyvos-dr-rehearsal',
    connection: 'AzureWebJobsStorage',
  },
};

/** The binding properties the host reads, per registration; what the expectations compare. */
const BINDING_KEYS = [
  'methods',
  'authLevel',
  'route',
  'schedule',
  'runOnStartup',
  'queueName',
  'connection',
  'path',
];

const FUNCTIONS_DIR = path.resolve(import.meta.dirname, '../../src/functions');
/** The files the host loads: package.json "main" is dist/functions/*.js, built from these. */
const functionFiles = () =>
  readdirSync(FUNCTIONS_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort();

const exampleSettings = () =>
  (
    JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../local.settings.example.json'), 'utf8'),
    ) as {
      Values: Record<string, string>;
    }
  ).Values;

type Loaded = Registration & { file: string; exports: Record<string, unknown> };

/** Imports every function file; a file that fails to load is reported by name, as the host would. */
async function loadAll(): Promise<Loaded[]> {
  const loaded: Loaded[] = [];
  const failures: string[] = [];
  for (const file of functionFiles()) {
    const before = registry.calls.length;
    try {
      const exports = (await import(pathToFileURL(path.join(FUNCTIONS_DIR, file)).href)) as Record<
        string,
        unknown
      >;
      for (const call of registry.calls.slice(before)) loaded.push({ ...call, file, exports });
    } catch (error) {
      failures.push(`src/functions/${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  expect(failures, 'every function file loads').toEqual([]);
  return loaded;
}

function bindingOf(registration: Registration): Record<string, unknown> {
  const binding: Record<string, unknown> = { trigger: registration.trigger };
  for (const key of BINDING_KEYS) {
    const value = registration.options[key];
    if (value === undefined) continue;
    binding[key] = key === 'methods' ? (value as string[]).map((m) => m.toUpperCase()) : value;
  }
  return binding;
}

describe('function registration, as func start loads src/functions', () => {
  beforeEach(() => {
    registry.calls.length = 0;
    vi.resetModules();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('registers every function in src/functions with the expected trigger, route, methods, authLevel and schedule', async () => {
    vi.stubEnv('KYVOS_DR_HEALTH_STORAGE_SCHEDULE', '0 */5 * * * *');
    vi.stubEnv('KYVOS_DR_HEALTH_REPLICA_SCHEDULE', '0 */5 * * * *');
    vi.stubEnv('KYVOS_DR_SWEEPER_SCHEDULE', '0 */5 * * * *');
    const registrations = await loadAll();

    const actual = Object.fromEntries(registrations.map((r) => [r.name, bindingOf(r)]));
    expect(actual).toEqual(EXPECTED);
    expect(registrations).toHaveLength(Object.keys(EXPECTED).length);

    for (const r of registrations) {
      // One trigger per file, named after it, with the handler exported under that name.
      expect(`${r.name}.ts`, `function "${r.name}" is registered in ${r.file}`).toBe(r.file);
      expect(typeof r.exports[r.name], `${r.file} exports the handler "${r.name}"`).toBe('function');
      expect(typeof r.options.handler, `${r.name} has a handler`).toBe('function');
      if (r.trigger === 'http') {
        expect(r.options.route as string, `${r.name}: the host adds /api`).not.toMatch(/^\/|^api\//);
      }
    }
    const httpRoutes = registrations
      .filter((r) => r.trigger === 'http')
      .flatMap((r) => (r.options.methods as string[]).map((m) => `${m.toUpperCase()} ${r.options.route}`));
    expect(new Set(httpRoutes).size, 'no two http functions share a method and route').toBe(
      httpRoutes.length,
    );
  });

  it('timer schedules read app settings that local.settings.example.json sets, and default to every 5 minutes when unset', async () => {
    vi.stubEnv('KYVOS_DR_HEALTH_STORAGE_SCHEDULE', '0 */5 * * * *');
    vi.stubEnv('KYVOS_DR_HEALTH_REPLICA_SCHEDULE', '0 */5 * * * *');
    vi.stubEnv('KYVOS_DR_SWEEPER_SCHEDULE', '0 */5 * * * *');
    const settings = exampleSettings();
    for (const r of (await loadAll()).filter((r) => r.trigger === 'timer')) {
      const setting = /^%(\w+)%$/.exec(r.options.schedule as string)?.[1];
      expect(setting, `${r.name} reads its schedule from an app setting`).toBeDefined();
      expect(settings[setting as string], `local.settings.example.json sets ${setting}`).toMatch(
        /^(\S+\s+){5}\S+$/,
      );
    }

    // A %NAME% naming a missing setting stops the host at start, so an unset one is not referenced.
    registry.calls.length = 0;
    vi.resetModules();
    vi.stubEnv('KYVOS_DR_HEALTH_STORAGE_SCHEDULE', undefined);
    vi.stubEnv('KYVOS_DR_HEALTH_REPLICA_SCHEDULE', '');
    vi.stubEnv('KYVOS_DR_SWEEPER_SCHEDULE', undefined);
    const unset = (await loadAll()).filter((r) => r.trigger === 'timer');
    expect(unset.map((r) => [r.name, r.options.schedule])).toEqual([
      ['failoverSweeper', '0 */5 * * * *'],
      ['healthReplica', '0 */5 * * * *'],
      ['healthStorage', '0 */5 * * * *'],
    ]);
  });
});
