import { defineConfig } from 'vitest/config';
import mutation from './vitest.mutation.config.js';

/**
 * The unit tests alone (no app, no HTTP), for a quicker and stricter mutation measurement of the
 * data plane: a mutant counts as caught only if a test written for that layer catches it.
 * Used by stryker.unit.config.mjs.
 */
// Spread rather than mergeConfig, which would add these patterns to the suite's instead of replacing them.
export default defineConfig({ ...mutation, test: { ...mutation.test, include: ['test/data-plane/**/*.test.ts', 'test/unit/**/*.test.ts'] } });
