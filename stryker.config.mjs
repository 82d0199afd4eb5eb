// @ts-check
/**
 * npm run test:mutation: how many deliberate bugs in the data plane, the churn API's mapping, the Open
 * Inference Protocol adapter, the config and the error mapping the tests catch. Slow (tens of minutes),
 * so not part of npm test.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: [
    'src/data-plane/**/*.ts',
    'src/churn-api/**/*.ts',
    'src/open-inference/**/*.ts',
    'src/config.ts',
    'src/errors.ts',
    'src/error-classifier.ts',
    'src/validation-issues.ts',
    'src/pydantic-lax.ts',
    'src/error-handling.ts',
    'src/fastapi-error-renderer.ts',
    'src/client-errors.ts',
    'src/plugins/error-handler.ts',
    'src/plugins/route-registry.ts',
    'src/schemas/customer-features.ts',
  ],
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 85, low: 70, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
