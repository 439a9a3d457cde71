// @ts-check
/**
 * Mutation testing of the replication core: `npm run test:mutation`. Each mutant (a small change
 * planted in the code) runs the in-process tests that cover it; a mutant no test notices survives.
 * The report goes to reports/mutation/; docs/testing.md says how to read it.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const config = {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['src/replication/**/*.ts', 'src/model/**/*.ts', 'src/store/**/*.ts', 'src/cluster/**/*.ts', 'src/ring/**/*.ts', 'src/util/clock.ts'],
  coverageAnalysis: 'perTest',
  // A mutant in module-level code would need every test re-run for each one; they are few here.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 5_000,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  ignorePatterns: ['dist', 'data', 'reports', 'bench/results', '.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  thresholds: { high: 90, low: 80, break: null },
};
export default config;
