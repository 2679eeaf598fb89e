import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface StackCertificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made at stack start. Azurite, the storage
 * front and the control-plane emulator all serve it; clients on the local stack trust exactly it.
 */
export async function createStackCertificate(dir: string): Promise<StackCertificate> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    notAfterDate: new Date(Date.now() + 7 * 24 * 3600 * 1000),
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  const certPath = path.join(dir, 'stack-cert.pem');
  const keyPath = path.join(dir, 'stack-key.pem');
  await writeFile(certPath, pems.cert, { mode: 0o644 });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private, certPath, keyPath };
}
