import { describe, expect, it } from 'vitest';
import { resourceIdList } from '../../../src/lib/config/rules.js';

const SUB = '/subscriptions/6b0e2a6c-3f6c-4f37-9d0e-0c0ffee0d12a';
const GATEWAY = `${SUB}/resourceGroups/rg-kyvos/providers/Microsoft.Network/applicationGateways/agw-kyvos`;
const BLOB_SERVICE = `${SUB}/resourceGroups/rg-kyvos/providers/Microsoft.Storage/storageAccounts/kyvosprimdata/blobServices/default`;

describe('kyvos-dr-alert-target-allow-list', () => {
  it('takes full ARM resource ids separated by commas or newlines, dropping blanks and trailing slashes', () => {
    expect(resourceIdList(` ${GATEWAY}/ ,\n\n${BLOB_SERVICE}\r\n${SUB}\n`)).toEqual({
      ok: true,
      value: [GATEWAY, BLOB_SERVICE, SUB],
    });
  });

  it.each([
    ['a resource name', 'kyvosprimdata'],
    ['an id without the subscription GUID', '/subscriptions/prod/resourceGroups/rg-kyvos'],
    [
      'a resource type without a name',
      `${SUB}/resourceGroups/rg-kyvos/providers/Microsoft.Storage/storageAccounts`,
    ],
    ['a URL', `https://management.azure.com${GATEWAY}`],
  ])('refuses %s, naming its position and not its text', (_case, bad) => {
    const result = resourceIdList(`${GATEWAY},${bad}`);
    expect(result.ok).toBe(false);
    const problem = (result as { problem: string }).problem;
    expect(problem).toContain('entry 2 is not a full ARM resource id');
    expect(problem).not.toContain(bad);
  });
});
