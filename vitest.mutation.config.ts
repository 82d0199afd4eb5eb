import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The suite Stryker runs for each mutant: everything that runs the code in-process. End-to-end
 * tests, the browser's and the benchmark floors' start processes of their own, which never see the mutant.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ['test/e2e/**', 'test/deploy/**', 'test/browser/**', 'test/bench/**', 'node_modules/**'],
      // Instrumented code runs several times slower: each model load builds the TreeSHAP tables in
      // mutated code, and the 50-swap data-plane test (3 s normally) outlasts the usual 30 s.
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  }),
);
