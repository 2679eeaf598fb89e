import { describe, expect, it } from 'vitest';
import { loadDrill } from '../../src/cli/commands/drill.js';

// Loading the drill from local/ itself is the stack tier's (test/cli/drill.test.ts runs it).
describe('kyvos-dr drill', () => {
  it('says that the drill needs a development checkout when local/ is absent, as in an installed app', async () => {
    await expect(loadDrill('../../../local/drill/absent.js')).rejects.toThrow(
      /^"kyvos-dr drill" runs from a development checkout of kyvos-dr only: .*"npm ci", then "npm run drill"$/,
    );
  });
});
