import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The suite Stryker runs for each mutant: everything that runs the code in-process. End-to-end
 * tests start the compiled server as a child process, which never sees the mutant.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: { exclude: ['test/e2e/**', 'test/deploy/**', 'node_modules/**'] },
  }),
);
