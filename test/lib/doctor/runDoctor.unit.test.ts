import { describe, expect, it } from 'vitest';
import type { DoctorCheck, DoctorContext } from '../../../src/lib/doctor/doctorCheck.js';
import { runDoctor } from '../../../src/lib/doctor/runDoctor.js';
import { readDrAccount, readSourceAccount } from '../../../src/lib/doctor/storageAccounts.js';
import { silentLogger } from '../../../src/lib/log.js';

const context = {
  config: {},
  clients: {},
  settings: {},
  clock: () => new Date('2026-12-01T00:00:00Z'),
  logger: silentLogger,
} as unknown as DoctorContext;

const throwing = (name: string): DoctorCheck => ({
  area: 'storage',
  name,
  timer: 'storage',
  run: async () => {
    throw new Error(`${name} exploded`);
  },
});

const passing: DoctorCheck = {
  area: 'network',
  name: 'storage network rules',
  timer: 'storage',
  run: async () => [{ area: 'network', id: 'network.copySource', outcome: 'pass', detail: 'open' }],
};

describe('runDoctor', () => {
  it('turns each check that throws into its own unknown finding, and still runs the others', async () => {
    const report = await runDoctor(context, {
      checks: [throwing('storage accounts'), throwing('source SAS'), passing],
    });
    expect(report.findings.map((f) => [f.id, f.outcome])).toEqual([
      ['storage.checkFailed.storageAccounts', 'unknown'],
      ['storage.checkFailed.sourceSas', 'unknown'],
      ['network.copySource', 'pass'],
    ]);
    expect(report.findings[1]?.detail).toContain('source SAS exploded');
    expect(report.outcome).toBe('unknown');
    expect(report.counts).toEqual({ pass: 1, fail: 0, warn: 0, unknown: 2 });
  });

  it('runs only the checks of the timer or areas asked for', async () => {
    const replicaOnly = await runDoctor(context, { checks: [passing], timer: 'replica' });
    expect(replicaOnly.findings).toEqual([]);
    const network = await runDoctor(context, { checks: [throwing('x'), passing], areas: ['network'] });
    expect(network.findings.map((f) => f.id)).toEqual(['network.copySource']);
  });

  it('reads each storage account once per run, however many checks look at it', async () => {
    const reads: string[] = [];
    const clients = {
      storageManagement: () => ({
        storageAccounts: {
          getProperties: async (_group: string, account: string, options: { expand?: string }) => {
            reads.push(`${account}${options.expand ? `+${options.expand}` : ''}`);
            return { name: account };
          },
        },
      }),
    };
    const withAccounts = {
      ...context,
      clients,
      config: {
        subscriptionId: 'sub',
        primary: { resourceGroup: 'rg', storageAccount: 'kyvosprimdata' },
        dr: { resourceGroup: 'rg-dr', storageAccount: 'kyvosdrdata' },
      },
    } as unknown as DoctorContext;
    const looking = (name: string): DoctorCheck => ({
      area: 'storage',
      name,
      timer: 'storage',
      run: async (c) => {
        await Promise.all([readSourceAccount(c), readDrAccount(c)]);
        return [];
      },
    });
    await runDoctor(withAccounts, { checks: [looking('a'), looking('b'), looking('c')] });
    expect(reads.sort()).toEqual(['kyvosdrdata', 'kyvosprimdata']);
    // A new run reads again.
    await runDoctor(withAccounts, { checks: [looking('a')] });
    expect(reads).toHaveLength(4);
  });
});
