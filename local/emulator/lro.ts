import { randomUUID } from 'node:crypto';
import type { FaultState } from '../types.js';
import { ArmError, internalError, isArmError } from './armErrors.js';
import { delay, type JsonResult } from './http.js';

/**
 * Long-running operations (LROs) of the emulated control plane, in the two ARM styles the SDKs poll:
 *
 * - **Azure-AsyncOperation** (PostgreSQL flexible servers): the `202` carries `Azure-AsyncOperation`,
 *   `Location` and `Retry-After`. The async-operation URL answers `200 {name, status, startTime,
 *   endTime?, error?}`; the `Location` URL answers `202` while running, then the final result.
 * - **Location** (Storage): the `202` carries `Location` and `Retry-After`; the `Location` URL answers
 *   `202` while running, then `200` with the result, or the operation's error status and body.
 *
 * An operation's work runs in the background from `begin`; a client that never polls still gets the
 * state change. The `lroFailures` fault makes the next operations fail without doing their work, as
 * an RP failure would.
 */

type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

/** The resource providers whose operation URLs the emulator hands out. */
type OperationProvider = 'Microsoft.Storage' | 'Microsoft.DBforPostgreSQL';

export interface OperationSpec {
  provider: OperationProvider;
  /** Azure location name the operation URLs carry. */
  location: string;
  /**
   * Resource group of the resource the operation runs on: a role assignment there (not on the
   * resource) lets the caller track the operation (see `authorization/accessCheck.ts`).
   */
  resourceGroup: string;
  /** The api-version of the request that started the operation; echoed into the operation URLs. */
  apiVersion: string;
  /** The work. Throw an `ArmError` to fail the operation with that code, message and status. */
  run(): Promise<void>;
  /** What the `Location` URL answers once the operation succeeded; `200` with no body by default. */
  result?(): JsonResult | Promise<JsonResult>;
  /**
   * Wait this long before running the work, so that a client sees the operation in progress (the
   * state flips of Storage take no real work locally).
   */
  delayInMs?: number;
}

interface OperationRecord {
  id: string;
  spec: OperationSpec;
  status: OperationStatus;
  startTime: Date;
  endTime?: Date;
  error?: ArmError;
  settled: Promise<void>;
}

export interface LongRunningOperationsOptions {
  /** The emulator's ARM origin, `https://127.0.0.1:<port>`; known only once the server listens. */
  armEndpoint: () => string;
  subscriptionId: string;
  faults: FaultState;
  /** `Retry-After` of `202`s and in-progress polls. */
  retryAfterSeconds: number;
}

/** Completed operations are kept for polling; the oldest are dropped past this many. */
const MAX_KEPT_OPERATIONS = 1000;

export class LongRunningOperations {
  private readonly operations = new Map<string, OperationRecord>();

  constructor(private readonly options: LongRunningOperationsOptions) {}

  /** Starts an operation; its work runs in the background. */
  begin(spec: OperationSpec): OperationRecord {
    const record: OperationRecord = {
      id: randomUUID(),
      spec,
      status: 'InProgress',
      startTime: new Date(),
      settled: Promise.resolve(),
    };
    const injected = this.takeInjectedFailure();
    record.settled = this.execute(record, injected);
    this.operations.set(record.id, record);
    this.prune();
    return record;
  }

  /** The `202 Accepted` answer to the request that started the operation. */
  accepted(record: OperationRecord): JsonResult {
    const headers: Record<string, string> = {
      Location: this.resultUrl(record),
      'Retry-After': String(this.options.retryAfterSeconds),
    };
    if (record.spec.provider === 'Microsoft.DBforPostgreSQL') {
      headers['Azure-AsyncOperation'] = this.asyncOperationUrl(record);
    }
    return { status: 202, headers };
  }

  /** `GET …/azureAsyncOperation/{id}`: the operation status document. */
  asyncOperationStatus(id: string): JsonResult {
    const record = this.find(id);
    const body: Record<string, unknown> = {
      name: record.id,
      status: record.status,
      startTime: record.startTime.toISOString(),
    };
    if (record.endTime) body.endTime = record.endTime.toISOString();
    if (record.error) body.error = record.error.toBody().error;
    const headers: Record<string, string> =
      record.status === 'InProgress' ? { 'Retry-After': String(this.options.retryAfterSeconds) } : {};
    return { status: 200, body, headers };
  }

  /** `GET` of the `Location` URL: `202` while running, then the result or the error. */
  async operationResult(id: string): Promise<JsonResult> {
    const record = this.find(id);
    if (record.status === 'InProgress') {
      return {
        status: 202,
        headers: { Location: this.resultUrl(record), 'Retry-After': String(this.options.retryAfterSeconds) },
      };
    }
    if (record.status === 'Failed') {
      const error = record.error ?? internalError('the operation failed without an error');
      return { status: error.status, body: error.toBody(), headers: error.headers };
    }
    return record.spec.result ? await record.spec.result() : { status: 200 };
  }

  /** The resource group of an operation's resource, or undefined for an unknown operation. */
  resourceGroupOf(id: string): string | undefined {
    return this.operations.get(id)?.spec.resourceGroup;
  }

  /** Resolves when every operation started so far has finished (used on shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.operations.values()].map((r) => r.settled));
  }

  private async execute(record: OperationRecord, injected: ArmError | undefined): Promise<void> {
    try {
      if (record.spec.delayInMs) await delay(record.spec.delayInMs);
      if (injected) throw injected;
      await record.spec.run();
      record.status = 'Succeeded';
    } catch (error) {
      record.error = isArmError(error) ? error : internalError(error);
      record.status = 'Failed';
    } finally {
      record.endTime = new Date();
    }
  }

  /** Consumes one `lroFailures` fault, if any is set. */
  private takeInjectedFailure(): ArmError | undefined {
    const fault = this.options.faults.lroFailures;
    if (!fault || fault.count <= 0) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.options.faults.lroFailures = null;
    // 409 rather than a 5xx: the SDKs retry 5xx answers to a poll, and a failed operation stays failed.
    return new ArmError(409, fault.code, fault.message);
  }

  private find(id: string): OperationRecord {
    const record = this.operations.get(id);
    if (!record) {
      throw new ArmError(404, 'NotFound', `The long-running operation '${id}' is unknown to this emulator.`);
    }
    return record;
  }

  private operationsBase(record: OperationRecord): string {
    const { provider, location } = record.spec;
    return (
      `${this.options.armEndpoint()}/subscriptions/${this.options.subscriptionId}/providers/${provider}` +
      `/locations/${encodeURIComponent(location)}`
    );
  }

  private asyncOperationUrl(record: OperationRecord): string {
    const version = encodeURIComponent(record.spec.apiVersion);
    return `${this.operationsBase(record)}/azureAsyncOperation/${record.id}?api-version=${version}`;
  }

  private resultUrl(record: OperationRecord): string {
    const version = encodeURIComponent(record.spec.apiVersion);
    return record.spec.provider === 'Microsoft.Storage'
      ? `${this.operationsBase(record)}/asyncoperations/${record.id}?monitor=true&api-version=${version}`
      : `${this.operationsBase(record)}/operationResults/${record.id}?api-version=${version}`;
  }

  private prune(): void {
    if (this.operations.size <= MAX_KEPT_OPERATIONS) return;
    for (const [id, record] of this.operations) {
      if (this.operations.size <= MAX_KEPT_OPERATIONS) break;
      if (record.status !== 'InProgress') this.operations.delete(id);
    }
  }
}

export type { OperationRecord };
