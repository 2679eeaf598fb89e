import { InputError } from '../errors.js';
import type { CopyPartition } from './types.js';

/** A Storage queue message holds at most 64 KiB; base64 makes 4 bytes of 3. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * The queue message for a partition: its JSON, base64-encoded, as the Functions queue trigger
 * expects by default (`messageEncoding: base64`), so the trigger hands the handler the parsed
 * `CopyPartition`.
 */
export function encodePartitionMessage(partition: CopyPartition): string {
  const text = Buffer.from(JSON.stringify(partition), 'utf8').toString('base64');
  if (text.length > MAX_MESSAGE_BYTES) {
    throw new InputError(
      `Partition ${partition.index} of run ${partition.runId} does not fit a queue message (${text.length} bytes encoded; the limit is ${MAX_MESSAGE_BYTES}).`,
      'marker',
    );
  }
  return text;
}

/** A partition from a queue message body (base64 or plain JSON) or from the trigger's parsed object. */
export function decodePartitionMessage(message: unknown): CopyPartition {
  let value: unknown = message;
  if (typeof message === 'string') {
    const trimmed = message.trim();
    const json = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8');
    try {
      value = JSON.parse(json);
    } catch {
      throw new InputError(
        'The copy queue message is not a JSON copy partition (base64 or plain).',
        'message',
      );
    }
  }
  const candidate = value as Partial<CopyPartition> | null;
  if (!candidate || typeof candidate !== 'object') {
    throw new InputError('The copy queue message is not an object.', 'message');
  }
  if (typeof candidate.runId !== 'string' || candidate.runId === '') {
    throw new InputError('The copy queue message has no runId.', 'runId');
  }
  if (!Number.isInteger(candidate.index) || (candidate.index as number) < 0) {
    throw new InputError('The copy queue message has no valid partition index.', 'index');
  }
  if (!Number.isInteger(candidate.pageSize) || (candidate.pageSize as number) < 1) {
    throw new InputError('The copy queue message has no valid pageSize.', 'pageSize');
  }
  if (candidate.marker !== undefined && typeof candidate.marker !== 'string') {
    throw new InputError('The copy queue message has a marker that is not a string.', 'marker');
  }
  if (candidate.manifest !== undefined && typeof candidate.manifest !== 'boolean') {
    throw new InputError('The copy queue message has a manifest flag that is not a boolean.', 'manifest');
  }
  if (candidate.retry !== undefined && (!Number.isInteger(candidate.retry) || candidate.retry < 0)) {
    throw new InputError('The copy queue message has a retry number that is not a whole number.', 'retry');
  }
  return {
    runId: candidate.runId,
    index: candidate.index as number,
    ...(candidate.marker !== undefined ? { marker: candidate.marker } : {}),
    pageSize: candidate.pageSize as number,
    ...(candidate.manifest ? { manifest: true } : {}),
    ...(candidate.retry ? { retry: candidate.retry } : {}),
  };
}
