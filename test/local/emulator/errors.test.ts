import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import {
  armToken,
  createTestCertificate,
  PRIMARY_RG,
  rawRequest,
  SUBSCRIPTION_ID,
  startTestEmulator,
  TENANT_ID,
  type TestEmulator,
  testToken,
} from './helpers.js';

let tls: StackCertificate;
let stack: TestEmulator;

beforeAll(async () => {
  tls = await createTestCertificate();
  stack = await startTestEmulator(tls);
});

afterAll(async () => {
  await stack.stop();
});

afterEach(() => {
  stack.containers.failWith = undefined;
});

const accountPath = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${PRIMARY_RG}/providers/Microsoft.Storage/storageAccounts/stkyvosprimary`;

function arm(path: string, options: { method?: string; body?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? armToken()}`;
  return rawRequest(`${stack.emulator.armEndpoint}${path}`, {
    tls,
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
}

describe('ARM errors of the control-plane emulator', () => {
  it('answers an unknown route with a 404 in the ARM error shape', async () => {
    const response = await arm(
      `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Compute/virtualMachines?api-version=1`,
    );
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toContain('application/json');
    expect(Object.keys(response.json)).toEqual(['error']);
    expect(response.json.error.code).toBe('NotFound');
    expect(response.json.error.message).toContain('does not serve GET');
  });

  it('answers a malformed JSON body with 400 InvalidRequestContent', async () => {
    const response = await arm(`${accountPath}?api-version=2025-08-01`, {
      method: 'PUT',
      body: '{"location": "eastus2",',
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('InvalidRequestContent');
  });

  it('answers a request without api-version with 400 MissingApiVersionParameter', async () => {
    const response = await arm(accountPath);
    expect(response.status).toBe(400);
    expect(response.json.error).toEqual({
      code: 'MissingApiVersionParameter',
      message: 'The api-version query parameter (?api-version=) is required for all requests.',
    });
  });

  it('answers an unsupported method with 405 and the allowed methods', async () => {
    const response = await arm(`${accountPath}?api-version=2025-08-01`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, PUT, PATCH');
    expect(response.json.error.code).toBe('MethodNotAllowed');
  });

  it('answers another subscription with 404 SubscriptionNotFound', async () => {
    const response = await arm(
      `${accountPath.replace(SUBSCRIPTION_ID, 'ffffffff-0000-0000-0000-000000000000')}?api-version=1`,
    );
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('SubscriptionNotFound');
  });

  it('requires a bearer token for the ARM audience or the emulator itself, from the tenant, not expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string | null, number, string | undefined]> = [
      [null, 401, 'AuthenticationFailed'],
      ['not-a-jwt', 401, 'InvalidAuthenticationToken'],
      [
        testToken({ aud: 'https://vault.azure.net', tid: TENANT_ID }),
        401,
        'InvalidAuthenticationTokenAudience',
      ],
      [
        testToken({ aud: 'https://management.azure.com', tid: 'other-tenant' }),
        401,
        'InvalidAuthenticationTokenTenant',
      ],
      [testToken({ aud: 'https://management.azure.com', exp: now - 60 }), 401, 'ExpiredAuthenticationToken'],
      [testToken({ aud: 'https://management.azure.com/', tid: TENANT_ID }), 200, undefined],
      [testToken({ aud: stack.emulator.armEndpoint, tid: TENANT_ID }), 200, undefined],
    ];
    for (const [token, status, code] of cases) {
      const response = await arm(`${accountPath}?api-version=2025-08-01`, { token });
      expect({ token, status: response.status, code: response.json?.error?.code }).toEqual({
        token,
        status,
        code,
      });
      if (status === 401) expect(response.headers['www-authenticate']).toContain('Bearer');
    }
  });

  it('answers an internal failure with a 500 ARM error without secrets, and keeps serving', async () => {
    stack.containers.failWith = new Error('Azurite refused: postgres://admin:hunter2@127.0.0.1/db');
    const response = await arm(`${accountPath}/blobServices/default/containers/data?api-version=2025-08-01`, {
      method: 'PUT',
      body: '{}',
    });
    expect(response.status).toBe(500);
    expect(response.json.error.code).toBe('InternalServerError');
    expect(response.text).not.toContain('hunter2');
    const event = stack.requests.at(-1);
    expect(event?.internalError).toContain('Azurite refused');
    expect(event?.internalError).not.toContain('hunter2');

    const next = await arm(`${accountPath}?api-version=2025-08-01`);
    expect(next.status).toBe(200);
  });

  it('answers an unknown long-running operation with 404', async () => {
    const response = await arm(
      `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Storage/locations/eastus2/asyncoperations/nope?api-version=1`,
    );
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('NotFound');
  });
});
