import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `unit`: decisions with no stack (in-memory stores, injected interleavings, a fake
 * clock), files named `*.unit.test.ts`, run by `npm run test:unit` in well under a minute. `stack`:
 * scenarios on the local stack (Azurite, two PostgreSQL servers, the emulator), every other
 * `*.test.ts`. `npm test` runs both.
 */
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          // The fast tier first; each project runs with its own number of workers.
          sequence: { groupOrder: 0 },
          // Files share each worker's module cache: with a fresh module graph per file, importing the
          // Azure SDKs again for each of the ~36 files took ~90 % of the tier's time (measured
          // 2026-12-02 on a 2-core machine under load: 84 s isolated, 9 s shared). Safe because
          // unit tests leave no global state behind: no vi.mock, vi.stubEnv, fake timers or
          // process.env writes (their decisions take `deps`, a clock and in-memory stores instead).
          pool: 'forks',
          isolate: false,
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.unit.test.ts'],
          sequence: { groupOrder: 1 },
          // Each scenario file starts its own local stack (Azurite, two PostgreSQL servers, the
          // emulator); two at a time fit a 2-core machine.
          pool: 'forks',
          maxWorkers: 2,
          // Measured on 2026-12-02 in two full runs on a loaded 2-core machine: apart from the long
          // scenarios, which get their own timeouts in this setup file, no test took over 34 s.
          testTimeout: 180_000,
          hookTimeout: 180_000,
          setupFiles: ['test/helpers/stackTimeouts.ts'],
        },
      },
    ],
  },
});
