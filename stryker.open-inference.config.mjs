// @ts-check
import base from './stryker.config.mjs';

/**
 * Stryker over the Open Inference Protocol adapter with its own tests and the unit tests only
 * (vitest.mutation-open-inference.config.ts): far quicker than the whole suite, and a lower bound on
 * what the whole suite catches.
 *   npx stryker run stryker.open-inference.config.mjs [--mutate files]
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.mutation-open-inference.config.ts' },
  mutate: ['src/open-inference/**/*.ts'],
};
