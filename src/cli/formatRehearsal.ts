import type { RehearsalRecord } from '../lib/rehearsal/Rehearsal.js';
import type { RehearsalSummary } from '../lib/rehearsal/rehearsalSummary.js';
import { field, formatBytes, formatCount, formatSeconds, formatStorageStrategies, hang } from './format.js';

const MARK = { pass: 'ok  ', fail: 'FAIL', warn: 'warn', skipped: 'skip' } as const;

/** A rehearsal as the operator reads it: the verdict, every check, the figures, RPO and RTO. */
export function formatRehearsal(record: RehearsalRecord): string[] {
  const lines = [`Rehearsal ${record.rehearsalId}: ${record.state}`];
  if (record.error) lines.push(...field('error', record.error));
  const report = record.report;
  if (!report) return lines;
  lines.push('', '  Checks');
  for (const check of report.checks)
    lines.push(...hang(`    ${MARK[check.outcome]}  ${check.id.padEnd(30)}`, check.detail));
  lines.push('');
  const { source, sample, copy, estimate, recovery, replica } = report;
  if (source) {
    lines.push(
      ...field(
        'source',
        `${formatCount(source.blobs)} blobs, ${formatBytes(source.bytes)} (${formatCount(source.directoryStubs)} directories, ${formatCount(source.largeBlobs)} large) through ${source.endpoint}, listed in ${formatSeconds(source.listingSeconds)}`,
      ),
      ...field(
        'sizes',
        source.histogram
          .map((b) => `${b.fromBytes === 0 ? '0 B' : `<${formatBytes(b.toBytes)}`}: ${formatCount(b.blobs)}`)
          .join(', ') || 'none',
      ),
    );
  }
  if (sample) {
    lines.push(
      ...field(
        'sample',
        `${formatCount(sample.directoryStubs + sample.largeBlobs + sample.spreadBlobs)} blobs, ${formatBytes(sample.bytes)} (${sample.directoryStubs} directories, ${sample.largeBlobs} largest, ${sample.spreadBlobs} spread; largest ${formatBytes(sample.largestSampledBytes)})`,
      ),
    );
  }
  if (copy) {
    lines.push(
      ...field(
        'copy',
        `${formatCount(copy.blobsCopied)} blobs, ${formatBytes(copy.bytesCopied)} in ${formatSeconds(copy.seconds)} into ${copy.account}/${copy.container} (deleted after)`,
      ),
    );
  }
  if (estimate) {
    lines.push(
      ...field(
        'throughput',
        `${formatBytes(Math.round(estimate.bytesPerSecond))}/s, ${estimate.blobsPerSecond.toFixed(1)} blobs/s (measured)`,
      ),
      ...field(
        'copy estimate',
        `${formatSeconds(estimate.copySeconds)} for the whole source (extrapolated: ${estimate.model})`,
      ),
    );
  }
  lines.push(
    ...field(
      'replica',
      `${replica.server}: lag ${formatSeconds(replica.lagSeconds)}; planned promote ${replica.eligibleForPlannedPromote ? 'eligible' : 'not eligible'}`,
    ),
    ...field('RPO', `${formatSeconds(recovery.rpoSeconds)} (${recovery.rpoDetail || 'measured now'})`),
    ...field(
      'RTO',
      recovery.rtoSeconds !== null
        ? formatSeconds(recovery.rtoSeconds)
        : `at least ${formatSeconds(recovery.rtoKnownSeconds)} (${recovery.parts.filter((p) => p.seconds === null).length} of its parts unknown, below)`,
    ),
  );
  for (const part of recovery.parts)
    lines.push(
      ...hang(
        `    ${part.name.padEnd(22)}${formatSeconds(part.seconds).padStart(12)}  ${part.source.padEnd(17)}`,
        '',
      ),
    );
  lines.push(...field('RTO excludes', recovery.excludes));
  if (report.storageStrategies) lines.push(...formatStorageStrategies(report.storageStrategies));
  return lines;
}

/** The history as a table, newest first. */
export function formatRehearsalHistory(rows: RehearsalSummary[]): string[] {
  if (rows.length === 0) return ['No rehearsal yet: run kyvos-dr rehearse.'];
  return [
    `  ${'rehearsal'.padEnd(28)}${'state'.padEnd(8)}${'ended'.padEnd(22)}${'RPO'.padStart(10)}${'RTO'.padStart(16)}  problems`,
    ...rows.flatMap((r) =>
      hang(
        `  ${r.rehearsalId.padEnd(28)}${r.state.padEnd(8)}${(r.endedAt ?? '-').slice(0, 19).padEnd(22)}${formatSeconds(r.rpoSeconds).padStart(10)}${(r.rtoSeconds !== null ? formatSeconds(r.rtoSeconds) : `>= ${formatSeconds(r.rtoKnownSeconds)}`).padStart(16)}  `,
        r.problems.length > 0 ? r.problems.join('; ') : '-',
      ),
    ),
  ];
}
