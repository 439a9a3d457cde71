import { defineConfig } from 'vitest/config';

// The tests StrykerJS runs against each mutant: the in-process ones (unit, contract, simulation).
// The integration project spawns node processes from dist/, which a mutant in the sandbox never reaches.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/sim/**/*.test.ts'],
    exclude: ['test/unit/bench/**', 'test/unit/cli/**', 'test/unit/architecture.test.ts', 'test/unit/config/docs.test.ts'],
    testTimeout: 20_000,
    // Each surviving mutant runs every test that covers it: 40 power-loss schedules instead of 200
    // keep a store mutant's run to seconds, and still reach every write path.
    env: { POWERLOSS_SCHEDULES: '40' },
  },
});
