import { describe, expect, it, vi } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import { BUNDLED_MODEL } from './model-fixtures.js';

/** Counts the explainers built, and fails the next build when told to. */
const builds = vi.hoisted(() => ({ count: 0, failNext: false }));

vi.mock('../../src/data-plane/tree-explainer.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/data-plane/tree-explainer.js')>();
  class CountedTreeExplainer extends original.TreeExplainer {
    constructor(...args: ConstructorParameters<typeof original.TreeExplainer>) {
      builds.count += 1;
      if (builds.failNext) {
        builds.failNext = false;
        throw new Error('no room for the tables');
      }
      super(...args);
    }
  }
  return { ...original, TreeExplainer: CountedTreeExplainer };
});

describe('the explainer of a loaded model', () => {
  it('is built on first use, not at load, and only once', async () => {
    builds.count = 0;
    const model = await loadChurnModel(BUNDLED_MODEL, { intraOpThreads: 1 });
    try {
      expect(builds.count).toBe(0);
      expect(model.explanationsUnavailable).toBeUndefined();
      expect(builds.count).toBe(1);
      expect(model.explainer?.baseValue).toEqual(expect.any(Number));
      expect(model.explainer).toBe(model.explainer);
      expect(builds.count).toBe(1);
    } finally {
      await model.close();
    }
  });

  it('that cannot be built leaves the model serving, unexplained, with the reason', async () => {
    const model = await loadChurnModel(BUNDLED_MODEL, { intraOpThreads: 1 });
    try {
      builds.failNext = true;
      expect(model.explainer).toBeUndefined();
      expect(model.explanationsUnavailable).toBe('its explainer could not be built: no room for the tables');
      const { churn } = await model.predict(Float32Array.from([2, 70.7, 151.65, 2, 0]), 1);
      expect(churn[0]).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });
});
