/**
 * Messages between the HTTP API and the queue workers. On Azure the queue-triggered functions consume
 * them and the copy spreads across Function instances; in-process (the CLI's break-glass path, the
 * drill, the tests) the same handlers drain the same queues through `runQueueHost`. Bodies are
 * base64-encoded JSON, the Functions host's default encoding.
 */

/** Advances a run: runs whatever steps are ready. Re-sent with a delay while the copy is in flight. */
export const FAILOVER_QUEUE = 'kyvos-dr-failover';
/** One listing page of the source container to copy. */
export const COPY_QUEUE = 'kyvos-dr-copy';
/** Runs a recorded rehearsal (`RehearseMessage`): minutes of work, past an HTTP response's limit. */
export const REHEARSAL_QUEUE = 'kyvos-dr-rehearsal';

/**
 * Deliveries of a message before the Functions host gives up on it (`maxDequeueCount` in
 * `host.json`) and moves it to `<queue>-poison`; the in-process host (`runQueueHost`) does the same.
 */
export const MAX_DEQUEUE_COUNT = 5;

/**
 * How long a message whose handler failed stays invisible before its next delivery
 * (`visibilityTimeout` in `host.json`, which the Functions host applies to failed messages only).
 */
export const FAILED_MESSAGE_DELAY_IN_SECONDS = 30;

/** Where the Functions host moves a message that failed `MAX_DEQUEUE_COUNT` times. */
export function poisonQueueOf(queue: string): string {
  return `${queue}-poison`;
}

export interface AdvanceMessage {
  kind: 'advance';
  runId: string;
}

export interface RehearseMessage {
  kind: 'rehearse';
  rehearsalId: string;
}

export function encodeMessage(message: object): string {
  return Buffer.from(JSON.stringify(message)).toString('base64');
}

export function decodeMessage<T>(text: string): T {
  const trimmed = text.trim();
  const json = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8');
  return JSON.parse(json) as T;
}
