import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStorageFront } from '../../local/storageFront.js';
import { emptyFaults } from '../../local/types.js';
import { createTestCertificate, rawRequest } from './emulator/helpers.js';

describe('the storage front', () => {
  let dropper: net.Server;
  let port: number;
  beforeAll(async () => {
    // An upstream that accepts connections and drops them, as Azurite closing a kept-alive socket.
    dropper = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', () => resolve()));
    port = (dropper.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => dropper.close(() => resolve()));
  });

  it('answers 503 ServerBusy, which clients retry, when Azurite drops the connection', async () => {
    const tls = await createTestCertificate();
    const front = await startStorageFront({
      cert: tls.cert,
      key: tls.key,
      azuriteBlobPort: port,
      accounts: [],
      faults: emptyFaults(),
    });
    try {
      const response = await rawRequest(`${front.blobEndpoint('kyvosprimdata', false)}/c/b.txt`, {
        tls,
        method: 'GET',
      });
      expect(response.status).toBe(503);
      expect(response.headers['x-ms-error-code']).toBe('ServerBusy');
      expect(response.text).toContain('The storage emulator did not answer');
    } finally {
      await front.stop();
    }
  });
});
