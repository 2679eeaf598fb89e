import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../../src/lib/errors.js';
import { authenticatedPrincipal } from '../../../src/lib/failover/requester.js';
import { parseFailoverRequest, parseRetryRequest } from '../../../src/lib/failover/requests.js';
import { runMain } from '../../cli/cliHarness.js';

const TRUSTED = { KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL: 'true' };

function headers(values: Record<string, string>) {
  return new Headers(values);
}

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe("a request's requestedBy", () => {
  const body = (requestedBy: unknown) => ({ mode: 'planned', reason: 'drill', requestedBy });

  it('is recorded as the caller wrote it, up to 200 characters', () => {
    expect(parseFailoverRequest(body(` ${'a'.repeat(200)} `), 'http').requestedBy).toBe('a'.repeat(200));
    expect(parseFailoverRequest(body('alice@contoso.com'), 'http').requestedBy).toBe('alice@contoso.com');
    expect(parseFailoverRequest({ mode: 'planned', reason: 'drill' }, 'http').requestedBy).toBe('http');
  });

  it.each([
    ['longer than 200 characters', 'a'.repeat(201)],
    ['a line break (a forged log line)', 'alice\n{"event":"failover.accepted"}'],
    ['a control character', 'alice\u0007'],
    ['a right-to-left override', 'alice\u202Emoc.osotnoc'],
    ['a zero-width space', 'ali\u200Bce'],
  ])('is refused naming requestedBy when it has %s', (_case, requestedBy) => {
    for (const parse of [
      () => parseFailoverRequest(body(requestedBy), 'http'),
      () => parseRetryRequest({ reason: 'fixed', requestedBy }, 'http'),
    ]) {
      const error = errorOf(parse);
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe('requestedBy');
    }
  });

  it('is the authenticated principal when there is one, whatever the body says', () => {
    expect(parseFailoverRequest(body('mallory'), 'http', 'alice@contoso.com').requestedBy).toBe(
      'alice@contoso.com',
    );
    expect(parseRetryRequest({ reason: 'fixed' }, 'http', 'alice@contoso.com').requestedBy).toBe(
      'alice@contoso.com',
    );
  });
});

describe('the App Service authentication principal', () => {
  const forged = headers({ 'x-ms-client-principal-name': 'ceo@contoso.com' });

  it('is ignored unless KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL says authentication is configured', () => {
    expect(authenticatedPrincipal(forged, {})).toBeUndefined();
    expect(authenticatedPrincipal(forged, { KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL: 'false' })).toBeUndefined();
    expect(authenticatedPrincipal(forged, { KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL: '' })).toBeUndefined();
  });

  it('is the x-ms-client-principal-name header when it is trusted', () => {
    expect(authenticatedPrincipal(forged, TRUSTED)).toBe('ceo@contoso.com');
    expect(authenticatedPrincipal(headers({}), TRUSTED)).toBeUndefined();
  });

  it('is refused naming requestedBy when its name may not be recorded', () => {
    const error = errorOf(() =>
      authenticatedPrincipal(headers({ 'x-ms-client-principal-name': 'a'.repeat(201) }), TRUSTED),
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('requestedBy');
  });

  it('needs the setting to be true or false: anything else is a configuration error naming it', () => {
    const error = errorOf(() =>
      authenticatedPrincipal(forged, { KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL: 'yes' }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe('KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL');
  });
});

describe("the CLI's --requested-by", () => {
  it.each([
    ['failover', '--mode', 'planned'],
    ['retry', 'fo-20261123T201500Z-3f9a1c'],
  ])(
    '%s: a control character is a usage error naming requestedBy, before anything is read or locked',
    async (...argv) => {
      const result = await runMain([...argv, '--reason', 'drill', '--requested-by', 'ops\u001b[2J']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('requestedBy');
      const long = await runMain([...argv, '--reason', 'drill', '--requested-by', 'o'.repeat(201)]);
      expect(long.code).toBe(2);
      expect(long.stderr).toContain('at most 200 characters');
    },
  );
});
