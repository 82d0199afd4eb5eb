import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model } from '../../src/data-plane/model.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../src/schemas/customer-features.js';

interface ParityRow {
  features: number[];
  probability: number;
  kind: string;
}
interface ParityFixture {
  feature_names: string[];
  tolerance: number;
  rows: ParityRow[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/parity.json', import.meta.url), 'utf8')) as ParityFixture;
const TOLERANCE = 1e-5;

let model: Model;
beforeAll(async () => {
  model = await loadChurnModel(loadConfig({}).MODEL_PATH, { intraOpThreads: 1 });
});
afterAll(async () => model.close());

describe('the bundled ONNX model matches scikit-learn', () => {
  it('uses the service feature order', () => {
    expect(fixture.feature_names).toEqual([...FEATURE_NAMES]);
  });

  it('covers at least 1,000 held-out rows and the edge rows', () => {
    expect(fixture.rows.filter((row) => row.kind === 'holdout').length).toBeGreaterThanOrEqual(1000);
    expect(fixture.rows.filter((row) => row.kind !== 'holdout').length).toBeGreaterThan(0);
  });

  it(`gives every row's probability within ${TOLERANCE} in one run`, async () => {
    const features = Float32Array.from(fixture.rows.flatMap((row) => row.features));
    expect(features.length).toBe(fixture.rows.length * FEATURE_COUNT);
    const probabilities = (await model.predict(features, fixture.rows.length)).churn;
    let maxError = 0;
    let worst = -1;
    fixture.rows.forEach((row, index) => {
      const error = Math.abs(probabilities[index]! - row.probability);
      if (error > maxError) [maxError, worst] = [error, index];
    });
    expect(maxError, `worst row ${worst}: ${JSON.stringify(fixture.rows[worst])}`).toBeLessThanOrEqual(TOLERANCE);
  });
});
