import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/lib/errors.js';
import { parseFailoverRequest } from '../../../src/lib/failover/requests.js';

describe("a failover request's strategy", () => {
  const body = (strategy?: unknown) => ({
    mode: 'planned',
    reason: 'drill',
    ...(strategy === undefined ? {} : { strategy }),
  });

  it('is absent when the body has none, so that the configuration decides', () => {
    expect(parseFailoverRequest(body(), 'http').strategy).toBeUndefined();
  });

  it.each([
    ['copy', 'copy'],
    ['accountFailover', 'accountFailover'],
    ['account-failover', 'accountFailover'],
    ['ACCOUNT-FAILOVER', 'accountFailover'],
  ])('accepts %s', (given, expected) => {
    expect(parseFailoverRequest(body(given), 'http').strategy).toBe(expected);
  });

  it.each([['move'], [''], [42]])('refuses %j naming the field strategy', (given) => {
    let error: unknown;
    try {
      parseFailoverRequest(body(given), 'http');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('strategy');
    expect((error as Error).message).toMatch(/strategy must be "copy" or "accountFailover"/);
  });
});
