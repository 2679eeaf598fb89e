import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { format, inspect } from 'node:util';
import { createClientLogger, getLogLevel, setLogLevel } from '@azure/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClientFactory } from '../../src/lib/clients/ClientFactory.js';
import { LocalStackCredential } from '../../src/lib/clients/LocalStackCredential.js';
import { createDeps } from '../../src/lib/deps.js';
import { findLeaks } from '../helpers/secretLeaks.js';

const SIG = 'NNqE2ch7DzS1y1IbW3htbGNfzGOejHzKL%2Bz%2FP3moNmI%3D';
const SAS = `sv=2025-07-05&ss=b&srt=sco&sp=rl&se=2027-03-01T10%3A00%3A00Z&st=2026-12-01T09%3A55%3A00Z&spr=https&sig=${SIG}`;
const PASSWORD = 'q1Zr7vD0xW3nHb8sKp2LmA4e';
const ACCOUNT_KEY = 'a3l2b3NwcmltZGF0YS1sb2NhbC1zdGFjay1rZXktMDEyMzQ1Njc4OWFiY2RlZg==';
const KNOWN = { 'the SAS signature': SIG, 'the password': PASSWORD, 'the account key': ACCOUNT_KEY };

type Line = { namespace: string; args: unknown[] };

/** What the SDK's loggers were seen to print at verbose, with this stack's kinds of secrets in them. */
async function realisticLines(): Promise<Line[]> {
  const { token } = await new LocalStackCredential('72f988bf-86f1-41af-91ab-2d7cd011db47').getToken(
    'https://storage.azure.com/.default',
  );
  const url = `https://127.0.0.1:41907/kyvosprimdata/kyvoscontainer?restype=container&comp=list&${SAS}`;
  // core-rest-pipeline's logPolicy JSON-serialises the request; an agent on it was dumped with the
  // last request of each keep-alive socket (a path with the SAS, a raw header with the token).
  const agentDump = JSON.stringify(
    {
      url: 'https://127.0.0.1:41907/kyvosprimdata/kyvoscontainer?restype=REDACTED&sig=REDACTED',
      agent: {
        defaultPort: 443,
        freeSockets: {
          '127.0.0.1:41907:::::::::::::::::::::': [
            {
              _httpMessage: {
                path: `/kyvosprimdata/kyvoscontainer/kyvos/engine_work/seg-0001.bin?${SAS}`,
                _header: `GET /kyvosdrapp/kyvos-dr/runs/lock.json HTTP/1.1\r\nAuthorization: Bearer ${token}\r\nHost: 127.0.0.1:41907\r\n\r\n`,
                outputData: [{ data: `{"value":"host=127.0.0.1 user=kyvos password=${PASSWORD}"}` }],
              },
            },
          ],
        },
      },
    },
    null,
    2,
  );
  return [
    { namespace: 'storage-blob', args: [`Request: ${agentDump}`] },
    { namespace: 'storage-common', args: [`RetryPolicy: Caught error, message: GET ${url} failed`] },
    { namespace: 'core-rest-pipeline', args: [`Headers: {"authorization":"Bearer ${token}"}`] },
    { namespace: 'core-lro', args: ['LRO: Operation description:', { operationLocation: url, token }] },
    {
      namespace: 'keyvault-secrets',
      args: ['secret %s', `postgres://kyvos:${PASSWORD}@127.0.0.1:5432/kyvos`],
    },
    { namespace: 'pg', args: ['config', { host: '127.0.0.1', user: 'kyvos', password: PASSWORD }] },
    {
      namespace: 'storage-queue',
      args: [`DefaultEndpointsProtocol=https;AccountName=kyvosprimdata;AccountKey=${ACCOUNT_KEY}`],
    },
  ];
}

describe("the Azure SDK's log", () => {
  let written: string;
  let restore: () => void;

  beforeEach(() => {
    written = '';
    const level = getLogLevel();
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    restore = () => {
      process.stderr.write = write;
      setLogLevel(level);
    };
  });
  afterEach(() => restore());

  it('the realistic lines hold every kind of secret when printed as they are', async () => {
    const printed = (await realisticLines()).map(({ args }) => format(...args)).join('\n');
    expect(findLeaks(printed, KNOWN).map((leak) => leak.what)).toEqual(
      expect.arrayContaining([
        'a SAS signature',
        'a bearer token',
        'a JWT',
        'a password setting',
        'a password field',
        'a connection string password',
        'an account key',
        'the SAS signature',
        'the password',
        'the account key',
      ]),
    );
  });

  it('once the dependencies are built, is written at verbose with every secret redacted', async () => {
    createDeps({});
    setLogLevel('verbose');
    const lines = await realisticLines();
    for (const { namespace, args } of lines) createClientLogger(namespace).verbose(...args);

    // Written, by the SDK's own sink, one line per call with its namespace: the level took effect.
    for (const { namespace } of lines) expect(written).toContain(`azure:${namespace}:verbose `);
    expect(findLeaks(written, KNOWN)).toEqual([]);
    // What is no secret stays readable.
    expect(written).toContain('restype=container&comp=list&sv=2025-07-05');
    expect(written).toContain('sig=REDACTED');
    expect(written).toContain('GET /kyvosdrapp/kyvos-dr/runs/lock.json');
    expect(written).toContain('Authorization: Bearer REDACTED');
  });

  it('leaves a WWW-Authenticate challenge readable: it holds no secret', () => {
    createDeps({});
    setLogLevel('info');
    createClientLogger('keyvault-secrets').info(
      '"www-authenticate": "Bearer authorization=\\"https://login.microsoftonline.com/tenant\\", resource=\\"https://vault.azure.net\\""',
    );
    expect(written).toContain('Bearer authorization=\\"https://login.microsoftonline.com/tenant');
  });
});

describe("the local stack's connection agent", () => {
  it('prints as its name only, so a request log or an error dump cannot show its sockets', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kyvos-dr-agent-'));
    try {
      const caCertPath = path.join(dir, 'ca.pem');
      await writeFile(caCertPath, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const clients = createClientFactory({
        kind: 'local',
        descriptor: {
          kind: 'local',
          tenantId: 't',
          subscriptionId: 's',
          caCertPath,
          armEndpoint: 'https://127.0.0.1:1',
          keyVaultUrl: 'https://127.0.0.1:2',
          blobEndpointTemplate: 'https://127.0.0.1:3/{account}',
          queueEndpointTemplate: 'https://127.0.0.1:4/{account}',
        },
      });
      const request = { url: 'https://127.0.0.1:3/a', agent: clients.httpsAgent };
      expect(JSON.stringify(request)).toBe('{"url":"https://127.0.0.1:3/a","agent":"https.Agent"}');
      expect(inspect(request)).toBe("{ url: 'https://127.0.0.1:3/a', agent: https.Agent }");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
