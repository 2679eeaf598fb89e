import type { SecretClient } from '@azure/keyvault-secrets';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StackCertificate } from '../../../local/certificate.js';
import {
  createTestCertificate,
  rawRequest,
  startTestEmulator,
  TENANT_ID,
  type TestEmulator,
  testClients,
  testCredential,
  testToken,
} from './helpers.js';

let tls: StackCertificate;
let stack: TestEmulator;

beforeAll(async () => {
  tls = await createTestCertificate();
});

afterEach(async () => {
  await stack?.stop();
});

function secretClient(credential = testCredential()): SecretClient {
  return testClients(stack, tls, { credential }).secrets(stack.emulator.keyVaultUrl);
}

describe('Key Vault secrets through the control-plane emulator', () => {
  it('goes through the challenge, then sets and gets a secret with the vault audience and tenant', async () => {
    stack = await startTestEmulator(tls);
    const credential = testCredential();
    const getToken = vi.spyOn(credential, 'getToken');
    const client = secretClient(credential);

    const set = await client.setSecret('pg-connection', 'postgres://u:p@h/db', { contentType: 'text/plain' });
    expect(set.value).toBe('postgres://u:p@h/db');
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(set.properties.id).toBe(
      `${stack.emulator.keyVaultUrl}/secrets/pg-connection/${set.properties.version}`,
    );
    expect(set.properties.vaultUrl).toBe(stack.emulator.keyVaultUrl);
    expect(set.properties.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(set.properties.createdOn).toBeInstanceOf(Date);

    const got = await client.getSecret('pg-connection');
    expect(got.value).toBe('postgres://u:p@h/db');
    expect(got.properties.contentType).toBe('text/plain');
    expect(getToken.mock.calls.flatMap(([scopes]) => scopes)).toContain('https://vault.azure.net/.default');

    // The first request carried no token and was challenged.
    expect(stack.requests[0]).toMatchObject({ service: 'keyVault', status: 401, errorCode: 'Unauthorized' });
  });

  it('gets a secret by version after a newer version was set', async () => {
    stack = await startTestEmulator(tls);
    const client = secretClient();
    const first = await client.setSecret('sas', 'one');
    await client.setSecret('sas', 'two');
    expect((await client.getSecret('sas')).value).toBe('two');
    expect((await client.getSecret('sas', { version: first.properties.version ?? '' })).value).toBe('one');
  });

  it('seeds secrets directly and answers 404 SecretNotFound for a missing one', async () => {
    stack = await startTestEmulator(tls);
    await stack.emulator.setSecret('seeded', 'value');
    const client = secretClient();
    expect((await client.getSecret('seeded')).value).toBe('value');
    const error = await client.getSecret('missing').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
    expect((error as Error).message).toContain(
      'A secret with (name/id) missing was not found in this key vault',
    );
  });

  it('closes every connection without answering while it is unreachable, and answers again after', async () => {
    stack = await startTestEmulator(tls);
    await stack.emulator.setSecret('seeded', 'value');
    const client = testClients(stack, tls, { retry: { maxRetries: 1, retryDelayInMs: 10 } }).secrets(
      stack.emulator.keyVaultUrl,
    );
    stack.options.faults.keyVaultUnavailable = true;
    const error = await client.getSecret('seeded').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { statusCode?: number }).statusCode).toBeUndefined();
    expect(stack.requests.at(-1)).toMatchObject({ service: 'keyVault', errorCode: 'ConnectionDropped' });
    stack.options.faults.keyVaultUnavailable = false;
    expect((await client.getSecret('seeded')).value).toBe('value');
  });

  it('pages the secret list with maxresults and nextLink, without values', async () => {
    stack = await startTestEmulator(tls);
    for (const name of ['s1', 's2', 's3', 's4', 's5'])
      stack.emulator.secrets.setSecret(name, `value-${name}`);
    const client = secretClient();
    const pages: string[][] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) {
      pages.push(page.map((p) => p.name));
      for (const properties of page) expect(properties).not.toHaveProperty('value');
    }
    expect(pages).toEqual([['s1', 's2'], ['s3', 's4'], ['s5']]);

    const all: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) all.push(properties.name);
    expect(all).toEqual(['s1', 's2', 's3', 's4', 's5']);
  });

  it('answers the challenge on an unauthenticated request, and 401 for a token of another audience', async () => {
    stack = await startTestEmulator(tls);
    const url = `${stack.emulator.keyVaultUrl}/secrets/anything?api-version=2025-07-01`;
    const anonymous = await rawRequest(url, { tls });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${TENANT_ID}", resource="https://vault.azure.net"`,
    );
    expect(anonymous.json.error.code).toBe('Unauthorized');

    const armToken = testToken({ aud: 'https://management.azure.com', tid: TENANT_ID });
    const wrongAudience = await rawRequest(url, {
      tls,
      headers: { authorization: `Bearer ${armToken}` },
    });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.json.error.message).toContain('audience');
  });

  it('answers 400 BadParameter for an invalid secret name and for a body without value', async () => {
    stack = await startTestEmulator(tls);
    const token = testToken({ aud: 'https://vault.azure.net', tid: TENANT_ID });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const badName = await rawRequest(
      `${stack.emulator.keyVaultUrl}/secrets/bad_name?api-version=2025-07-01`,
      {
        tls,
        headers,
      },
    );
    expect(badName.status).toBe(400);
    expect(badName.json.error.code).toBe('BadParameter');

    const noValue = await rawRequest(
      `${stack.emulator.keyVaultUrl}/secrets/good-name?api-version=2025-07-01`,
      {
        tls,
        method: 'PUT',
        headers,
        body: JSON.stringify({ contentType: 'x' }),
      },
    );
    expect(noValue.status).toBe(400);
    expect(noValue.json.error.code).toBe('BadParameter');
  });

  it('keeps secret values out of the request log', async () => {
    stack = await startTestEmulator(tls);
    const client = secretClient();
    await client.setSecret('logged', 'very-secret-value');
    await client.getSecret('logged');
    expect(JSON.stringify(stack.requests)).not.toContain('very-secret-value');
  });

  it('soft-deletes a secret: 404 on get, 409 ObjectIsDeletedButRecoverable on set, then recover and purge', async () => {
    stack = await startTestEmulator(tls);
    const client = secretClient();
    await client.setSecret('run-id', 'fo-1');

    const poller = await client.beginDeleteSecret('run-id');
    const deleted = await poller.pollUntilDone();
    expect(deleted.recoveryId).toBe(`${stack.emulator.keyVaultUrl}/deletedsecrets/run-id`);
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    expect(deleted.properties.scheduledPurgeDate?.getTime()).toBe(
      (deleted.properties.deletedOn?.getTime() ?? 0) + 90 * 86_400_000,
    );
    expect(await client.getSecret('run-id').catch((e: unknown) => e)).toMatchObject({
      statusCode: 404,
      code: 'SecretNotFound',
    });
    expect((await client.getDeletedSecret('run-id')).name).toBe('run-id');

    const conflict = await client.setSecret('run-id', 'fo-2').catch((e: unknown) => e);
    expect(conflict).toMatchObject({ statusCode: 409, code: 'Conflict' });
    expect((conflict as Error).message).toContain('deleted but recoverable state');
    const token = testToken({ aud: 'https://vault.azure.net', tid: TENANT_ID });
    const raw = await rawRequest(`${stack.emulator.keyVaultUrl}/secrets/run-id?api-version=2025-07-01`, {
      tls,
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'fo-2' }),
    });
    expect(raw.status).toBe(409);
    expect(raw.json.error).toMatchObject({
      code: 'Conflict',
      innererror: { code: 'ObjectIsDeletedButRecoverable' },
    });

    const recovered = await (await client.beginRecoverDeletedSecret('run-id')).pollUntilDone();
    expect(recovered.name).toBe('run-id');
    expect((await client.getSecret('run-id')).value).toBe('fo-1');
    expect(await client.getDeletedSecret('run-id').catch((e: unknown) => e)).toMatchObject({
      statusCode: 404,
    });

    await (await client.beginDeleteSecret('run-id')).pollUntilDone();
    await client.purgeDeletedSecret('run-id');
    expect(await client.getDeletedSecret('run-id').catch((e: unknown) => e)).toMatchObject({
      statusCode: 404,
    });
    expect((await client.setSecret('run-id', 'fo-3')).value).toBe('fo-3');
  });
});
