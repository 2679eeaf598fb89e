import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a route answers; the server writes it as JSON. */
export interface JsonResult {
  status: number;
  /** Serialized as JSON; no body when undefined. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Bodies larger than this are refused: the control plane only takes small JSON documents. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

/** Reads the whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge(`The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Parses a JSON body. An empty body is `undefined`; invalid JSON throws a `SyntaxError` whose
 * message the caller puts in its 400 answer.
 */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  return JSON.parse(text);
}

/** Writes a JSON result with the headers every Azure response carries. */
export function sendJson(req: IncomingMessage, res: ServerResponse, result: JsonResult): void {
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'Cache-Control': 'no-cache',
    ...result.headers,
  };
  const clientRequestId = req.headers['x-ms-client-request-id'];
  if (typeof clientRequestId === 'string') headers['x-ms-client-request-id'] = clientRequestId;
  const correlationId = req.headers['x-ms-correlation-request-id'];
  headers['x-ms-correlation-request-id'] = typeof correlationId === 'string' ? correlationId : randomUUID();
  if (result.body === undefined) {
    res.writeHead(result.status, { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(result.body), 'utf8');
  res.writeHead(result.status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(payload.length),
  });
  res.end(payload);
}

/** True when the request comes from this machine. */
export function isLoopback(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
