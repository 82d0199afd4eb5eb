// @ts-check
import base from './stryker.config.mjs';

/**
 * Stryker over the TreeSHAP explainer with its synthetic tests only (vitest.mutation-explainer.config.ts):
 * a lower bound on what the whole suite catches, in minutes rather than hours.
 *   npx stryker run stryker.explainer.config.mjs
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.mutation-explainer.config.ts' },
  mutate: ['src/data-plane/tree-explainer.ts'],
};
