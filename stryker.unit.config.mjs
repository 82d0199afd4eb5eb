// @ts-check
import base from './stryker.config.mjs';

/**
 * Stryker over the data plane, the error family, its classifier and pydantic's lax rules with their
 * unit tests only (vitest.mutation-unit.config.ts): minutes instead of an hour, and a lower bound on
 * what the whole suite catches.
 *   npx stryker run stryker.unit.config.mjs [--mutate files]
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.mutation-unit.config.ts' },
  mutate: ['src/data-plane/micro-batcher.ts', 'src/data-plane/data-plane.ts', 'src/data-plane/feature-rows.ts', 'src/data-plane/model-handle.ts', 'src/errors.ts', 'src/error-classifier.ts', 'src/pydantic-lax.ts'],
};
