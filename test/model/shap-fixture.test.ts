import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model } from '../../src/data-plane/model.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../src/schemas/customer-features.js';

interface ShapRow {
  features: number[];
  shap: number[];
  raw: number;
  kind: string;
}
interface ShapFixture {
  feature_names: string[];
  model_version: string;
  onnx_sha256: string;
  base_value: number;
  tolerance: number;
  rows: ShapRow[];
}
interface ParityFixture {
  rows: { features: number[]; probability: number; kind: string }[];
}

const shap = JSON.parse(readFileSync(new URL('../fixtures/shap.json', import.meta.url), 'utf8')) as ShapFixture;
const parity = JSON.parse(readFileSync(new URL('../fixtures/parity.json', import.meta.url), 'utf8')) as ParityFixture;
const sigmoid = (raw: number): number => 1 / (1 + Math.exp(-raw));
/** The explained score is onnxruntime's before its float32 logistic; probabilities agree this closely. */
const PROBABILITY_TOLERANCE = 1e-6;

let model: Model;
beforeAll(async () => {
  model = await loadChurnModel(loadConfig({}).MODEL_PATH, { intraOpThreads: 1 });
});
afterAll(async () => model.close());

/**
 * test/fixtures/shap.json is the reference for the service's TreeSHAP explainer, written by
 * training/train.py (see training/README.md). These tests check the fixture itself.
 */
describe('the SHAP reference fixture', () => {
  it('uses the service feature order and a 1e-6 tolerance', () => {
    expect(shap.feature_names).toEqual([...FEATURE_NAMES]);
    expect(shap.tolerance).toBe(1e-6);
  });

  it('explains exactly the parity rows, in order: at least 1,000 hold-out rows and the edge rows', () => {
    expect(shap.rows.length).toBe(parity.rows.length);
    shap.rows.forEach((row, index) => {
      expect(row.features).toEqual(parity.rows[index]!.features);
      expect(row.kind).toBe(parity.rows[index]!.kind);
    });
    expect(shap.rows.filter((row) => row.kind === 'holdout').length).toBeGreaterThanOrEqual(1000);
    expect(shap.rows.filter((row) => row.kind !== 'holdout').length).toBeGreaterThan(0);
  });

  it('adds up: base_value + sum(shap) = raw for every row', () => {
    let maxError = 0;
    for (const row of shap.rows) {
      expect(row.shap).toHaveLength(FEATURE_COUNT);
      for (const value of row.shap) expect(Number.isFinite(value)).toBe(true);
      const total = row.shap.reduce((sum, value) => sum + value, shap.base_value);
      maxError = Math.max(maxError, Math.abs(total - row.raw));
    }
    expect(maxError).toBeLessThanOrEqual(1e-12);
  });

  it(`gives raw scores whose sigmoid is scikit-learn's probability within ${PROBABILITY_TOLERANCE}`, () => {
    let maxError = 0;
    shap.rows.forEach((row, index) => {
      maxError = Math.max(maxError, Math.abs(sigmoid(row.raw) - parity.rows[index]!.probability));
    });
    expect(maxError).toBeLessThanOrEqual(PROBABILITY_TOLERANCE);
  });

  it(`gives raw scores whose sigmoid is the bundled model's onnxruntime probability within ${PROBABILITY_TOLERANCE}`, async () => {
    const features = Float32Array.from(shap.rows.flatMap((row) => row.features));
    const probabilities = (await model.predict(features, shap.rows.length)).churn;
    let maxError = 0;
    let worst = -1;
    shap.rows.forEach((row, index) => {
      const error = Math.abs(sigmoid(row.raw) - probabilities[index]!);
      if (error > maxError) [maxError, worst] = [error, index];
    });
    expect(maxError, `worst row ${worst}`).toBeLessThanOrEqual(PROBABILITY_TOLERANCE);
  });
});
