import type { ContainerClient } from '@azure/storage-blob';
import type { ClientFactory } from '../clients/ClientFactory.js';
import { codeOf, statusOf } from '../errors.js';
import type { HealthCheckName, HealthReport } from '../health/HealthReport.js';
import { describeError } from '../redact.js';
import { BlobDocumentStore, DamagedDocument, type DocumentStore, updateDocument } from './DocumentStore.js';

/** The container of kyvos-dr's own state in the app storage account. */
export const APP_CONTAINER = 'kyvos-dr';
const DEFAULT_HEALTH_RETENTION_DAYS = 7;

/** The latest result of a check, and how long the check has been failing, so alerting is not flappy. */
export interface LatestHealth<R extends HealthReport = HealthReport> {
  report: R;
  /** Non-Healthy results in a row, up to and including this one; 0 when the latest is Healthy. */
  consecutiveNonHealthy: number;
  /** `checkedAt` of the first result of the current non-Healthy run; null when Healthy. */
  nonHealthySince: string | null;
}

export interface RecordedHealth<R extends HealthReport = HealthReport> extends LatestHealth<R> {
  /** Results older than the retention deleted by this write. */
  prunedBlobs: number;
  /** Why pruning failed, when it did; the result itself was recorded. */
  pruneError?: string;
}

export interface HealthHistoryOptions {
  /** Results are kept at least this long; whole days older than it are deleted on write. Default 7. */
  retentionInDays?: number;
  clock?: () => Date;
}

/**
 * Health results in the app's own storage:
 * - `health/<check>/<yyyy-mm-dd>/<checkedAt>.json`: every result, kept for at least the retention
 *   (7 days); whole days older than that are deleted when a new result is written;
 * - `health/<check>/latest.json`: the latest result with `consecutiveNonHealthy`, a document updated
 *   with `updateDocument` (an ETag read-modify-write, re-applied on conflict), so concurrent writers
 *   (two instances of a timer, a manual run) never lose a count. A damaged one is replaced.
 *
 * `record` is safe to retry: writing the same result twice rewrites the same result blob, though it
 * counts twice in `consecutiveNonHealthy` when non-Healthy.
 */
export class HealthHistory {
  readonly #container: ContainerClient;
  /** `latest.json` of each check, as documents of the same container. */
  readonly #documents: DocumentStore;
  readonly #retentionInDays: number;
  readonly #clock: () => Date;

  constructor(container: ContainerClient, options: HealthHistoryOptions = {}) {
    this.#container = container;
    this.#documents = new BlobDocumentStore(container);
    this.#retentionInDays = options.retentionInDays ?? DEFAULT_HEALTH_RETENTION_DAYS;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Stores a result, updates `latest.json`, and prunes results older than the retention. */
  async record<R extends HealthReport>(
    report: R,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<RecordedHealth<R>> {
    const day = report.checkedAt.slice(0, 10);
    await this.#putJson(
      `${prefixOf(report.check)}${day}/${report.checkedAt}.json`,
      report,
      options.abortSignal,
    );
    const latest = await this.#updateLatest(report, options.abortSignal);
    try {
      const prunedBlobs = await this.prune(report.check, options);
      return { ...latest, prunedBlobs };
    } catch (error) {
      return { ...latest, prunedBlobs: 0, pruneError: describeError(error) };
    }
  }

  /** The latest result of a check with its non-Healthy count, or undefined before the first one. */
  async latest<R extends HealthReport = HealthReport>(
    check: HealthCheckName,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<LatestHealth<R> | undefined> {
    try {
      return (await this.#documents.read<LatestHealth<R>>(latestKey(check), options))?.value;
    } catch (error) {
      // A damaged latest.json is replaced by the next result; until then there is no latest.
      if (error instanceof DamagedDocument) return undefined;
      throw error;
    }
  }

  /** Every stored result of a check since `since` (default: all kept), oldest first. */
  async *list(
    check: HealthCheckName,
    options: { since?: Date; abortSignal?: AbortSignal } = {},
  ): AsyncIterableIterator<HealthReport> {
    const sinceDay = options.since?.toISOString().slice(0, 10) ?? '';
    const since = options.since?.toISOString() ?? '';
    for (const day of await this.#days(check, options.abortSignal)) {
      if (day < sinceDay) continue;
      const names: string[] = [];
      for await (const blob of this.#container.listBlobsFlat({
        prefix: `${prefixOf(check)}${day}/`,
        abortSignal: options.abortSignal,
      })) {
        names.push(blob.name);
      }
      for (const name of names.sort()) {
        const report = JSON.parse(await this.#readText(name, options.abortSignal)) as HealthReport;
        if (report.checkedAt >= since) yield report;
      }
    }
  }

  /** Deletes the results of whole days older than the retention. Returns how many blobs were deleted. */
  async prune(check: HealthCheckName, options: { abortSignal?: AbortSignal } = {}): Promise<number> {
    const cutoffDay = new Date(this.#clock().getTime() - this.#retentionInDays * 86_400_000)
      .toISOString()
      .slice(0, 10);
    let deleted = 0;
    for (const day of await this.#days(check, options.abortSignal)) {
      if (day >= cutoffDay) continue;
      for await (const blob of this.#container.listBlobsFlat({
        prefix: `${prefixOf(check)}${day}/`,
        abortSignal: options.abortSignal,
      })) {
        const response = await this.#container
          .deleteBlob(blob.name, { abortSignal: options.abortSignal })
          .catch((error: unknown) => {
            if (statusOf(error) === 404) return undefined;
            throw error;
          });
        if (response) deleted++;
      }
    }
    return deleted;
  }

  /** The `yyyy-mm-dd` folders of a check, ascending. */
  async #days(check: HealthCheckName, abortSignal: AbortSignal | undefined): Promise<string[]> {
    const days: string[] = [];
    try {
      for await (const item of this.#container.listBlobsByHierarchy('/', {
        prefix: prefixOf(check),
        abortSignal,
      })) {
        if (item.kind !== 'prefix') continue;
        const day = item.name.slice(prefixOf(check).length).replace(/\/$/, '');
        if (/^\d{4}-\d{2}-\d{2}$/.test(day)) days.push(day);
      }
    } catch (error) {
      if (codeOf(error) === 'ContainerNotFound') return [];
      throw error;
    }
    return days.sort();
  }

  async #updateLatest<R extends HealthReport>(
    report: R,
    abortSignal: AbortSignal | undefined,
  ): Promise<LatestHealth<R>> {
    const { value } = await updateDocument<LatestHealth<R>>(
      this.#documents,
      latestKey(report.check),
      (current) => advance(current, report),
      { replaceDamaged: true, ...(abortSignal ? { abortSignal } : {}) },
    );
    return value as LatestHealth<R>;
  }

  async #readText(name: string, abortSignal: AbortSignal | undefined): Promise<string> {
    const response = await this.#container.getBlobClient(name).download(0, undefined, { abortSignal });
    return streamToText(response.readableStreamBody);
  }

  /** Writes one result (a rewrite of the same result is the same blob). */
  async #putJson(name: string, value: unknown, abortSignal: AbortSignal | undefined): Promise<void> {
    const body = JSON.stringify(value);
    const upload = () =>
      this.#container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        abortSignal,
      });
    try {
      await upload();
    } catch (error) {
      if (codeOf(error) !== 'ContainerNotFound') throw error;
      await this.#container.createIfNotExists({ abortSignal });
      await upload();
    }
  }
}

/** The history in the app storage account (`KYVOS_DR_APP_STORAGE_ACCOUNT`), container `kyvos-dr`. */
export function healthHistoryOf(
  deps: { clients: ClientFactory; appStorageAccount: string; clock: () => Date },
  options: Omit<HealthHistoryOptions, 'clock'> = {},
): HealthHistory {
  const container = deps.clients.blobService(deps.appStorageAccount).getContainerClient(APP_CONTAINER);
  return new HealthHistory(container, { ...options, clock: deps.clock });
}

/**
 * The next `latest.json`. A result older than the stored one (a slow concurrent writer) does not
 * replace it, but still counts when both are non-Healthy.
 */
function advance<R extends HealthReport>(previous: LatestHealth<R> | undefined, report: R): LatestHealth<R> {
  const healthy = report.status === 'Healthy';
  if (previous && previous.report.checkedAt > report.checkedAt) {
    if (healthy || previous.report.status === 'Healthy') return previous;
    return { ...previous, consecutiveNonHealthy: previous.consecutiveNonHealthy + 1 };
  }
  if (healthy) return { report, consecutiveNonHealthy: 0, nonHealthySince: null };
  const count = (previous?.consecutiveNonHealthy ?? 0) + 1;
  return {
    report,
    consecutiveNonHealthy: count,
    nonHealthySince: count > 1 && previous?.nonHealthySince ? previous.nonHealthySince : report.checkedAt,
  };
}

function prefixOf(check: HealthCheckName): string {
  return `health/${check}/`;
}

function latestKey(check: HealthCheckName): string {
  return `${prefixOf(check)}latest.json`;
}

async function streamToText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
