import os from 'node:os';
import type { LocalStack } from '../local/stack.js';
import type { DestinationSpec, SourceSpec } from './jobs.js';

/** What every measurement of one benchmark run shares: the stack, the source SAS, a log. */
export interface BenchContext {
  stack: LocalStack;
  /** The source SAS from the stack's Key Vault, as the failover reads it. Never printed. */
  sourceSas: string;
  /** Prefix of run ids and container names, unique to this benchmark run. */
  runTag: string;
  /** One progress line on stderr. */
  say(text: string): void;
}

/** A container of the DR account for one copy, created by the copy and deleted after it. */
export function destinationFor(ctx: BenchContext, name: string): DestinationSpec {
  return { account: ctx.stack.names.drStorageAccount, container: name };
}

export function sourceFor(ctx: BenchContext, corpus: { container: string; prefix: string }): SourceSpec {
  return {
    account: ctx.stack.names.primaryStorageAccount,
    container: corpus.container,
    prefix: corpus.prefix,
    sas: ctx.sourceSas,
  };
}

/**
 * Deletes a copy's destination container, so that the next copy meets Azurite as the previous one
 * did: Azurite's metadata store scans an account's blobs on every call, so leftovers would slow the
 * copies measured after them.
 */
export async function deleteContainer(ctx: BenchContext, account: string, container: string): Promise<void> {
  await ctx.stack.clients.blobService(account).getContainerClient(container).deleteIfExists();
}

/** The 1-minute load average: other processes on the machine compete for its cores. */
export function loadAverage(): number {
  return Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
}

/** Throughput of one copy. */
export interface Rate {
  blobs: number;
  bytes: number;
  seconds: number;
  blobsPerSecond: number;
  mibPerSecond: number;
}

export function rateOf(blobs: number, bytes: number, durationInMs: number): Rate {
  const seconds = durationInMs / 1000;
  return {
    blobs,
    bytes,
    seconds: round(seconds, 2),
    blobsPerSecond: round(blobs / seconds, 1),
    mibPerSecond: round(bytes / 1024 / 1024 / seconds, 2),
  };
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
