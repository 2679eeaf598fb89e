import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../local/drill/runDrill.js';
import { STEP_NAMES } from '../../src/lib/failover/FailoverRun.js';
import type { FailoverReport } from '../../src/lib/report/failoverReport.js';
import { runMain, STACK_TRACE, spawnCli } from './cliHarness.js';

type DrillReport = FailoverReport & { drill: DrillRecord };

/** A small dataset, so that a whole drill takes well under a minute. */
const SMALL = ['--files', '200', '--large-blobs', '1', '--large-blob-mib', '0.25', '--metadata-rows', '100'];

describe('the drill', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-drill-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a planned failover on the local stack, prints the summary and writes the report', async () => {
    const reportFile = path.join(dir, 'planned.json');
    const result = await runMain(['drill', ...SMALL, '--report', reportFile]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const { stdout } = result;
    expect(stdout).toMatch(/^ {2}Readiness: Healthy, RPO [\d.]+ s/m);
    // The drill rehearses first.
    expect(stdout).toMatch(/^ {2}Rehearsal rh-\d{8}T\d{6}Z-[0-9a-f]{6}: Passed$/m);
    expect(stdout).toMatch(/202 Accepted: run fo-\d{8}T\d{6}Z-[0-9a-f]{6}/);
    expect(stdout).toMatch(/step storage\.copy succeeded in [\d.]+ s: 2\d\d blobs copied/);
    expect(stdout).toMatch(
      /^ {2}RPO at decision +[\d.]+ s, (storage|database) decides \(storage [\d.]+ s, database [\d.]+ s\)/m,
    );
    expect(stdout).toMatch(/^ {2}RTO +[\d.]+ s from the request to DR ready/m);
    expect(stdout).toMatch(/^ {4}storage\.copy +Succeeded +[\d.]+ s$/m);
    expect(stdout).toMatch(/^ {2}verification +ok \(0 missing, 0 mismatched\)$/m);
    expect(stdout).toMatch(/^ {2}promoted server +pg-kyvos-dr$/m);
    expect(stdout).toMatch(/^ {2}old primary +fenced/m);
    expect(stdout).toMatch(
      /^ {2}rows at decision +all [\d,]+ rows committed on the primary by [\s\S]*?\) are on pg-kyvos-dr/m,
    );
    // The drill acts as the operator: it stops its writer when the run asks, and confirms.
    expect(stdout).toMatch(
      /The run asks to stop Kyvos: the drill stops its metadata writer \([\d,]+ writes acknowledged\) and confirms/,
    );
    expect(stdout).toMatch(/^ {2}quiesce +Kyvos stopped at \S+ \(confirmed by kyvos-dr drill\);/m);
    expect(stdout).toMatch(
      /^ {2}acknowledged +[\d,]+ writes acknowledged by the primary during the drill: all are on pg-kyvos-dr; 0 lost$/m,
    );
    expect(stdout).toMatch(/^ {2}KyvosPostgresServerName +pg-kyvos-dr$/m);
    expect(stdout).toContain('Checklist after the failover:');
    expect(stdout).toMatch(/Drill PASSED\.\n$/);

    const report = JSON.parse(await readFile(reportFile, 'utf8')) as DrillReport;
    const { drill } = report;
    expect(drill.ok).toBe(true);
    expect(drill.scenario).toBe('planned');
    expect(report.state).toBe('Succeeded');
    expect(report.mode).toBe('planned');
    expect(typeof report.rpoSeconds).toBe('number');
    expect(report.rtoSeconds).toBeGreaterThan(0);
    // What was seeded, as the drill counted it, is what the run listed and copied.
    const seeded = drill.dataset.seeded as { blobs: number; bytes: number };
    expect(seeded.blobs).toBeGreaterThan(200);
    expect(report.blobs).toMatchObject({ listed: seeded.blobs, failed: 0 });
    expect(report.blobs.copied + report.blobs.skipped).toBe(seeded.blobs);
    expect(report.bytes).toEqual({ listed: seeded.bytes, copied: seeded.bytes });
    expect(report.verification).toMatchObject({ ok: true, missing: 0, mismatched: 0 });
    expect(report.promotedServer).toBe('pg-kyvos-dr');
    expect(report.oldPrimaryFenced).toBe(true);
    expect(report.steps.map((s) => s.name)).toEqual([...STEP_NAMES]);
    expect(STEP_NAMES).toContain('database.fence');
    // The copy strategy skips the account failover; every other step runs.
    for (const step of report.steps) {
      if (step.name === 'storage.accountFailover') {
        expect(step.status).toBe('Skipped');
        continue;
      }
      expect(step.status).toBe('Succeeded');
      expect(Date.parse(step.endedAt as string)).toBeGreaterThanOrEqual(Date.parse(step.startedAt as string));
    }
    // The drill's own measurements.
    expect(drill.metadata.rowsWrittenDuringDrill).toBeGreaterThan(0);
    expect(drill.metadata.audit?.basis?.rows).toBeGreaterThanOrEqual(100);
    expect(drill.metadata.audit?.missing).toBe(0);
    // Every write the primary acknowledged, looked up by id on the promoted server: none is lost.
    expect(drill.metadata.acknowledgedWrites?.acknowledged).toBe(drill.metadata.rowsWrittenDuringDrill);
    expect(drill.metadata.acknowledgedWrites).toMatchObject({ missing: 0, missingIds: [] });
    expect(drill.operator?.confirmStatus).toBe(202);
    expect(report.quiesce).toMatchObject({ required: true, confirmedBy: 'kyvos-dr drill' });
    expect(drill.throughput?.bytesPerSecond).toBeGreaterThan(0);
    expect(drill.timings.stackStartSeconds).toBeGreaterThan(0);
    expect(drill.timings.failoverSeconds).toBeGreaterThanOrEqual(report.rtoSeconds as number);
    expect(drill.healthBefore?.status).toBe('Healthy');
    // The DR account is deployed ahead by default: the rehearsal copies and verifies a sample.
    expect(drill.rehearsal).toMatchObject({ state: 'Passed', problems: [], sourceBlobs: seeded.blobs });
    expect(drill.rehearsal?.sampleBlobs).toBeGreaterThan(0);
    expect(drill.rehearsal?.copySeconds).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/^ {6}ok {4}copy\.sample +\d+ blobs, \d+ bytes copied server-side/m);
    expect(result.stdout).toMatch(/^ {6}ok {4}copy\.verify +\d+ sampled blobs match their source/m);
    expect(result.stdout).toMatch(/^ {4}throughput +.+\/s, [\d.]+ blobs\/s \(measured\)/m);
    expect(drill.failoverOptions?.largeBlobThresholdInBytes).toBeLessThan(256 * 1024);

    // The structured log is beside the report, and neither holds a SAS signature.
    const log = await readFile(drill.logFile as string, 'utf8');
    expect(log).toContain('"event":"failover.run_ended"');
    expect(`${log}${JSON.stringify(report)}`).not.toMatch(/sig=(?!REDACTED)/);
  });

  it('runs a forced failover during a primary region outage and shows the estimated data loss', async () => {
    const reportFile = path.join(dir, 'outage.json');
    // Without the DR account deployed ahead, the rehearsal cannot copy a sample and the failover creates it.
    const result = await runMain([
      'drill',
      '--scenario',
      'region-outage',
      '--no-pre-provision-dr',
      ...SMALL,
      '--report',
      reportFile,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('The primary region (centralus) is down');
    expect(result.stdout).toMatch(
      /^ {6}warn {2}copy\.sample +the DR storage account "kyvosdrdata" does not exist yet/m,
    );
    expect(result.stdout).toMatch(/^ {2}estimated loss +Up to: /m);
    expect(result.stdout).toMatch(/^ {2}old primary +NOT fenced/m);
    expect(result.stdout).toMatch(/^ {2}verification +ok/m);

    const report = JSON.parse(await readFile(reportFile, 'utf8')) as DrillReport;
    expect(report.state).toBe('Succeeded');
    expect(report.mode).toBe('forced');
    expect(report.decision?.estimatedDataLoss).toBeTruthy();
    expect(report.verification?.ok).toBe(true);
    expect(report.promotedServer).toBe('pg-kyvos-dr');
    expect(report.oldPrimaryFenced).toBe(false);
    expect(report.checklist[0]?.id).toBe('fence-old-primary');
    expect(report.drill.outage?.region).toBe('primary');
    expect(report.drill.rehearsal).toMatchObject({ state: 'Passed', problems: [] });
    expect(report.drill.rehearsal?.sampleBlobs ?? 0).toBe(0);
    expect(report.drill.rehearsal?.copySeconds).toBeNull();

    expect(report.drill.metadata.audit?.basis).not.toBeNull();
    // A forced run has no quiesce: nobody was asked to stop Kyvos.
    expect(report.quiesce).toMatchObject({ required: false });
    expect(report.drill.operator).toBeNull();
  });

  it('runs a forced account failover during a primary region outage: the account itself serves in the DR region', async () => {
    const reportFile = path.join(dir, 'account-failover.json');
    const result = await runMain([
      'drill',
      '--strategy',
      'account-failover',
      '--scenario',
      'region-outage',
      ...SMALL,
      '--report',
      reportFile,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Drill PASSED\.\n$/);

    const report = JSON.parse(await readFile(reportFile, 'utf8')) as DrillReport;
    expect(report.state).toBe('Succeeded');
    expect(report.steps.find((s) => s.name === 'storage.accountFailover')?.status).toBe('Succeeded');
    expect(report.blobs.copied).toBe(0);
    expect(report.verification?.ok).toBe(true);
    // Kyvos keeps the original account: its name is in the deployment parameters, the DR account's is not.
    expect(JSON.stringify(report.kyvosDeploymentParameters)).toContain('"kyvosprimdata"');
    expect(JSON.stringify(report.kyvosDeploymentParameters)).not.toContain('kyvosdrdata');
  });

  it('exits 1 saying why when the run does not end in time, and still writes the report', async () => {
    const reportFile = path.join(dir, 'timeout.json');
    // In its own process: the run is abandoned mid-way, as an operator's Ctrl-C or a crash would.
    const result = await spawnCli('local/drill/main.ts', [
      '--files',
      '50',
      '--large-blobs',
      '0',
      '--timeout-seconds',
      '1',
      '--report',
      reportFile,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /kyvos-dr drill: FAILED: .*did not end within the local worker's time limit/,
    );
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stdout).toContain('Drill FAILED:');
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as DrillReport;
    expect(report.drill.ok).toBe(false);
    expect(report.drill.exitCode).toBe(1);
    expect(report.drill.problems.join(' ')).toContain('time limit');
  });
});
