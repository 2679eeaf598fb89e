import { delay } from '@azure/core-util';
import { describeError } from '../../src/lib/redact.js';
import type { PgInstance } from '../types.js';

/**
 * A reading of the primary's metadata table: `rows` rows with ids up to `maxId` were committed when
 * the reply arrived at `at`, so every row a client had been told was written by then is among them.
 */
export interface CommitSample {
  at: string;
  rows: number;
  maxId: number;
}

/** The table `seedMetadataRepository` creates and `startMetadataWriter` keeps writing to. */
const TABLE = 'kyvos_semantic_model';

/**
 * Reads the primary's committed rows every `intervalInMs` while the drill runs, so that the rows
 * committed before the failover decision are known afterwards, when the old primary is fenced or
 * down. Failed reads (the primary stopped) are skipped.
 */
export function sampleCommittedRows(
  primary: PgInstance,
  intervalInMs = 250,
): { samples: CommitSample[]; sampleNow(): Promise<CommitSample | undefined>; stop(): Promise<void> } {
  const samples: CommitSample[] = [];
  let running = true;
  const sampleNow = async (): Promise<CommitSample | undefined> => {
    try {
      const [row] = await primary.query<{ n: string; m: string }>(
        `SELECT count(*)::text AS n, coalesce(max(id), 0)::text AS m FROM ${TABLE}`,
      );
      const sample = { at: new Date().toISOString(), rows: Number(row?.n), maxId: Number(row?.m) };
      samples.push(sample);
      return sample;
    } catch {
      return undefined;
    }
  };
  const loop = (async () => {
    while (running) {
      if (primary.isRunning()) await sampleNow();
      await delay(intervalInMs);
    }
  })();
  return {
    samples,
    sampleNow,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Whether the promoted server has the metadata rows the primary had committed before the decision. */
export interface MetadataAudit {
  /** The last sample taken at or before the decision; null when there is none (no decision, no sample). */
  basis: (CommitSample & { secondsBeforeDecision: number }) | null;
  /** Of the rows in `basis`, how many the promoted server has, and how many it lacks. */
  present: number | null;
  missing: number | null;
  /** Rows on the promoted server in all. */
  promotedRows: number | null;
  /** Why the promoted server could not be read, when it could not. */
  error?: string;
}

/**
 * Compares the promoted server with the primary's last committed-rows sample before the decision.
 * Rows are only ever inserted, by one writer at a time, so ids are committed in order: the promoted
 * server has every row of a sample exactly when it has `rows` rows with an id up to `maxId`.
 */
export async function auditPromotedRows(
  promoted: PgInstance,
  samples: CommitSample[],
  decidedAt: string | undefined,
): Promise<MetadataAudit> {
  const before = decidedAt ? samples.filter((s) => s.at <= decidedAt).at(-1) : undefined;
  const basis =
    before && decidedAt
      ? {
          ...before,
          secondsBeforeDecision: Math.round((Date.parse(decidedAt) - Date.parse(before.at)) / 100) / 10,
        }
      : null;
  const audit: MetadataAudit = {
    basis,
    present: null,
    missing: null,
    promotedRows: null,
  };
  try {
    const [total] = await promoted.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${TABLE}`);
    audit.promotedRows = Number(total?.n);
    if (basis) {
      const [upTo] = await promoted.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${TABLE} WHERE id <= $1`,
        [basis.maxId],
      );
      audit.present = Number(upTo?.n);
      audit.missing = Math.max(0, basis.rows - audit.present);
    }
  } catch (error) {
    audit.error = describeError(error);
  }
  return audit;
}

/** Whether the promoted server holds every write the live writer was told succeeded. */
export interface AcknowledgedWritesAudit {
  /** Rows whose INSERT returned success on the primary while the drill ran. */
  acknowledged: number;
  /** Of them, how many the promoted server has, and lacks; null when it could not be read. */
  present: number | null;
  missing: number | null;
  /** The ids of missing rows, the first 20. */
  missingIds: number[];
  error?: string;
}

/**
 * Counts, row by row, the acknowledged writes (by id) that the promoted server lacks. After a
 * planned failover there must be none: the run waited for the operator to stop the writer and for
 * the replica to replay everything before it promoted.
 */
export async function auditAcknowledgedWrites(
  promoted: PgInstance,
  acknowledgedIds: number[],
): Promise<AcknowledgedWritesAudit> {
  const audit: AcknowledgedWritesAudit = {
    acknowledged: acknowledgedIds.length,
    present: null,
    missing: null,
    missingIds: [],
  };
  try {
    const rows = await promoted.query<{ id: string }>(
      `SELECT id::text AS id FROM ${TABLE} WHERE id = ANY($1::bigint[])`,
      [acknowledgedIds],
    );
    const present = new Set(rows.map((r) => Number(r.id)));
    const missing = acknowledgedIds.filter((id) => !present.has(id));
    audit.present = acknowledgedIds.length - missing.length;
    audit.missing = missing.length;
    audit.missingIds = missing.slice(0, 20);
  } catch (error) {
    audit.error = describeError(error);
  }
  return audit;
}
