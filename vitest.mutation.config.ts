import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import { PROCESS_TESTS } from './vitest.config.js';

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
 * One project, not vitest.config.ts's projects, so that Stryker sees one plain suite.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...PROCESS_TESTS, 'test/deploy/**'],
    // Instrumented code runs several times slower: each model load builds the TreeSHAP tables in
    // mutated code, which can make a test that loads many models outlast the usual 30 s.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    restoreMocks: true,
    sequence: { sequencer: FastestFirst },
  },
});
