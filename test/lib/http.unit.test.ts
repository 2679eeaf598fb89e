import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FailoverInProgress,
  InputError,
  RunNotFound,
  RunNotRetryable,
  RunNotWaiting,
} from '../../src/lib/errors.js';
import {
  badRunId,
  errorResponse,
  json,
  readJson,
  runStatusUrl,
  startedStatusUrl,
  webhookErrorResponse,
} from '../../src/lib/http.js';
import { createLogger } from '../../src/lib/log.js';

const RUN_ID = 'fo-20261202T100000Z-abcdef';

function loggedLines(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger((_level, line) => lines.push(line)), lines };
}

const body = (text: string) => ({ text: async () => text });

describe('readJson', () => {
  it('parses a JSON body', async () => {
    await expect(readJson(body('{"mode":"planned"}'))).resolves.toEqual({ mode: 'planned' });
  });

  it('turns an empty or malformed body into an InputError (a 400), never a SyntaxError', async () => {
    await expect(readJson(body('  \n'))).rejects.toThrow(
      new InputError('The request body is empty; send a JSON object.'),
    );
    await expect(readJson(body('{"mode":'))).rejects.toBeInstanceOf(InputError);
  });
});

describe('errorResponse', () => {
  it('answers 400 naming the field for bad input, without logging an error', () => {
    const { logger, lines } = loggedLines();
    const response = errorResponse(new InputError('mode must be planned or forced', 'mode'), logger, 'x');
    expect(response).toEqual(
      json(400, { error: { code: 'BadRequest', message: 'mode must be planned or forced', field: 'mode' } }),
    );
    expect(lines).toEqual([]);
  });

  it('answers 409 with the run id for a running failover, a run not retryable or not waiting', () => {
    const { logger } = loggedLines();
    expect(errorResponse(new FailoverInProgress(RUN_ID), logger, 'x')).toMatchObject({
      status: 409,
      jsonBody: { error: { code: 'FailoverInProgress', runId: RUN_ID } },
    });
    expect(
      errorResponse(new RunNotRetryable(RUN_ID, 'Succeeded', 'it ended well'), logger, 'x'),
    ).toMatchObject({
      status: 409,
      jsonBody: { error: { code: 'RunNotRetryable', runId: RUN_ID, state: 'Succeeded' } },
    });
    expect(errorResponse(new RunNotWaiting(RUN_ID, 'Running', 'it is copying'), logger, 'x')).toMatchObject({
      status: 409,
      jsonBody: { error: { code: 'RunNotWaiting', runId: RUN_ID, state: 'Running' } },
    });
  });

  it('answers 404 for an unknown run', () => {
    expect(errorResponse(new RunNotFound(RUN_ID), loggedLines().logger, 'x')).toMatchObject({
      status: 404,
      jsonBody: { error: { code: 'NotFound', message: `No failover run ${RUN_ID}.` } },
    });
  });

  it('answers 500 naming the setting for a configuration error, and logs it redacted', () => {
    const { logger, lines } = loggedLines();
    const error = new ConfigError(
      'KYVOS_DR_SOURCE_SAS is expired: sv=1&sig=topsecret',
      'KYVOS_DR_SOURCE_SAS',
    );
    const response = errorResponse(error, logger, 'failover.start_failed');
    expect(response).toMatchObject({
      status: 500,
      jsonBody: {
        error: {
          code: 'ConfigError',
          message: 'KYVOS_DR_SOURCE_SAS is expired: sv=1&sig=REDACTED',
          setting: 'KYVOS_DR_SOURCE_SAS',
        },
      },
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ event: 'failover.start_failed', level: 'error' });
    expect(lines.join('\n')).not.toContain('topsecret');
  });

  it('answers 500 with the redacted reason and its causes for anything else, thrown values included', () => {
    const { logger } = loggedLines();
    const cause = new Error('connect ECONNREFUSED postgres://kyvos:hunter2@10.0.0.4:5432/kyvos');
    expect(errorResponse(new Error('Cannot read the replica', { cause }), logger, 'x')).toMatchObject({
      status: 500,
      jsonBody: {
        error: {
          code: 'InternalError',
          message:
            'Cannot read the replica: connect ECONNREFUSED postgres://kyvos:REDACTED@10.0.0.4:5432/kyvos',
        },
      },
    });
    expect(errorResponse('a string was thrown', logger, 'x')).toMatchObject({
      status: 500,
      jsonBody: { error: { code: 'InternalError', message: 'a string was thrown' } },
    });
  });
});

describe('webhookErrorResponse', () => {
  it('turns a 500 into a 503 with Retry-After, so the action group delivers the alert again', () => {
    const response = webhookErrorResponse(
      new Error('Table storage is unreachable'),
      loggedLines().logger,
      'x',
    );
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'retry-after': '5', 'content-type': 'application/json' });
    expect(response.jsonBody).toMatchObject({ error: { code: 'InternalError' } });
  });

  it('keeps a 400: delivering bad input again cannot help', () => {
    const response = webhookErrorResponse(new InputError('not an alert'), loggedLines().logger, 'x');
    expect(response.status).toBe(400);
    expect(response.headers).not.toHaveProperty('retry-after');
  });
});

describe('badRunId', () => {
  it('accepts a run id and answers 400 naming runId for anything else, quoting at most 80 characters', () => {
    expect(badRunId(RUN_ID)).toBeUndefined();
    const response = badRunId(`${RUN_ID}x`);
    expect(response).toMatchObject({
      status: 400,
      jsonBody: { error: { code: 'BadRequest', field: 'runId' } },
    });
    expect(badRunId('a'.repeat(500))).toMatchObject({
      jsonBody: { error: { message: `"${'a'.repeat(80)}" is not a failover run id.` } },
    });
  });
});

describe('startedStatusUrl', () => {
  it('puts the id under the collection the POST went to, without the function key', () => {
    expect(startedStatusUrl('https://app.example/api/failover?code=functionkey', 'failover', RUN_ID)).toBe(
      `https://app.example/api/failover/${RUN_ID}`,
    );
    expect(startedStatusUrl('https://app.example/api/failover/alert?code=k', 'failover', RUN_ID)).toBe(
      `https://app.example/api/failover/${RUN_ID}`,
    );
    expect(startedStatusUrl('https://app.example/api/rehearsal/', 'rehearsal', 'rh-1')).toBe(
      'https://app.example/api/rehearsal/rh-1',
    );
  });
});

describe('runStatusUrl', () => {
  it('drops the action and the function key from the URL an action was posted to', () => {
    expect(
      runStatusUrl(`https://app.example/api/failover/${RUN_ID}/confirm?code=functionkey`, 'confirm'),
    ).toBe(`https://app.example/api/failover/${RUN_ID}`);
    expect(runStatusUrl(`https://app.example/api/failover/${RUN_ID}/retry/`, 'retry')).toBe(
      `https://app.example/api/failover/${RUN_ID}`,
    );
  });
});
