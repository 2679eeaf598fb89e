/**
 * Timeouts of the stack tier's long scenarios, set for the file that is about to run (a setup file
 * of the `stack` project in vitest.config.ts runs before each test file).
 *
 * Each is four to five times the longest test of its file in two full stack runs measured on
 * 2026-12-02 on a 2-core machine shared with other runs (load average 8 to 16; the tier took 14 and
 * 9 min), so that a busier machine does not fail them; a hang still ends. The longest measured time
 * is in the comment. Tests assert no wall-clock limit of their own.
 */
import { expect, vi } from 'vitest';

const LONG_SCENARIO_TIMEOUTS_IN_MS: Record<string, number> = {
  // 145.9 s: the killed-worker scenario (the former flat 120 s cut it in the first run); its resumed
  // run alone may take up to 240 s by its own bound.
  'test/lib/failover/scenarios.test.ts': 600_000,
  // 127.8 s: a copy that failed part way, continued by a retry.
  'test/lib/failover/retry.test.ts': 600_000,
  // 77.4 s: a planned failover through the CLI.
  'test/cli/drill.test.ts': 400_000,
  // 68.6 s: the complete failover.
  'test/lib/failover/failover.test.ts': 360_000,
};

const testPath = expect.getState().testPath ?? '';
for (const [file, timeoutInMs] of Object.entries(LONG_SCENARIO_TIMEOUTS_IN_MS)) {
  if (testPath.endsWith(`/${file}`)) vi.setConfig({ testTimeout: timeoutInMs, hookTimeout: timeoutInMs });
}
