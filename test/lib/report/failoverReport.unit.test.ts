import { describe, expect, it } from 'vitest';
import { type FailoverRun, newRun } from '../../../src/lib/failover/FailoverRun.js';
import { buildReport, stepTimings } from '../../../src/lib/report/failoverReport.js';
import { testConfig } from '../../helpers/inMemoryFailover.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const SIG = 'c2VjcmV0LXNpZ25hdHVyZQ%3D%3D';

function run(edit: (run: FailoverRun) => void = () => {}): FailoverRun {
  const r = newRun(
    'fo-20261201T100000Z-abcdef',
    { mode: 'forced', reason: 'primary region down', dryRun: false, requestedBy: 'ops@contoso.com' },
    T0,
  );
  edit(r);
  return r;
}

describe('the failover report', () => {
  it('measures the RTO from the request to the end of verification, and has none before it', () => {
    const verified = run((r) => {
      r.steps.verify = { status: 'Succeeded', attempts: 1, endedAt: '2026-12-01T10:12:34.560Z' };
    });
    expect(buildReport(verified, testConfig()).rtoSeconds).toBe(754.6);
    expect(buildReport(run(), testConfig()).rtoSeconds).toBeNull();
  });

  it('names the promoted server only when the promote succeeded', () => {
    const promoted = run((r) => {
      r.steps['database.promote'] = { status: 'Succeeded', attempts: 1, detail: { server: 'pg-dr-new' } };
    });
    const report = buildReport(promoted, testConfig());
    expect(report.promotedServer).toBe('pg-dr-new');
    expect(report.kyvosDeploymentParameters).toMatchObject({
      parameters: { KyvosPostgresServerName: { value: 'pg-dr-new' }, EnableDR: { value: true } },
    });

    for (const status of ['Running', 'Failed'] as const) {
      const notPromoted = run((r) => {
        r.steps['database.promote'] = { status, attempts: 1, detail: { server: 'pg-dr-new' } };
      });
      expect(buildReport(notPromoted, testConfig()).promotedServer).toBeNull();
    }
  });

  it('puts fencing the old primary first on the checklist unless the fence step says it was fenced', () => {
    const unknown = buildReport(run(), testConfig());
    expect(unknown.oldPrimaryFenced).toBeNull();
    expect(unknown.checklist[0]?.id).toBe('fence-old-primary');

    const fenced = run((r) => {
      r.steps['database.fence'] = { status: 'Succeeded', attempts: 1, detail: { oldPrimaryFenced: true } };
    });
    const report = buildReport(fenced, testConfig());
    expect(report.oldPrimaryFenced).toBe(true);
    expect(report.checklist.map((item) => item.id)).not.toContain('fence-old-primary');
    expect(report.checklist[0]?.id).toBe('deploy-kyvos-dr');
  });

  it('counts the verification from its totals, which outlive the truncated example lists', () => {
    const verified = run((r) => {
      r.steps.verify = {
        status: 'Failed',
        attempts: 1,
        detail: { storage: { ok: false, missing: ['a'], missingCount: 40, mismatched: ['b', 'c'] } },
      };
    });
    expect(buildReport(verified, testConfig()).verification).toMatchObject({
      ok: false,
      missing: 40,
      mismatched: 2,
    });
    expect(buildReport(run(), testConfig()).verification).toBeNull();
  });

  it('says a whole-container copy left nothing behind, and that a prefix copy left an uncounted remainder', () => {
    expect(buildReport(run(), testConfig()).scope).toMatchObject({
      prefix: '',
      blobsOutsideScope: { count: 0, examples: [] },
    });
    const prefixed = buildReport(run(), testConfig({ copyPrefix: 'olap' }));
    expect(prefixed.scope).toMatchObject({ prefix: 'olap', blobsOutsideScope: null });
    expect(prefixed.checklist.map((item) => item.id)).toContain('copy-scope-partial');
  });

  it('never carries a SAS signature, wherever the run recorded one', () => {
    const leaky = run((r) => {
      r.errors.push(`copy failed: https://kyvosprimdata-secondary.blob.core.windows.net/c/x?sv=1&sig=${SIG}`);
      r.steps['storage.copy'] = { status: 'Failed', attempts: 1, error: `403 on ?sig=${SIG}` };
    });
    const text = JSON.stringify(buildReport(leaky, testConfig()));
    expect(text).not.toContain(SIG);
    expect(text).toContain('copy failed');
  });

  it('lists every step in runbook order with its timings', () => {
    const timings = stepTimings(
      run((r) => {
        r.steps.preflight = {
          status: 'Succeeded',
          attempts: 1,
          startedAt: '2026-12-01T10:00:01.000Z',
          endedAt: '2026-12-01T10:00:03.000Z',
          durationSeconds: 2,
        };
      }),
    );
    expect(timings.map((s) => s.name)).toEqual(Object.keys(run().steps));
    expect(timings[0]).toEqual({
      name: 'preflight',
      status: 'Succeeded',
      startedAt: '2026-12-01T10:00:01.000Z',
      endedAt: '2026-12-01T10:00:03.000Z',
      durationSeconds: 2,
    });
  });
});
