import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * Vitest runs the slowest files first; Stryker stops a mutant's run at its first failing test, so
 * here the fastest run first: most mutants die in a quick unit test before any slow app test starts.
 */
class FastestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).reverse();
  }
}

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
      // mutated code, which can make a test that loads many models outlast the usual 30 s.
      testTimeout: 180_000,
      hookTimeout: 180_000,
      sequence: { sequencer: FastestFirst },
    },
  }),
);
