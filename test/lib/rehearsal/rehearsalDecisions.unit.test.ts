import { describe, expect, it } from 'vitest';
import type { ClientFactory } from '../../../src/lib/clients/ClientFactory.js';
import type { DrConfig } from '../../../src/lib/config/DrConfig.js';
import type { ListedBlob } from '../../../src/lib/copy/ListedBlob.js';
import { FailoverInProgress } from '../../../src/lib/errors.js';
import { newRun } from '../../../src/lib/failover/FailoverRun.js';
import { LOCK_SETUP_GRACE_IN_MS, RunStore } from '../../../src/lib/failover/RunStore.js';
import { DEFAULT_FAILOVER_OPTIONS } from '../../../src/lib/failover/StepContext.js';
import { silentLogger } from '../../../src/lib/log.js';
import { estimateCopy } from '../../../src/lib/rehearsal/copyEstimate.js';
import { latestFailoverTimings, runningFailover } from '../../../src/lib/rehearsal/failoverActivity.js';
import {
  newRehearsal,
  type RehearsalRecord,
  type RehearsalReport,
} from '../../../src/lib/rehearsal/Rehearsal.js';
import { type RehearsalRuntime, startRehearsal } from '../../../src/lib/rehearsal/RehearsalService.js';
import { RehearsalStore } from '../../../src/lib/rehearsal/RehearsalStore.js';
import { estimateRecovery } from '../../../src/lib/rehearsal/recoveryEstimate.js';
import { scratchChecks } from '../../../src/lib/rehearsal/rehearseDataPath.js';
import { decisionChecks, doctorCheck } from '../../../src/lib/rehearsal/rehearsePreflight.js';
import { SampleCandidates } from '../../../src/lib/rehearsal/sampleCandidates.js';
import { selectSample } from '../../../src/lib/rehearsal/sampleSelection.js';
import { withScratchContainer } from '../../../src/lib/rehearsal/scratchContainer.js';
import { SizeHistogram, sizeBucketOf } from '../../../src/lib/rehearsal/sizeHistogram.js';
import { InMemoryDocumentStore } from '../../helpers/InMemoryDocumentStore.js';

const GiB = 1024 ** 3;

function blob(name: string, contentLength: number, directory = false): ListedBlob {
  return {
    name,
    contentLength,
    metadata: directory ? { hdi_isfolder: 'true' } : {},
    isDirectoryStub: directory,
  };
}

/** A random sequence that repeats, so a sample is the same on every run. */
function seeded(seed = 7): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('size histogram', () => {
  it('puts a size in the power-of-two bucket [2^k, 2^(k+1)), zero bytes apart, past 2^32 too', () => {
    expect([0, 1, 2, 3, 4, 1023, 1024, 1025].map(sizeBucketOf)).toEqual([-1, 0, 1, 1, 2, 9, 10, 10]);
    expect(sizeBucketOf(2 ** 40)).toBe(40);
    expect(sizeBucketOf(2 ** 40 - 1)).toBe(39);
    expect(sizeBucketOf(5 * GiB)).toBe(32);
    expect(sizeBucketOf(2 ** 53 - 1)).toBe(52);
  });

  it('counts blobs and bytes per non-empty bucket, smallest first', () => {
    const histogram = new SizeHistogram();
    for (const size of [0, 0, 3, 2, 1000, 5 * GiB]) histogram.add(size);
    expect(histogram.buckets()).toEqual([
      { fromBytes: 0, toBytes: 1, blobs: 2, bytes: 0 },
      { fromBytes: 2, toBytes: 4, blobs: 2, bytes: 5 },
      { fromBytes: 512, toBytes: 1024, blobs: 1, bytes: 1000 },
      { fromBytes: 4 * GiB, toBytes: 8 * GiB, blobs: 1, bytes: 5 * GiB },
    ]);
  });
});

describe('sample selection', () => {
  /** 2 directories, 1,000 small files, and files of 10, 20, … 50 MiB. */
  function candidates(capacity = 100): SampleCandidates {
    const found = new SampleCandidates(capacity, seeded());
    found.add(blob('a', 0, true));
    found.add(blob('a/b', 0, true));
    for (let i = 0; i < 1000; i++) found.add(blob(`a/b/small_${i}`, 1 + (i % 100)));
    for (let i = 1; i <= 5; i++) found.add(blob(`a/big_${i}`, i * 10 * 1024 ** 2));
    return found;
  }

  it('keeps the largest blobs largest first, and a bounded spread of the rest', () => {
    const found = candidates(3);
    expect(found.largest.map((b) => b.name)).toEqual(['a/big_5', 'a/big_4', 'a/big_3']);
    expect(found.spread).toHaveLength(3);
    expect(found.directoryStubs.map((b) => b.name)).toEqual(['a', 'a/b']);
  });

  it('takes directory stubs and the largest blobs that fit half the byte limit, then a spread, within both limits', () => {
    const sample = selectSample(candidates(), { maxBlobs: 50, maxBytes: 90 * 1024 ** 2 });
    const names = sample.blobs.map((b) => b.name);
    expect(sample.directoryStubs).toBe(2);
    // Half of 90 MiB: 50 MiB is passed over, 40 MiB fits, the next that fit are the 100-byte files.
    expect(names).toContain('a/big_4');
    expect(names).not.toContain('a/big_5');
    expect(sample.largestNotSampled).toEqual({ name: 'a/big_5', bytes: 50 * 1024 ** 2 });
    expect(sample.largeBlobs).toBe(5);
    expect(sample.largestSampledBytes).toBe(40 * 1024 ** 2);
    expect(sample.blobs).toHaveLength(50);
    expect(sample.spreadBlobs).toBe(43);
    expect(sample.bytes).toBeLessThanOrEqual(90 * 1024 ** 2);
    expect(new Set(sample.blobs.map((b) => b.name)).size).toBe(50);
  });

  it('stops at the byte limit first when it is reached before the blob limit', () => {
    const sample = selectSample(candidates(), { maxBlobs: 1000, maxBytes: 2_000 });
    expect(sample.bytes).toBeLessThanOrEqual(2_000);
    // The largest that fit half of it: ten 100-byte files.
    expect(sample.largeBlobs).toBe(10);
    expect(sample.directoryStubs).toBe(2);
    expect(sample.blobs.length).toBeLessThan(100);
  });

  it('takes a directory stub and the largest blob even for a sample of one tenth of a share', () => {
    const sample = selectSample(candidates(), { maxBlobs: 2, maxBytes: GiB });
    expect(sample.blobs.map((b) => b.name)).toEqual(['a', 'a/big_5']);
  });
});

describe('copy estimate', () => {
  const scale = { copyConcurrency: 32, partitionsPerInstance: 4, instances: 1 };

  it('extrapolates by the slower of the blob rate and the byte rate on one instance', () => {
    // 100 blobs, 1 GB in 10 s: 10 blobs/s, 100 MB/s.
    const measured = { blobs: 100, bytes: 1e9, seconds: 10 };
    const manyBlobs = estimateCopy(
      { blobs: 10_000, bytes: 1e9, partitions: 2, listingSeconds: 1 },
      measured,
      scale,
    );
    expect(manyBlobs?.copySeconds).toBe(1_000);
    const manyBytes = estimateCopy(
      { blobs: 100, bytes: 1e11, partitions: 1, listingSeconds: 1 },
      measured,
      scale,
    );
    expect(manyBytes?.copySeconds).toBe(1_000);
    expect(manyBytes?.model).toMatch(/4 partitions x 32 copy calls/);
  });

  it('divides among instances, no more of them than there are partitions to share out, and never below the listing', () => {
    const measured = { blobs: 100, bytes: 0, seconds: 10 };
    const source = { blobs: 40_000, bytes: 0, partitions: 8, listingSeconds: 30 };
    const wide = estimateCopy(source, measured, { ...scale, instances: 40 });
    expect(wide?.instancesUsed).toBe(2);
    expect(wide?.copySeconds).toBe(2_000);
    const listingBound = estimateCopy({ ...source, blobs: 10 }, measured, scale);
    expect(listingBound?.copySeconds).toBe(30);
  });

  it('is undefined when nothing was measured', () => {
    const source = { blobs: 1, bytes: 1, partitions: 1, listingSeconds: 0 };
    expect(estimateCopy(source, { blobs: 0, bytes: 0, seconds: 3 }, scale)).toBeUndefined();
    expect(estimateCopy(source, { blobs: 5, bytes: 5, seconds: 0 }, scale)).toBeUndefined();
  });
});

describe('recovery estimate', () => {
  it('sums the RTO only when every part is known, and keeps the known part as a lower bound', () => {
    const known = { name: 'preflight', seconds: 12, source: 'measured' as const, detail: '' };
    const copy = { name: 'storage.copy', seconds: 600, source: 'extrapolated' as const, detail: '' };
    const promote = { name: 'database.promote', seconds: null, source: 'unknown' as const, detail: '' };
    const partial = estimateRecovery({ rpoSeconds: 30, rpoDetail: '', parts: [known, copy, promote] });
    expect(partial).toMatchObject({ rpoSeconds: 30, rtoSeconds: null, rtoKnownSeconds: 612 });
    const whole = estimateRecovery({
      rpoSeconds: 30,
      rpoDetail: '',
      parts: [known, copy, { ...promote, seconds: 300, source: 'earlier failover' }],
    });
    expect(whole.rtoSeconds).toBe(912);
  });
});

describe('go/no-go of the rehearsal', () => {
  const canFinish = {
    canFinish: true,
    sourceAccess: { access: 'x', endpoint: 'e', blobsListed: 1 },
  } as const;

  it('a planned failover refused while a forced one would proceed is a warning; a refused forced one is a problem', () => {
    const refusedPlanned = decisionChecks(
      [
        { mode: 'planned', verdict: 'refuse', reasons: ['replica lag 900 s'] },
        { mode: 'forced', verdict: 'proceed', reasons: [] },
      ],
      canFinish,
    );
    expect(refusedPlanned.map((c) => [c.id, c.outcome])).toEqual([
      ['preflight.planned', 'warn'],
      ['preflight.forced', 'pass'],
    ]);
    const refusedBoth = decisionChecks(
      [
        { mode: 'planned', verdict: 'refuse', reasons: ['the copy cannot read its source'] },
        { mode: 'forced', verdict: 'refuse', reasons: ['the copy cannot read its source'] },
      ],
      { canFinish: false, reasons: ['the copy cannot read its source'] },
    );
    expect(refusedBoth.map((c) => c.outcome)).toEqual(['fail', 'fail']);
    const blocked = decisionChecks(
      [
        { mode: 'planned', verdict: 'refuse', reasons: ['storage of the replica is smaller'] },
        { mode: 'forced', verdict: 'refuse', reasons: ['storage of the replica is smaller'] },
      ],
      canFinish,
    );
    expect(blocked.map((c) => c.outcome)).toEqual(['fail', 'fail']);
  });
});

describe('scratch container', () => {
  function container(options: { createFails?: unknown; deleteFails?: unknown } = {}) {
    const calls: string[] = [];
    return {
      calls,
      client: {
        containerName: 'kyvos-dr-rehearsal-rh-1',
        create: async () => {
          calls.push('create');
          if (options.createFails) throw options.createFails;
        },
        deleteIfExists: async () => {
          calls.push('delete');
          if (options.deleteFails) throw options.deleteFails;
        },
      },
    };
  }

  it('is deleted after the work succeeds, and after it throws', async () => {
    const ok = container();
    const done = await withScratchContainer(ok.client, async () => 'copied');
    expect(done.result).toEqual({ ok: true, value: 'copied' });
    expect(ok.calls).toEqual(['create', 'delete']);

    const failing = container();
    const failed = await withScratchContainer(failing.client, async () => {
      throw new Error('copy broke');
    });
    expect(failed.result).toMatchObject({ ok: false, error: { message: 'copy broke' } });
    expect(failed.cleanup).toEqual({ container: 'kyvos-dr-rehearsal-rh-1', deleted: true });
    expect(failing.calls).toEqual(['create', 'delete']);
  });

  it('is deleted when the rehearsal is aborted mid-copy', async () => {
    const aborted = container();
    const controller = new AbortController();
    const outcome = await withScratchContainer(
      aborted.client,
      async () => {
        controller.abort(new Error('Interrupted by SIGINT'));
        controller.signal.throwIfAborted();
      },
      { abortSignal: controller.signal },
    );
    expect(outcome.result.ok).toBe(false);
    expect(aborted.calls).toEqual(['create', 'delete']);
  });

  it('says so when it cannot be deleted, and leaves a container it did not create alone', async () => {
    const stuck = container({ deleteFails: new Error('403 AuthorizationPermissionMismatch') });
    const outcome = await withScratchContainer(stuck.client, async () => 1);
    expect(outcome.cleanup).toMatchObject({ deleted: false, error: expect.stringMatching(/403/) });

    const taken = container({
      createFails: Object.assign(new Error('exists'), { code: 'ContainerAlreadyExists' }),
    });
    let ran = false;
    const refused = await withScratchContainer(taken.client, async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(taken.calls).toEqual(['create']);
    expect(refused.result).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/not this rehearsal's/) },
    });
  });
});

describe('a rehearsal beside a failover', () => {
  const T0 = new Date('2026-12-01T10:00:00Z');
  const RUN = 'fo-20261201T100000Z-aaaaaa';
  const request = { mode: 'planned' as const, reason: 'test', dryRun: false, requestedBy: 'test' };

  function runtimeOver(documents: InMemoryDocumentStore, now: Date): RehearsalRuntime {
    return {
      deps: {
        settings: {},
        clients: {} as ClientFactory,
        config: async () => ({}) as DrConfig,
        logger: silentLogger,
        clock: () => now,
        appStorageAccount: 'kyvosdrapp',
      },
      options: DEFAULT_FAILOVER_OPTIONS,
      runs: new RunStore(documents),
      rehearsals: new RehearsalStore(documents, { clock: () => now }),
    };
  }

  it('is refused while a failover runs, naming the run, and records nothing', async () => {
    const documents = new InMemoryDocumentStore();
    const runs = new RunStore(documents);
    await runs.acquireLock(RUN, T0);
    await runs.create(newRun(RUN, request, T0));
    const runtime = runtimeOver(documents, T0);
    await expect(
      startRehearsal(runtime, { sample: { maxBlobs: 10, maxBytes: 10 }, instances: 1, requestedBy: 't' }),
    ).rejects.toThrow(FailoverInProgress);
    expect(await runtime.rehearsals.list()).toEqual([]);
  });

  it('counts a failover being started (lock taken, record not yet written) as running, but not a lock left by one that ended or died', async () => {
    const documents = new InMemoryDocumentStore();
    const runs = new RunStore(documents);
    await runs.acquireLock(RUN, T0);
    expect(await runningFailover(runs, T0)).toBe(RUN);
    expect(await runningFailover(runs, new Date(T0.getTime() + LOCK_SETUP_GRACE_IN_MS + 1))).toBeUndefined();
    const run = newRun(RUN, request, T0);
    run.state = 'Succeeded';
    await runs.create(run);
    expect(await runningFailover(runs, T0)).toBeUndefined();
  });

  it("takes the promote's time from the latest failover that succeeded, never from a dry run or a failed one", async () => {
    const documents = new InMemoryDocumentStore();
    const runs = new RunStore(documents);
    const ended = (
      runId: string,
      state: 'Succeeded' | 'Failed',
      endedAt: string,
      promoteSeconds: number,
      dryRun = false,
    ) => {
      const run = newRun(runId, { ...request, dryRun }, T0);
      run.state = state;
      run.endedAt = endedAt;
      run.steps['database.promote'].durationSeconds = promoteSeconds;
      return runs.create(run);
    };
    expect(await latestFailoverTimings(runs, ['database.promote'])).toBeUndefined();
    await ended('fo-20261101T000000Z-aaaaaa', 'Succeeded', '2026-11-01T01:00:00Z', 300);
    await ended('fo-20261110T000000Z-bbbbbb', 'Succeeded', '2026-11-10T01:00:00Z', 240);
    await ended('fo-20261120T000000Z-cccccc', 'Failed', '2026-11-20T01:00:00Z', 10);
    await ended('fo-20261125T000000Z-dddddd', 'Succeeded', '2026-11-25T01:00:00Z', 1, true);
    expect(await latestFailoverTimings(runs, ['database.promote', 'record'])).toEqual({
      runId: 'fo-20261110T000000Z-bbbbbb',
      seconds: { 'database.promote': 240 },
    });
  });

  it('starts when no failover runs, Queued, and is listed newest first', async () => {
    const documents = new InMemoryDocumentStore();
    const first = await startRehearsal(runtimeOver(documents, T0), {
      sample: { maxBlobs: 10, maxBytes: 10 },
      instances: 1,
      requestedBy: 't',
    });
    const later = await startRehearsal(runtimeOver(documents, new Date(T0.getTime() + 60_000)), {
      sample: { maxBlobs: 10, maxBytes: 10 },
      instances: 1,
      requestedBy: 't',
    });
    expect(first.state).toBe('Queued');
    const listed = await runtimeOver(documents, T0).rehearsals.list();
    expect(listed.map((r) => r.rehearsalId)).toEqual([later.rehearsalId, first.rehearsalId]);
  });
});

describe('what the rehearsal counts as a problem', () => {
  const copy = {
    account: 'kyvosdrdata',
    container: 'kyvos-dr-rehearsal-rh-1',
    partitions: 4,
    copyConcurrency: 32,
    blobsCopied: 10,
    bytesCopied: 100,
    blobsFailed: 0,
    failures: [],
    seconds: 2,
  };
  const verification = {
    ok: true,
    sourceCount: 10,
    destinationCount: 12,
    matched: 10,
    missing: [],
    missingCount: 0,
    mismatched: [],
    mismatchedCount: 0,
    extraCount: 2,
    accessControlChecked: false,
    listingOrder: 'hierarchical' as const,
    durationInMs: 5,
  };

  it('a scratch container left behind fails the rehearsal, naming the command that deletes it', () => {
    const checks = scratchChecks(
      'kyvosdrdata',
      { container: 'kyvos-dr-rehearsal-rh-1', deleted: false, error: '403 AuthorizationFailure' },
      { ok: true, value: { copy, verification } },
      10,
    );
    expect(checks.map((c) => [c.id, c.outcome])).toEqual([
      ['cleanup.scratchContainer', 'fail'],
      ['copy.sample', 'pass'],
      ['copy.verify', 'pass'],
    ]);
    expect(checks[0]?.detail).toContain(
      'az storage container delete --account-name kyvosdrdata --name kyvos-dr-rehearsal-rh-1',
    );
  });

  it('a sampled blob not copied, or copied unequal, fails the rehearsal', () => {
    const cleanup = { container: 'c', deleted: true };
    const failedBlob = scratchChecks(
      'a',
      cleanup,
      {
        ok: true,
        value: {
          copy: { ...copy, blobsFailed: 1, failures: [{ name: 'x', reason: 'denied' }] },
          verification,
        },
      },
      10,
    );
    expect(failedBlob.find((c) => c.id === 'copy.sample')).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining('x: denied'),
    });
    const unequal = scratchChecks(
      'a',
      cleanup,
      {
        ok: true,
        value: {
          copy,
          verification: {
            ...verification,
            ok: false,
            mismatchedCount: 1,
            mismatched: [{ name: 'y', reason: 'size' }],
          },
        },
      },
      10,
    );
    expect(unequal.find((c) => c.id === 'copy.verify')?.outcome).toBe('fail');
  });

  it("the doctor's fail is a problem; its warn and unknown are warnings; no finding at all (the checks did not run) is a warning", () => {
    const report = (outcome: 'pass' | 'fail' | 'warn' | 'unknown') => ({
      outcome,
      findings: [
        { area: 'network' as const, id: 'network.x', outcome, detail: 'd', fix: 'open the firewall' },
      ],
      counts: { pass: 0, fail: 0, warn: 0, unknown: 0, [outcome]: 1 },
      checkedAt: '2026-12-01T00:00:00Z',
    });
    expect(doctorCheck(report('fail'))).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining('open the firewall'),
    });
    expect(doctorCheck(report('unknown')).outcome).toBe('warn');
    expect(doctorCheck(report('warn')).outcome).toBe('warn');
    expect(doctorCheck({ ...report('pass'), findings: [] }).outcome).toBe('warn');
  });
});

describe('the copy estimate a dry run borrows from the history', () => {
  const at = new Date('2026-12-01T10:00:00Z');
  const estimate = {
    blobsPerSecond: 10,
    bytesPerSecond: 1000,
    instancesUsed: 1,
    copySeconds: 900,
    model: 'm',
  };
  const record = (rehearsalId: string, withEstimate: boolean): RehearsalRecord => ({
    ...newRehearsal(
      rehearsalId,
      { sample: { maxBlobs: 1, maxBytes: 1 }, instances: 1, requestedBy: 't' },
      at,
    ),
    state: withEstimate ? 'Passed' : 'Failed',
    endedAt: at.toISOString(),
    ...(withEstimate
      ? { report: { estimate, source: { blobs: 1200, bytes: 5000 } } as unknown as RehearsalReport }
      : {}),
  });

  it("is the latest rehearsal's that measured one, naming it; none before any did", async () => {
    const store = new RehearsalStore(new InMemoryDocumentStore());
    expect(await store.latestCopyEstimate()).toBeUndefined();
    await store.create(record('rh-20261130T100000Z-aaaaaa', true));
    await store.create(record('rh-20261201T090000Z-bbbbbb', true));
    await store.create(record('rh-20261201T100000Z-cccccc', false));
    const latest = await store.latestCopyEstimate();
    expect(latest?.estimate.copySeconds).toBe(900);
    expect(latest?.measuredBy).toContain('rehearsal rh-20261201T090000Z-bbbbbb');
    expect(latest?.measuredBy).toContain('1200 blobs');
  });
});
