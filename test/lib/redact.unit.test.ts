import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { safeStorageError } from '../../src/lib/copy/storageErrors.js';
import { describeError, redact, redactDeep } from '../../src/lib/redact.js';
import { restError } from '../helpers/restError.js';

const SIGNATURE = 'p1Z9%2Bsecret%3D';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiIxMjMifQ.c2lnbmF0dXJl';

describe('redact', () => {
  it('replaces the signature of a SAS URL and keeps the rest of it', () => {
    const url = `https://acct.blob.core.windows.net/c/b?sv=2024-08-04&sp=r&sig=${SIGNATURE}&se=2026-12-02`;
    expect(redact(url)).toBe(
      'https://acct.blob.core.windows.net/c/b?sv=2024-08-04&sp=r&sig=REDACTED&se=2026-12-02',
    );
  });

  it('replaces the signature of a SAS URL percent-encoded inside another URL', () => {
    const inner = encodeURIComponent(`https://src.blob.core.windows.net/c/b?sv=1&sig=${SIGNATURE}&se=2`);
    const out = redact(`https://dst.blob.core.windows.net/c/b?copySource=${inner}`);
    expect(out).toContain('%26sig%3DREDACTED%26se%3D2');
    expect(out).not.toContain('secret');
  });

  it('replaces account keys and SAS values in storage connection strings', () => {
    expect(
      redact('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5==;EndpointSuffix=x'),
    ).toBe('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=REDACTED;EndpointSuffix=x');
    expect(redact('BlobEndpoint=https://a;SharedAccessSignature=sig=abc&sv=1;')).toBe(
      'BlobEndpoint=https://a;SharedAccessSignature=REDACTED;',
    );
  });

  it('replaces passwords in key-value connection strings, URLs, JSON and inspected objects', () => {
    expect(redact('host=h user=u password=hunter2 dbname=d')).toBe(
      'host=h user=u password=REDACTED dbname=d',
    );
    expect(redact('postgres://kyvos:hunter2@h:5432/db')).toBe('postgres://kyvos:REDACTED@h:5432/db');
    expect(redact('postgresql://kyvos:hunter2@h/db')).toBe('postgresql://kyvos:REDACTED@h/db');
    expect(redact('{"user":"u","password":"hunter2"}')).toBe('{"user":"u","password":"REDACTED"}');
    expect(redact("{ user: 'u', password: 'hunter2' }")).toBe("{ user: 'u', password: 'REDACTED' }");
  });

  it('replaces bearer tokens and bare JWTs, but not the parameters of a bearer challenge', () => {
    expect(redact('Authorization: Bearer abc.def-ghi_jkl')).toBe('Authorization: Bearer REDACTED');
    expect(redact(`token cache: ${JWT}`)).toBe('token cache: REDACTED');
    const challenge =
      'WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/t", resource="x"';
    expect(redact(challenge)).toBe(challenge);
  });

  it('leaves text without secrets unchanged', () => {
    const text = 'Cannot promote replica "pg-kyvos-dr": replicationState is Broken; signature=fine';
    expect(redact(text)).toBe(text);
  });
});

describe('redactDeep', () => {
  it('redacts every string of a nested value and keeps other values and the original intact', () => {
    const at = new Date('2026-12-02T00:00:00Z');
    const value = {
      url: `https://a/b?sig=${SIGNATURE}`,
      nested: { list: ['password=hunter2', 3, null, true], at },
    };
    const copy = redactDeep(value);
    expect(copy).toEqual({
      url: 'https://a/b?sig=REDACTED',
      nested: { list: ['password=REDACTED', 3, null, true], at },
    });
    expect(copy.nested.at).toBe(at);
    expect(value.url).toContain(SIGNATURE);
  });
});

describe('describeError', () => {
  it('joins an error with its causes, redacted, and does not repeat a cause the wrapper quotes', () => {
    const root = new Error(`GET https://a/c?sig=${SIGNATURE} failed: 403`);
    const quoting = new Error(`Listing failed: ${root.message}`, { cause: root });
    const outer = new Error('Copy step failed', { cause: quoting });
    const described = describeError(outer);
    expect(described).toBe('Copy step failed: Listing failed: GET https://a/c?sig=REDACTED failed: 403');
  });

  it('describes a thrown non-error and stops after four levels of causes', () => {
    expect(describeError('password=hunter2')).toBe('password=REDACTED');
    expect(describeError({ reason: 'refused', connection: 'postgres://kyvos:hunter2@db/kyvos' })).toBe(
      '{"reason":"refused","connection":"postgres://kyvos:REDACTED@db/kyvos"}',
    );
    let error = new Error('level 0');
    for (let level = 1; level < 6; level++) error = new Error(`level ${level}`, { cause: error });
    expect(describeError(error)).toBe('level 5: level 4: level 3: level 2');
  });

  it("describes a service's answer by status and code, on one line, without the request", () => {
    const error = Object.assign(restError(403, 'AuthenticationFailed'), {
      request: { url: `https://a-secondary.blob.core.windows.net/c/b?sv=1&sig=${SIGNATURE}` },
    });
    error.message = `Signature did not match. https://a-secondary.blob.core.windows.net/c/b?sv=1&sig=${SIGNATURE}\nRequestId:1\nTime:2026-12-02`;
    expect(describeError(error)).toBe(
      '403 AuthenticationFailed: Signature did not match. https://a-secondary.blob.core.windows.net/c/b?sv=1&sig=REDACTED',
    );
    expect(describeError(restError(503, 'ServiceUnavailable'))).toBe(
      '503 ServiceUnavailable: The service said no.',
    );
  });

  it('names what the source answered a failed Copy Blob From URL, when it differs', () => {
    const fromDetails = restError(500, 'CannotVerifyCopySource', { copySourceStatusCode: 503 });
    expect(describeError(fromDetails)).toBe(
      '500 CannotVerifyCopySource (the source answered 503): The service said no.',
    );
    const fromHeader = Object.assign(restError(404, 'CannotVerifyCopySource'), {
      response: {
        headers: { get: (name: string) => (name === 'x-ms-copy-source-status-code' ? '404' : undefined) },
      },
    });
    expect(describeError(fromHeader)).toBe('404 CannotVerifyCopySource: The service said no.');
  });

  it("cuts a service's answer after redacting it, so a cut never uncovers part of a signature", () => {
    const error = restError(400, 'InvalidInput');
    error.message = `${'x'.repeat(480)} https://a/c?sig=${SIGNATURE}`;
    const described = describeError(error);
    expect(described.length).toBe('400 InvalidInput: '.length + 500);
    expect(described).not.toContain('secret');
    expect(described).toContain('sig=RED');
  });

  it("describes a network error by its code, and Node's failed connection attempts by each attempt", () => {
    expect(describeError(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    const attempts = Object.assign(
      new AggregateError([
        new Error('connect ECONNREFUSED ::1:5432'),
        new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      ]),
      { code: 'ECONNREFUSED' },
    );
    expect(describeError(attempts)).toBe(
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
  });

  it("follows a service's answer under a wrapper, and does not repeat it when the wrapper quotes it", () => {
    const answer = restError(403, 'AuthorizationFailure');
    expect(describeError(new Error('Cannot list the source', { cause: answer }))).toBe(
      'Cannot list the source: 403 AuthorizationFailure: The service said no.',
    );
    const safe = safeStorageError(answer);
    expect(describeError(new Error(`Cannot list the source: ${safe.message}`, { cause: safe }))).toBe(
      'Cannot list the source: 403 AuthorizationFailure: The service said no.',
    );
  });
});

describe('safeStorageError', () => {
  it('keeps the status, the code and the description, and nothing of the request', () => {
    const error = Object.assign(restError(403, 'AuthenticationFailed'), {
      request: { url: `https://a/c/b?sig=${SIGNATURE}` },
    });
    error.message = `Signature did not match. https://a/c/b?sv=1&sig=${SIGNATURE}\nRequestId:1`;
    const safe = safeStorageError(error);
    expect(safe).toMatchObject({
      statusCode: 403,
      code: 'AuthenticationFailed',
      message: describeError(error),
    });
    expect(JSON.stringify({ ...safe, message: safe.message })).not.toContain(SIGNATURE);
    expect(inspect(safe)).not.toContain(SIGNATURE);
  });
});
