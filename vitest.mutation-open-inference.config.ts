import { defineConfig } from 'vitest/config';
import mutation from './vitest.mutation.config.js';

/**
 * The Open Inference Protocol adapter's own tests (in-process apps) and the unit tests, for a
 * quicker mutation measurement of src/open-inference than the whole suite gives: a lower bound on
 * what the whole suite catches. Used by stryker.open-inference.config.mjs.
 */
// Spread rather than mergeConfig, which would add these patterns to the suite's instead of replacing them.
export default defineConfig({ ...mutation, test: { ...mutation.test, include: ['test/open-inference/**/*.test.ts', 'test/unit/**/*.test.ts'] } });
