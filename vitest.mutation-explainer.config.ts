import { defineConfig } from 'vitest/config';
import mutation from './vitest.mutation.config.js';

/**
 * The explainer's synthetic tests only: TreeSHAP against Shapley values computed by their definition
 * on made-up ensembles of every branch mode, tabled and direct. Every other test that reaches the
 * explainer builds the bundled model's 100 tables or runs Algorithm 2 over its trees for hundreds of
 * rows, in instrumented code: against the unit tests a run of tree-explainer.ts was on course for
 * hours, and with test/data-plane/tree-explainer.test.ts still for more than half an hour.
 * Used by stryker.explainer.config.mjs.
 */
// Spread rather than mergeConfig, which would add these patterns to the suite's instead of replacing them.
export default defineConfig({
  ...mutation,
  test: { ...mutation.test, include: ['test/data-plane/tree-shap-synthetic.test.ts'] },
});
