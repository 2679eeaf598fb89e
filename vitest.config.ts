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
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
