import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { statusOf } from '../errors.js';
import type { FailoverRun } from './FailoverRun.js';

/** The container in the app's own storage account that holds run records, checkpoints and health history. */
export const STATE_CONTAINER = 'kyvos-dr';

const LOCK_BLOB = 'locks/failover.json';

export interface LockRecord {
  runId: string;
  acquiredAt: string;
}

/**
 * Run records in the app's storage, updated with optimistic concurrency (ETag `If-Match`), so that
 * two workers never overwrite each other's changes and a step is claimed by exactly one of them.
 */
export class RunStore {
  readonly container: ContainerClient;
  #containerReady: Promise<unknown> | undefined;

  constructor(service: BlobServiceClient) {
    this.container = service.getContainerClient(STATE_CONTAINER);
  }

  private ready(): Promise<unknown> {
    this.#containerReady ??= this.container.createIfNotExists().catch((error) => {
      this.#containerReady = undefined;
      throw error;
    });
    return this.#containerReady;
  }

  private runBlob(runId: string) {
    return this.container.getBlockBlobClient(`runs/${runId}/run.json`);
  }

  async get(runId: string): Promise<FailoverRun | undefined> {
    return (await this.getWithEtag(runId))?.run;
  }

  private async getWithEtag(runId: string): Promise<{ run: FailoverRun; etag: string } | undefined> {
    await this.ready();
    try {
      // Body and ETag from the same response: If-Match then guards exactly what was read.
      const response = await this.runBlob(runId).download();
      const body = await readBody(response.readableStreamBody);
      return { run: JSON.parse(body) as FailoverRun, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Creates the record; fails if a run with this id exists. */
  async create(run: FailoverRun): Promise<void> {
    await this.ready();
    const body = JSON.stringify(run);
    await this.runBlob(run.runId).upload(body, Buffer.byteLength(body), {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  }

  /**
   * Applies `mutate` to the latest record and writes it back if nobody wrote in between; otherwise
   * re-reads and tries again. `mutate` may return `false` to write nothing. Returns the record as
   * written (or as read, when nothing was written).
   */
  async update(runId: string, mutate: (run: FailoverRun) => boolean | undefined): Promise<FailoverRun> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await this.getWithEtag(runId);
      if (!current) throw new Error(`Failover run ${runId} does not exist.`);
      const { run, etag } = current;
      if (mutate(run) === false) return run;
      run.updatedAt = new Date().toISOString();
      const body = JSON.stringify(run);
      try {
        await this.runBlob(runId).upload(body, Buffer.byteLength(body), {
          conditions: { ifMatch: etag },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
        return run;
      } catch (error) {
        if (statusOf(error) !== 412) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
      }
    }
    throw new Error(
      `Failover run ${runId} is being updated by too many workers at once; gave up after 50 tries.`,
    );
  }

  /**
   * Takes the failover lock for `runId`. Returns the holder's run id when another run holds it.
   * The lock is released when a run ends, so a crashed run keeps it and is resumed, not duplicated.
   */
  async acquireLock(
    runId: string,
    now: Date,
  ): Promise<{ acquired: true } | { acquired: false; holder: string }> {
    await this.ready();
    const blob = this.container.getBlockBlobClient(LOCK_BLOB);
    const body = JSON.stringify({ runId, acquiredAt: now.toISOString() } satisfies LockRecord);
    try {
      await blob.upload(body, Buffer.byteLength(body), { conditions: { ifNoneMatch: '*' } });
      return { acquired: true };
    } catch (error) {
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    }
    const holder = await this.lockHolder();
    if (holder === undefined) return this.acquireLock(runId, now);
    return holder === runId ? { acquired: true } : { acquired: false, holder };
  }

  async lockHolder(): Promise<string | undefined> {
    await this.ready();
    try {
      const buffer = await this.container.getBlockBlobClient(LOCK_BLOB).downloadToBuffer();
      return (JSON.parse(buffer.toString('utf8')) as LockRecord).runId;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async releaseLock(runId: string): Promise<void> {
    if ((await this.lockHolder()) !== runId) return;
    await this.container
      .getBlockBlobClient(LOCK_BLOB)
      .deleteIfExists()
      .catch(() => {});
  }

  /**
   * Binds an alert id to a run id, once: Azure Monitor action groups retry webhooks, and the same
   * alert must join the same run. Returns the run id bound first.
   */
  async bindAlert(alertId: string, runId: string): Promise<string> {
    await this.ready();
    const blob = this.container.getBlockBlobClient(`alerts/${encodeURIComponent(alertId)}.json`);
    const body = JSON.stringify({ alertId, runId });
    try {
      await blob.upload(body, Buffer.byteLength(body), { conditions: { ifNoneMatch: '*' } });
      return runId;
    } catch (error) {
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      const existing = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as { runId: string };
      return existing.runId;
    }
  }

  /** Points an alert at another run (the one that was already running when it fired). */
  async rebindAlert(alertId: string, runId: string): Promise<void> {
    await this.ready();
    const body = JSON.stringify({ alertId, runId });
    await this.container
      .getBlockBlobClient(`alerts/${encodeURIComponent(alertId)}.json`)
      .upload(body, Buffer.byteLength(body));
  }

  async alertRun(alertId: string): Promise<string | undefined> {
    await this.ready();
    try {
      const blob = this.container.getBlockBlobClient(`alerts/${encodeURIComponent(alertId)}.json`);
      return (JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as { runId: string }).runId;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

async function readBody(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
