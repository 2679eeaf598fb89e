import type { ClientFactory } from '../clients/ClientFactory.js';
import type { Logger } from '../log.js';
import type { SourceAccess } from '../source/SourceAccess.js';
import type { CheckpointStore } from './CheckpointStore.js';

/** Where a failover copy writes: the DR account, with the Function's identity. */
interface CopyDestination {
  account: string;
  container: string;
}

/**
 * One unit of copy work: one page of the source listing. It is small (well under the 64 KiB of a
 * Storage queue message) because it names the page by the continuation token where it starts,
 * never by its blobs; the worker lists the page again. Copying a partition is idempotent: every
 * write is an overwrite of the destination blob with the source's bytes and properties.
 */
export interface CopyPartition {
  /** The failover run this partition belongs to; checkpoints are kept per run. */
  runId: string;
  /** Position of the page in the listing, from 0. */
  index: number;
  /** Continuation token where the page starts; undefined for the first page. */
  marker?: string;
  /** The `maxPageSize` the page was listed with; the worker lists with the same. */
  pageSize: number;
  /**
   * The planner stored the page as a manifest (`CheckpointStore.getManifest`): the worker copies it
   * instead of listing the page again. Without one, or when it is missing, the worker lists.
   */
  manifest?: boolean;
  /**
   * How many times the run had been retried when the message was sent (absent: never). A retry
   * sends every unfinished partition again, so a worker drops a message from before the latest
   * retry instead of copying the partition twice at once.
   */
  retry?: number;
}

/** What the copy engine works with. */
export interface CopyDeps {
  /** For the destination and the checkpoints: the source is read through `source` only. */
  clients: ClientFactory;
  /** The source, through the secondary, with the SAS read or signed once for this step. */
  source: SourceAccess;
  destination: CopyDestination;
  checkpoints: CheckpointStore;
  logger: Logger;
  /** Wall clock, for checkpoint times. Defaults to `new Date()`. */
  clock?: () => Date;
  /**
   * Carry the owner, group and ACL of every path to the destination through the Data Lake endpoint
   * after its data, and check them in verification (`accessControl.ts`). Off when absent.
   */
  accessControl?: boolean;
}

/** Default Copy Blob From URL limit: larger blobs use the asynchronous Copy Blob. */
export const SYNC_COPY_LIMIT_IN_BYTES = 256 * 1024 * 1024;

/** Default blobs per partition (one List Blobs page; the service returns at most 5,000). */
export const DEFAULT_PAGE_SIZE = 1_000;

/**
 * Copy partitions one instance works on at once. The Functions host's limit in `host.json`
 * (`batchSize` plus `newBatchThreshold`) and the default of its in-process stand-in (`runQueueHost`),
 * so that the local stack and the benchmarks run what an instance runs.
 */
export const PARTITIONS_PER_INSTANCE = 4;
