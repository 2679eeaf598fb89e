/**
 * The copy child process: receives one `CopyJob` over IPC, runs it against the local stack named by
 * the job's descriptor, samples its own memory, answers with a `result` (or `error`) and exits.
 * Started by `runCopyJob` (childProcess.ts); not meant to be run by hand.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import {
  type ClientFactory,
  clientEnvironmentFromSettings,
  createClientFactory,
} from '../src/lib/clients/ClientFactory.js';
import { Sensitive } from '../src/lib/config/DrConfig.js';
import { BlobCheckpointStore } from '../src/lib/copy/BlobCheckpointStore.js';
import { type ListableContainer, listableContainer, listBlobPages } from '../src/lib/copy/blobListing.js';
import type { CopyProgressEvent } from '../src/lib/copy/CopyProgress.js';
import type { CopyDeps } from '../src/lib/copy/types.js';
import { poisonQueueOf } from '../src/lib/failover/queues.js';
import { STATE_CONTAINER } from '../src/lib/failover/RunStore.js';
import { DEFAULT_FAILOVER_OPTIONS } from '../src/lib/failover/StepContext.js';
import { createLogger } from '../src/lib/log.js';
import { describeError } from '../src/lib/redact.js';
import { SourceAccess } from '../src/lib/source/SourceAccess.js';
import { copyInBareLoops, copyOneAtATime, listCopyItems } from './baselines.js';
import { copyWithEngine } from './engineCopy.js';
import type {
  BareLoopRun,
  ChildMemory,
  ChildMessage,
  CopyJob,
  JobResult,
  LogCounts,
  TimedListing,
} from './jobs.js';

/** The job's source as the engine reads it, the SAS wrapped so that it is never printed. */
function sourceOf(clients: ClientFactory, job: CopyJob): SourceAccess {
  const { account, container, prefix, sas } = job.source;
  return new SourceAccess(clients, { account, container, prefix }, new Sensitive(sas));
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** Samples RSS and heap every 50 ms from construction until `stop()`, overall and per phase. */
class MemorySampler {
  private readonly baselineRssBytes = process.memoryUsage.rss();
  private peakRss = this.baselineRssBytes;
  private peakHeap = process.memoryUsage().heapUsed;
  private readonly phases: ChildMemory['phases'] = {};
  private phase = 'copy';
  private readonly timer = setInterval(() => this.sample(), 50);
  private peakHeapAfterMajorGc = 0;
  private majorGcs = 0;
  // Heap in use just after each mark-compact: what the process still holds, without the garbage that
  // V8 lets pile up between collections (and which `peakHeapUsedBytes` and RSS include).
  private readonly gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry.toJSON() as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      this.majorGcs += 1;
      this.peakHeapAfterMajorGc = Math.max(this.peakHeapAfterMajorGc, process.memoryUsage().heapUsed);
    }
  });

  constructor() {
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** Samples go to `phase` from now on. */
  enter(phase: string): void {
    this.sample();
    this.phase = phase;
  }

  private sample(): void {
    const usage = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, usage.rss);
    this.peakHeap = Math.max(this.peakHeap, usage.heapUsed);
    const current = this.phases[this.phase] ?? { peakRssBytes: 0, peakHeapUsedBytes: 0 };
    this.phases[this.phase] = current;
    current.peakRssBytes = Math.max(current.peakRssBytes, usage.rss);
    current.peakHeapUsedBytes = Math.max(current.peakHeapUsedBytes, usage.heapUsed);
  }

  stop(): ChildMemory {
    clearInterval(this.timer);
    this.gcObserver.disconnect();
    this.sample();
    return {
      peakHeapAfterMajorGcBytes: this.peakHeapAfterMajorGc,
      majorGcs: this.majorGcs,
      baselineRssBytes: this.baselineRssBytes,
      peakSampledRssBytes: this.peakRss,
      // Linux reports maxRSS in KiB.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      peakHeapUsedBytes: this.peakHeap,
      phases: this.phases,
    };
  }
}

/**
 * Lists the subtree once, page after page, as planning lists the source (pages of the failover's
 * partition size, 5,000, also verification's page size), and times it.
 */
async function timeListing(container: ListableContainer, prefix: string): Promise<TimedListing> {
  const started = performance.now();
  let blobs = 0;
  let pages = 0;
  for await (const page of listBlobPages(container, prefix, {
    pageSize: DEFAULT_FAILOVER_OPTIONS.partitionSize,
  })) {
    blobs += page.blobs.length;
    pages += 1;
  }
  return { blobs, pages, durationInMs: Math.round(performance.now() - started) };
}

async function runJob(
  job: CopyJob,
  warnings: LogCounts,
): Promise<{ result: JobResult; memory: ChildMemory }> {
  // Built from the descriptor as a Function app on the stack builds them: the SDKs' default retries.
  const clients = createClientFactory(
    clientEnvironmentFromSettings({ KYVOS_DR_LOCAL_STACK: job.descriptorPath }),
  );
  const sourceAccess = sourceOf(clients, job);
  const source = sourceAccess.containerClient();

  if (job.kind === 'engine') {
    const logger = createLogger((level, line) => {
      if (level === 'info') return;
      const event = (JSON.parse(line) as { event: string }).event;
      warnings[event] = (warnings[event] ?? 0) + 1;
    });
    const deps: CopyDeps = {
      clients,
      source: sourceAccess,
      destination: job.destination,
      checkpoints: new BlobCheckpointStore(
        clients.blobService(job.appStorageAccount).getContainerClient(STATE_CONTAINER),
      ),
      logger,
    };
    await clients
      .blobService(job.destination.account)
      .getContainerClient(job.destination.container)
      .createIfNotExists();
    await clients.blobService(job.appStorageAccount).getContainerClient(STATE_CONTAINER).createIfNotExists();
    const queues = clients.queueService(job.appStorageAccount);
    // 56 characters, so that its poison queue's name fits in a queue name's 63.
    const queue = queues.getQueueClient(
      `bench-${job.runId}`
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .slice(0, 56)
        .replace(/-$/, ''),
    );
    const poisonQueue = queues.getQueueClient(poisonQueueOf(queue.name));
    await queue.createIfNotExists();
    await queue.clearMessages();
    const copiedNames: string[] = [];
    let blobsDone = 0;
    const onProgress = (event: CopyProgressEvent) => {
      blobsDone += 1;
      if (job.recordCopiedNames && event.outcome === 'copied') copiedNames.push(event.blobName);
      if (job.progressEvery && blobsDone % job.progressEvery === 0)
        void send({ type: 'progress', blobsDone });
    };
    const sampler = new MemorySampler();
    await send({ type: 'started' });
    try {
      const engine = await copyWithEngine(deps, {
        runId: job.runId,
        settings: job.settings,
        queue,
        poisonQueue,
        onProgress,
        onVerify: () => sampler.enter('verify'),
      });
      const memory = sampler.stop();
      return {
        result: { kind: 'engine', engine, ...(job.recordCopiedNames ? { copiedNames } : {}) },
        memory,
      };
    } finally {
      await queue.deleteIfExists();
      await poisonQueue.deleteIfExists();
    }
  }

  if (job.kind === 'naive') {
    const destination = clients
      .blobService(job.destination.account)
      .getContainerClient(job.destination.container);
    await destination.createIfNotExists();
    const sampler = new MemorySampler();
    await send({ type: 'started' });
    const copy = await copyOneAtATime(source, destination, job.source.prefix, job.maxBlobs);
    return { result: { kind: 'naive', copy }, memory: sampler.stop() };
  }

  const items = await listCopyItems(source, job.source.prefix);
  const runs: BareLoopRun[] = [];
  const sampler = new MemorySampler();
  for (const run of job.runs) {
    const destination = clients
      .blobService(run.destination.account)
      .getContainerClient(run.destination.container);
    await destination.createIfNotExists();
    const subset = run.maxBlobs > 0 ? items.slice(0, run.maxBlobs) : items;
    await send({ type: 'started' });
    const copy = await copyInBareLoops(subset, destination, run.concurrency);
    const listings = run.timeListings
      ? {
          source: await timeListing(sourceAccess.listable(), job.source.prefix),
          destination: await timeListing(
            listableContainer(clients, run.destination.account, run.destination.container),
            job.source.prefix,
          ),
        }
      : undefined;
    runs.push({ concurrency: run.concurrency, ...copy, ...(listings ? { listings } : {}) });
  }
  return { result: { kind: 'bare', runs }, memory: sampler.stop() };
}

// A child whose parent is gone (the benchmark was interrupted) has nobody to answer: it stops.
process.once('disconnect', () => process.exit(1));
process.once('message', (job: CopyJob) => {
  const warnings: LogCounts = {};
  runJob(job, warnings)
    .then(({ result, memory }) => send({ type: 'result', result, memory, warnings }))
    .catch((error: unknown) => send({ type: 'error', message: describeError(error) }))
    .finally(() => process.exit(0));
});
