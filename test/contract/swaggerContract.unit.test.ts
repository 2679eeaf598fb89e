import { describe, expect, it } from 'vitest';
import { ARM_OPERATION_STATUS, BLOB_SERVICE_STATS, loadAzureContract, SPEC_FILES } from './azureContract.js';
import { SwaggerContract } from './swaggerContract.js';

const contract = loadAzureContract();
const ARM = '/subscriptions/6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a/resourceGroups/rg-kyvos/providers';

function op(prefix: string, method: string, path: string) {
  const found = contract.findOperation(prefix, method, path);
  if (!found) throw new Error(`no operation for ${method} ${path}`);
  return found;
}

const secret = {
  value: 'v',
  id: 'https://kv-kyvos.vault.azure.net/secrets/name/4387e9f3d6e14c459867679a90fd0f79',
  attributes: {
    enabled: true,
    created: 1493938410,
    updated: 1493938410,
    recoveryLevel: 'Recoverable+Purgeable',
  },
};

const server = {
  sku: { name: 'Standard_D4ds_v5', tier: 'GeneralPurpose' },
  properties: {
    replica: { role: 'AsyncReplica', capacity: 0, replicationState: 'Active' },
    state: 'Ready',
    replicationRole: 'AsyncReplica',
  },
  location: 'eastus2',
  id: `${ARM}/Microsoft.DBforPostgreSQL/flexibleServers/pg-kyvos-dr`,
  name: 'pg-kyvos-dr',
  type: 'Microsoft.DBforPostgreSQL/flexibleServers',
};

describe('the Swagger contract of the vendored Azure specifications', () => {
  it('finds an operation by method and path, ARM literals case-insensitively', () => {
    expect(
      op(SPEC_FILES.postgresql, 'GET', `${ARM}/microsoft.dbforpostgresql/FLEXIBLESERVERS/pg`).operationId,
    ).toBe('Servers_Get');
    expect(op(SPEC_FILES.keyVault, 'GET', '/secrets/name/').operationId).toBe('GetSecret');
    expect(contract.findOperation(SPEC_FILES.keyVault, 'POST', '/secrets/name/')).toBeUndefined();
  });

  it('accepts a body that matches the spec', () => {
    const get = op(SPEC_FILES.keyVault, 'GET', '/secrets/name/');
    expect(contract.checkResponse(get, 200, JSON.stringify(secret))).toEqual([]);
    expect(
      contract.checkResponse(
        op(SPEC_FILES.postgresql, 'GET', `${ARM}/Microsoft.DBforPostgreSQL/flexibleServers/pg`),
        200,
        JSON.stringify(server),
      ),
    ).toEqual([]);
  });

  it('reports a property the spec does not declare, with its path', () => {
    const get = op(SPEC_FILES.keyVault, 'GET', '/secrets/name/');
    const body = { ...secret, attributes: { ...secret.attributes, purgeable: true } };
    expect(contract.checkResponse(get, 200, JSON.stringify(body))).toEqual([
      {
        kind: 'undeclared-property',
        where: '$.attributes.purgeable',
        message: 'is not declared by the spec',
      },
    ]);
  });

  it('reports an enum value, a type and a format the spec does not allow', () => {
    const get = op(SPEC_FILES.postgresql, 'GET', `${ARM}/Microsoft.DBforPostgreSQL/flexibleServers/pg`);
    const body = {
      ...server,
      properties: {
        ...server.properties,
        replica: { ...server.properties.replica, replicationState: 'Streaming' },
      },
    };
    expect(contract.checkResponse(get, 200, JSON.stringify(body))).toEqual([
      expect.objectContaining({ kind: 'schema', where: '$.properties.replica.replicationState' }),
    ]);
    const kv = op(SPEC_FILES.keyVault, 'GET', '/secrets/name/');
    const wrong = {
      ...secret,
      attributes: { ...secret.attributes, created: '2026-01-01T00:00:00Z', updated: 1.5 },
    };
    expect(new Set(contract.checkResponse(kv, 200, JSON.stringify(wrong)).map((v) => v.where))).toEqual(
      new Set(['$.attributes.created', '$.attributes.updated']),
    );
  });

  it('reports a success status the operation does not list, and a body where it declares none', () => {
    const promote = op(SPEC_FILES.postgresql, 'PATCH', `${ARM}/Microsoft.DBforPostgreSQL/flexibleServers/pg`);
    expect(contract.checkResponse(promote, 200, JSON.stringify(server))).toEqual([
      expect.objectContaining({ kind: 'status', where: '200' }),
    ]);
    expect(contract.checkResponse(promote, 202, '{"status":"Accepted"}')).toEqual([
      expect.objectContaining({ kind: 'unexpected-body' }),
    ]);
    expect(contract.checkResponse(promote, 202, '')).toEqual([]);
  });

  it('checks an error against the default response, or the service error schema when there is none', () => {
    const get = op(SPEC_FILES.postgresql, 'GET', `${ARM}/Microsoft.DBforPostgreSQL/flexibleServers/pg`);
    expect(contract.checkResponse(get, 404, '{"error":{"code":"ResourceNotFound","message":"m"}}')).toEqual(
      [],
    );
    expect(contract.checkResponse(get, 404, '{"code":"ResourceNotFound","message":"m"}')).toEqual([
      { kind: 'undeclared-property', where: '$.code', message: 'is not declared by the spec' },
      { kind: 'undeclared-property', where: '$.message', message: 'is not declared by the spec' },
    ]);
    const account = op(SPEC_FILES.storage, 'GET', `${ARM}/Microsoft.Storage/storageAccounts/kyvosprimdata`);
    expect(
      contract.checkResponse(account, 404, '{"error":{"code":"ResourceNotFound","message":"m","x":1}}'),
    ).toEqual([{ kind: 'undeclared-property', where: '$.error.x', message: 'is not declared by the spec' }]);
    const kv = op(SPEC_FILES.keyVault, 'GET', '/secrets/name/');
    expect(
      contract.checkResponse(kv, 404, '{"error":{"code":"SecretNotFound","message":"m","innererror":null}}'),
    ).toEqual([]);
  });

  it('fails a value whose definition was not vendored, naming the reference', () => {
    const get = op(SPEC_FILES.storage, 'GET', `${ARM}/Microsoft.Storage/storageAccounts/kyvosprimdata`);
    const body = {
      id: `${ARM}/Microsoft.Storage/storageAccounts/kyvosprimdata`,
      name: 'kyvosprimdata',
      type: 'Microsoft.Storage/storageAccounts',
      location: 'centralus',
      identity: { type: 'None' },
    };
    expect(contract.checkResponse(get, 200, JSON.stringify(body))).toEqual([
      expect.objectContaining({
        kind: 'schema',
        where: '$.identity',
        message: expect.stringContaining('storage.json#/definitions/Identity, which is not vendored'),
      }),
    ]);
  });

  it('checks an async-operation status against ARM common types', () => {
    expect(
      contract.checkAgainst(
        ARM_OPERATION_STATUS,
        '{"name":"x","status":"InProgress","startTime":"2026-01-01T00:00:00Z"}',
      ),
    ).toEqual([]);
    expect(
      contract.checkAgainst(ARM_OPERATION_STATUS, '{"name":"x","startTime":"yesterday"}').map((v) => v.where),
    ).toEqual(['$', '$.startTime']);
  });

  it('checks the service stats of the Blob data plane, RFC 1123 dates included', () => {
    const stats = (status: string, lastSyncTime: string) =>
      JSON.stringify({ GeoReplication: { Status: status, LastSyncTime: lastSyncTime } });
    expect(contract.checkAgainst(BLOB_SERVICE_STATS, stats('live', 'Wed, 02 Dec 2026 10:00:00 GMT'))).toEqual(
      [],
    );
    expect(
      contract.checkAgainst(BLOB_SERVICE_STATS, stats('Live', '2026-12-02T10:00:00Z')).map((v) => v.where),
    ).toEqual(['$.GeoReplication.Status', '$.GeoReplication.LastSyncTime']);
  });

  it('checks a discriminated subtype by its discriminator value, and its own properties', () => {
    const polymorphic = SwaggerContract.fromDocuments(
      {
        'pets.json': {
          swagger: '2.0',
          paths: {
            '/pet': {
              get: { operationId: 'Pet_Get', responses: { 200: { schema: { $ref: '#/definitions/Pet' } } } },
            },
          },
          definitions: {
            Pet: {
              type: 'object',
              discriminator: 'kind',
              required: ['kind'],
              properties: { kind: { type: 'string' } },
            },
            Dog: {
              'x-ms-discriminator-value': 'dog',
              allOf: [{ $ref: '#/definitions/Pet' }],
              properties: { barks: { type: 'boolean' } },
              required: ['barks'],
            },
          },
        },
      },
      { fallbackErrors: [] },
    );
    const get = polymorphic.findOperation('pets', 'GET', '/pet');
    if (!get) throw new Error('no operation');
    expect(polymorphic.checkResponse(get, 200, '{"kind":"dog","barks":true}')).toEqual([]);
    expect(polymorphic.checkResponse(get, 200, '{"kind":"dog"}')).toEqual([
      expect.objectContaining({ kind: 'schema', where: '$', message: "must have required property 'barks'" }),
      expect.objectContaining({ kind: 'schema', where: '$' }),
    ]);
    expect(polymorphic.checkResponse(get, 200, '{"kind":"cat","barks":true}')).toEqual([
      { kind: 'undeclared-property', where: '$.barks', message: 'is not declared by the spec' },
    ]);
  });
});
