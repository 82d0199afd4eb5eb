import { defineConfig } from 'vitest/config';

/** Tests that run the compiled server (dist/) as a process of its own. */
export const DIST_TESTS = ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'];
/** Tests that pack packages/ with npm and typecheck a client project against the tarball. */
export const PACKAGE_TESTS = ['test/package/**/*.test.ts'];
/** Tests that start processes of their own: the compiled server, npm and tsc, or the benchmark's floors under tsx. */
export const PROCESS_TESTS = [...DIST_TESTS, ...PACKAGE_TESTS, 'test/bench/**/*.test.ts'];

/**
 * `npm test` runs every project; `npm run test:unit` (--project in-process) only what runs inside
 * vitest's own workers: no child process, no browser, no build. The dist project builds dist/
 * first, and only when one of its tests is selected.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every vi.spyOn is undone before the next test, so no test runs on a mock another one left behind.
    restoreMocks: true,
    projects: [
      { extends: true, test: { name: 'in-process', include: ['test/**/*.test.ts'], exclude: PROCESS_TESTS } },
      { extends: true, test: { name: 'dist', include: DIST_TESTS, globalSetup: ['test/build-dist.ts'] } },
      { extends: true, test: { name: 'package', include: PACKAGE_TESTS } },
      { extends: true, test: { name: 'bench', include: ['test/bench/**/*.test.ts'] } },
    ],
  },
});
