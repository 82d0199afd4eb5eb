import { describe, expect, it } from 'vitest';
import type { BranchMode, Tree, TreeEnsemble } from '../../src/data-plane/onnx-trees.js';
import { MAX_GROUP_TABLE_VALUES, MAX_TABLE_SPLITS, treeShap, TreeExplainer } from '../../src/data-plane/tree-explainer.js';
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

  it('explains a batch of rows exactly as it explains each row alone: grouped, patterned and direct trees together', () => {
    const ensemble = ensembleOf(41, [3, 3, 2, 12, 4, 3, 1, 11, 5, 2], MODES);
    ensemble.trees.push(...ensembleOf(42, [3, 2, 3, 1, 3], ['BRANCH_LEQ']).trees);
    const explainer = new TreeExplainer(ensemble, FEATURES);
    const random = seededRandom(43);
    const rows = Array.from({ length: 30 }, () => randomRow(random, FEATURES));
    const batch = explainer.explainRows(Float32Array.from(rows.flat()), rows.length);
    expect(batch).toHaveLength(rows.length * FEATURES);
    rows.forEach((row, index) => expect([...batch.subarray(index * FEATURES, (index + 1) * FEATURES)]).toEqual([...explainer.explain(Float32Array.from(row)).shap]));
  });

  it(`sums trees on the same features into tables of at most MAX_GROUP_TABLE_VALUES (${MAX_GROUP_TABLE_VALUES}) values, as exact as each tree alone`, () => {
    // 200 trees of 3 splits on features 1 and 3, each with thresholds of its own: one table would
    // need about 300 x 300 cells of 2 values.
    const random = seededRandom(51);
    const threshold = () => Math.round(random() * 3000) / 1000;
    const trees: Tree[] = Array.from({ length: 200 }, () => {
      const covers = [3, 5, 7, 11].map((cover) => cover + Math.floor(random() * 10));
      const leaf = (cover: number) => ({ cover, value: Math.round((random() * 2 - 1) * 1000) / 1024 });
      return [
        { cover: covers[0]! + covers[1]! + covers[2]! + covers[3]!, split: { feature: 1, mode: 'BRANCH_LEQ', threshold: threshold(), whenTrue: 1, whenFalse: 2 } },
        { cover: covers[0]! + covers[1]!, split: { feature: 3, mode: 'BRANCH_LEQ', threshold: threshold(), whenTrue: 3, whenFalse: 4 } },
        { cover: covers[2]! + covers[3]!, split: { feature: 3, mode: 'BRANCH_LEQ', threshold: threshold(), whenTrue: 5, whenFalse: 6 } },
        leaf(covers[0]!),
        leaf(covers[1]!),
        leaf(covers[2]!),
        leaf(covers[3]!),
      ];
    });
    const explainer = new TreeExplainer({ baseScore: 0, trees }, FEATURES);
    expect(explainer.groupTableSizes.length).toBeGreaterThan(1);
    for (const size of explainer.groupTableSizes) expect(size).toBeLessThanOrEqual(MAX_GROUP_TABLE_VALUES);
    // Rows on and between the thresholds, and past both ends.
    const rows = [...Array.from({ length: 60 }, () => [0, threshold(), 0, threshold(), 0]), [0, -1, 0, 4, 0], [0, 4, 0, -1, 0]];
    for (const row of rows) {
      const features = Float32Array.from(row);
      const direct = new Float64Array(FEATURES);
      for (const tree of trees) treeShap(tree, (nodeId) => features[tree[nodeId]!.split!.feature]! <= tree[nodeId]!.split!.threshold, direct);
      const { shap } = explainer.explain(features);
      direct.forEach((value, feature) => expect(shap[feature], `row ${row}, feature ${feature}`).toBeCloseTo(value, 11));
    }
  });
});
