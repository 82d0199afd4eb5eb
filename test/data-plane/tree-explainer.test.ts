import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model } from '../../src/data-plane/model.js';
import { readTreeEnsemble, type TreeEnsemble } from '../../src/data-plane/onnx-trees.js';
import { treeShap, TreeExplainer } from '../../src/data-plane/tree-explainer.js';
import { FEATURE_COUNT } from '../../src/schemas/customer-features.js';
import { BUNDLED_MODEL } from './model-fixtures.js';

interface ShapFixture {
  base_value: number;
  tolerance: number;
  rows: { features: number[]; shap: number[]; raw: number; kind: string }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/shap.json', import.meta.url), 'utf8')) as ShapFixture;
const parity = JSON.parse(readFileSync(new URL('../fixtures/parity.json', import.meta.url), 'utf8')) as { rows: { features: number[] }[] };
const reading = readTreeEnsemble(readFileSync(BUNDLED_MODEL));
const ensemble = (reading as { ensemble: TreeEnsemble }).ensemble;
const float32 = (values: number[]) => Float32Array.from(values);
const logit = (p: number) => Math.log(p / (1 - p));

let model: Model;
beforeAll(async () => {
  model = await loadChurnModel(BUNDLED_MODEL, { intraOpThreads: 1 });
});
afterAll(async () => model.close());

describe('TreeExplainer on the bundled model', () => {
  it('reads 200 trees with their covers from the ONNX file', () => {
    expect(reading).toHaveProperty('ensemble');
    expect(ensemble.trees).toHaveLength(200);
    expect(ensemble.trees[0]![0]!.cover).toBe(5634);
  });

  it(`matches the brute-force Shapley values within ${fixture.tolerance} for every row and feature`, () => {
    const explainer = new TreeExplainer(ensemble, FEATURE_COUNT);
    expect(explainer.baseValue).toBeCloseTo(fixture.base_value, 9);
    let worst = 0;
    for (const row of fixture.rows) {
      const { shap } = explainer.explain(float32(row.features));
      row.shap.forEach((expected, feature) => (worst = Math.max(worst, Math.abs(shap[feature]! - expected))));
    }
    expect(fixture.rows.length).toBeGreaterThanOrEqual(1000);
    expect(worst).toBeLessThanOrEqual(fixture.tolerance);
  });

  it('adds up to the logit of onnxruntime\'s probability within 1e-5 for every parity row', async () => {
    const explainer = new TreeExplainer(ensemble, FEATURE_COUNT);
    const probabilities = (await model.predict(Float32Array.from(parity.rows.flatMap((row) => row.features)), parity.rows.length)).churn;
    let worst = 0;
    parity.rows.forEach((row, index) => {
      const { baseValue, shap } = explainer.explain(float32(row.features));
      const total = shap.reduce((sum, value) => sum + value, baseValue);
      worst = Math.max(worst, Math.abs(total - logit(probabilities[index]!)));
    });
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('gives the same values from its tables as Algorithm 2 run directly', () => {
    const explainer = new TreeExplainer(ensemble, FEATURE_COUNT);
    for (const row of fixture.rows.slice(0, 200)) {
      const features = float32(row.features);
      const direct = new Float64Array(FEATURE_COUNT);
      for (const tree of ensemble.trees) {
        treeShap(tree, (nodeId) => features[tree[nodeId]!.split!.feature]! <= tree[nodeId]!.split!.threshold, direct);
      }
      const tabled = explainer.explain(features).shap;
      direct.forEach((value, feature) => expect(tabled[feature]).toBeCloseTo(value, 12));
    }
  });
});
