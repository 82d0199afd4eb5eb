import { defineConfig } from 'vitest/config';
import mutation from './vitest.mutation.config.js';

/**
 * The explainer's own tests only: TreeSHAP against brute-force Shapley values on the bundled model
 * and on made-up ensembles of every branch mode. The other data-plane tests load models, and each
 * load builds the TreeSHAP tables in instrumented code, which made a run of tree-explainer.ts
 * against the unit tests take hours. Used by stryker.explainer.config.mjs.
 */
// Spread rather than mergeConfig, which would add these patterns to the suite's instead of replacing them.
export default defineConfig({
  ...mutation,
  test: { ...mutation.test, include: ['test/data-plane/tree-explainer.test.ts', 'test/data-plane/tree-shap-synthetic.test.ts'] },
});
