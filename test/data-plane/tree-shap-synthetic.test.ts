import { describe, expect, it } from 'vitest';
import type { BranchMode, Tree, TreeEnsemble } from '../../src/data-plane/onnx-trees.js';
import { MAX_TABLE_SPLITS, TreeExplainer } from '../../src/data-plane/tree-explainer.js';
import { bruteForceShap, GRID, MODES, predictTree, randomRow, randomTree, seededRandom } from './synthetic-trees.js';

/**
 * TreeExplainer on made-up ensembles, against Shapley values computed by their definition: every
 * branch mode ONNX knows (scikit-learn exports only BRANCH_LEQ), and trees with more splits than
 * the tables take, which run Algorithm 2 for each row.
 */

const FEATURES = 5;

function ensembleOf(seed: number, splitCounts: number[], modes: readonly BranchMode[]): TreeEnsemble {
  const random = seededRandom(seed);
  return { baseScore: -0.75, trees: splitCounts.map((splits) => randomTree(random, splits, FEATURES, modes)) };
}

function expectExact(ensemble: TreeEnsemble, seed: number) {
  const explainer = new TreeExplainer(ensemble, FEATURES);
  const random = seededRandom(seed);
  const rows = [GRID.slice(0, FEATURES), ...Array.from({ length: 24 }, () => randomRow(random, FEATURES))];
  for (const row of rows) {
    const expected = bruteForceShap(ensemble, row);
    const { baseValue, shap } = explainer.explain(Float32Array.from(row));
    expect(baseValue).toBeCloseTo(expected.baseValue, 12);
    expect(shap).toHaveLength(FEATURES);
    shap.forEach((value, feature) => expect(value, `row ${row}, feature ${feature}`).toBeCloseTo(expected.shap[feature]!, 9));
    // Local accuracy: the values add up to this row's raw output.
    const raw = ensemble.trees.reduce((sum, tree) => sum + predictTree(tree, row), ensemble.baseScore);
    expect(shap.reduce((sum, value) => sum + value, baseValue)).toBeCloseTo(raw, 9);
  }
}

describe('TreeExplainer on made-up ensembles equals the Shapley values by definition', () => {
  it.each([
    ['small BRANCH_LEQ trees, from tables', 11, [1, 2, 3, 4, 5, 6, 2, 3], ['BRANCH_LEQ'] as const],
    ['small trees of every branch mode, from tables', 12, [1, 2, 3, 4, 5, 6, 7, 3, 4, 5], MODES],
    ['trees too big for tables, BRANCH_LEQ, by Algorithm 2 per row', 13, [11, 12, 14], ['BRANCH_LEQ'] as const],
    ['trees too big for tables, every branch mode, by Algorithm 2 per row', 14, [11, 13, 16, 12], MODES],
    ['tabled and direct trees together, every branch mode', 15, [2, 11, 4, 12, 10, 1], MODES],
  ])('%s', (_case, seed, splitCounts, modes) => {
    const ensemble = ensembleOf(seed, splitCounts, modes);
    expect(new Set(ensemble.trees.flatMap((tree) => tree.flatMap((node) => (node.split ? [node.split.mode] : []))))).toEqual(new Set(modes));
    expectExact(ensemble, seed + 100);
  });

  it.each(MODES)('one split in %s: the whole difference from the expectation goes to its feature, on either side and at the threshold', (mode) => {
    const tree: Tree = [
      { cover: 10, split: { feature: 2, mode, threshold: 1.5, whenTrue: 1, whenFalse: 2 } },
      { cover: 6, value: 1 },
      { cover: 4, value: -1 },
    ];
    const explainer = new TreeExplainer({ baseScore: 0.5, trees: [tree] }, FEATURES);
    expect(explainer.baseValue).toBeCloseTo(0.5 + 0.2, 12);
    for (const value of [1, 1.5, 2]) {
      const row = [3, 3, value, 3, 3];
      const { baseValue, shap } = explainer.explain(Float32Array.from(row));
      const expected = predictTree(tree, row) - 0.2;
      expect([...shap]).toEqual([0, 0, expect.closeTo(expected, 12), 0, 0]);
      expect(baseValue + shap[2]!).toBeCloseTo(0.5 + predictTree(tree, row), 12);
    }
  });

  it(`tables a tree of up to MAX_TABLE_SPLITS (${MAX_TABLE_SPLITS}) splits, and builds no table for a bigger one, which it still explains exactly`, () => {
    const atLimit = ensembleOf(31, [MAX_TABLE_SPLITS], MODES);
    const used = new Set(atLimit.trees[0]!.flatMap((node) => (node.split ? [node.split.feature] : []))).size;
    expect(new TreeExplainer(atLimit, FEATURES).tableBytes).toBe(2 ** MAX_TABLE_SPLITS * used * Float64Array.BYTES_PER_ELEMENT);
    // A deep tree tabled would take 2^splits patterns: a tree of 30 splits, 40 GB.
    const overLimit = ensembleOf(32, [MAX_TABLE_SPLITS + 1, MAX_TABLE_SPLITS + 6], MODES);
    expect(new TreeExplainer(overLimit, FEATURES).tableBytes).toBe(0);
    expectExact(overLimit, 132);
  });

  it('gives each call its own values, whatever was explained before', () => {
    const ensemble = ensembleOf(21, [3, 12, 5], MODES);
    const explainer = new TreeExplainer(ensemble, FEATURES);
    const [first, second] = [[0, 0.5, 1, 1.5, 2], [3, 2.5, 2, 1.5, 1]];
    const alone = [...explainer.explain(Float32Array.from(second!)).shap];
    explainer.explain(Float32Array.from(first!));
    expect([...explainer.explain(Float32Array.from(second!)).shap]).toEqual(alone);
  });
});
