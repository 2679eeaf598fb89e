import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURITE_PRELOAD, startAzurite } from '../../local/azurite.js';
import { createStackCertificate } from '../../local/certificate.js';

describe('Azurite on the local stack', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kyvos-dr-azurite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs with the preload', async () => {
    const certificate = await createStackCertificate(dir);
    const azurite = await startAzurite({
      accounts: [{ name: 'kyvosprimdata', key: Buffer.from('k'.repeat(32)).toString('base64') }],
      certPath: certificate.certPath,
      keyPath: certificate.keyPath,
    });
    try {
      const commandLine = readFileSync(`/proc/${azurite.pid}/cmdline`, 'utf8').split('\0');
      const required = commandLine.indexOf('--require');
      expect(required).toBeGreaterThan(0);
      expect(commandLine.slice(required, required + 2)).toEqual(['--require', AZURITE_PRELOAD]);
    } finally {
      await azurite.stop();
    }
  });
});
