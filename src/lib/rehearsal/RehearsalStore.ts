import type { BlobServiceClient } from '@azure/storage-blob';
import { stateDocuments } from '../failover/RunStore.js';
import { type DocumentStore, updateDocument } from '../state/DocumentStore.js';
import type { CopyEstimate } from './copyEstimate.js';
import type { RehearsalRecord } from './Rehearsal.js';

const PREFIX = 'rehearsals/';

/**
 * Rehearsal records in the app's storage, beside the failover runs (`rehearsals/<id>.json` in the
 * state container), as documents with ETag conditions: the history an operator lists.
 */
export class RehearsalStore {
  readonly documents: DocumentStore;
  readonly #clock: () => Date;

  constructor(documents: DocumentStore | BlobServiceClient, options: { clock?: () => Date } = {}) {
    this.documents = stateDocuments(documents);
    this.#clock = options.clock ?? (() => new Date());
  }

  async get(rehearsalId: string): Promise<RehearsalRecord | undefined> {
    return (await this.documents.read<RehearsalRecord>(keyOf(rehearsalId)))?.value;
  }

  /** Creates the record; false, writing nothing, when one with this id exists. */
  async create(record: RehearsalRecord): Promise<boolean> {
    return (await this.documents.write(keyOf(record.rehearsalId), record, { ifAbsent: true })) !== undefined;
  }

  /**
   * Applies `mutate` to the latest record and writes it back (an ETag read-modify-write, applied
   * again on conflict); `mutate` returns false to write nothing. Stamps `updatedAt`.
   */
  async update(
    rehearsalId: string,
    mutate: (record: RehearsalRecord) => boolean | undefined,
  ): Promise<RehearsalRecord> {
    const { value } = await updateDocument<RehearsalRecord>(this.documents, keyOf(rehearsalId), (record) => {
      if (!record) throw new Error(`Rehearsal ${rehearsalId} does not exist.`);
      if (mutate(record) === false) return undefined;
      record.updatedAt = this.#clock().toISOString();
      return record;
    });
    return value as RehearsalRecord;
  }

  /** The latest rehearsals, newest first (ids sort by their start time), at most `limit`. */
  async list(options: { limit?: number; abortSignal?: AbortSignal } = {}): Promise<RehearsalRecord[]> {
    const ids: string[] = [];
    for await (const key of this.documents.keys(PREFIX, options)) {
      const match = /^rehearsals\/([^/]+)\.json$/.exec(key);
      if (match?.[1]) ids.push(match[1]);
    }
    const latest = ids
      .sort()
      .reverse()
      .slice(0, options.limit ?? 20);
    const records = await Promise.all(latest.map((id) => this.get(id)));
    return records.filter((r): r is RehearsalRecord => r !== undefined);
  }

  /**
   * The copy estimate of the latest rehearsal that measured one, with which rehearsal it was:
   * what a dry run, which measures no copy, can show. Undefined when none did.
   */
  async latestCopyEstimate(
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<{ estimate: CopyEstimate; measuredBy: string } | undefined> {
    for (const record of await this.list(options)) {
      const estimate = record.report?.estimate;
      if (!estimate) continue;
      const source = record.report?.source;
      const of = source ? `, for ${source.blobs} blobs and ${source.bytes} bytes listed then` : '';
      return {
        estimate,
        measuredBy: `rehearsal ${record.rehearsalId} (ended ${record.endedAt ?? 'unknown'}${of})`,
      };
    }
    return undefined;
  }
}

function keyOf(rehearsalId: string): string {
  return `${PREFIX}${rehearsalId}.json`;
}
