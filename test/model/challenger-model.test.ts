import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model } from '../../src/data-plane/model.js';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { BUNDLED_MODEL } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson } from '../helpers.js';

/**
 * The second real model, the challenger in rollout tests: a logistic regression trained by the
 * pipeline (training/train.py --candidate logistic_regression --out test/fixtures/challenger), with
 * its own card. The service must load it as it loads the champion, card bound both ways, and
 * serve it without explanations.
 */

const CHALLENGER = fileURLToPath(new URL('../fixtures/challenger/churn_model.onnx', import.meta.url));
const VERSION = '2.0.0-rc.1';
const TOLERANCE = 1e-5;

interface ParityRow {
  features: number[];
  probability: number;
  kind: 'holdout' | 'edge';
}
const parity = JSON.parse(readFileSync(new URL('../fixtures/challenger/parity.json', import.meta.url), 'utf8')) as {
  model_version: string;
  feature_names: string[];
  rows: ParityRow[];
};

let challenger: Model;
let champion: Model;
beforeAll(async () => {
  // No allowMissingCard: the card must be there and bound to the file, as for the champion.
  [challenger, champion] = await Promise.all([loadChurnModel(CHALLENGER, { intraOpThreads: 1 }), loadChurnModel(BUNDLED_MODEL, { intraOpThreads: 1 })]);
});
afterAll(async () => Promise.all([challenger.close(), champion.close()]));

const packed = (rows: readonly ParityRow[]) => Float32Array.from(rows.flatMap((row) => row.features));

describe('the challenger model fixture', () => {
  it('loads with its own card, bound to the file, as a version of its own', () => {
    expect(challenger.version).toBe(VERSION);
    expect(challenger.card?.model_version).toBe(VERSION);
    expect(parity.model_version).toBe(VERSION);
    expect(challenger.card?.onnx.sha256).toBe(challenger.sha256);
    expect(challenger.warnings).toEqual([]);
    expect(challenger.version).not.toBe(champion.version);
    expect(challenger.sha256).not.toBe(champion.sha256);
  });

  it('says in its card that it was named, not chosen by the selection', () => {
    const card = challenger.card as NonNullable<Model['card']> & { chosen_model: { name: string }; candidates: unknown[] };
    expect(card.chosen_model.name).toBe('logistic_regression');
    expect(card.candidates).toHaveLength(1);
    expect(card.selection).toMatch(/^none: this model was named \(train\.py --candidate\), not chosen/);
    expect(card.drift_reference.features.map((profile) => profile.name)).toEqual([...FEATURE_NAMES]);
  });

  it('has the served signature: features [N, 5] in, probabilities [N, 2] out', () => {
    expect(challenger.signature.input).toMatchObject({ name: 'features', type: 'float32', shape: ['N', 5] });
    expect(challenger.signature.outputs.find((output) => output.role === 'probabilities')).toMatchObject({ type: 'float32', shape: ['N', 2] });
  });

  it('is served without explanations, saying why', () => {
    expect(challenger.explainer).toBeUndefined();
    expect(challenger.explanationsUnavailable).toEqual(expect.any(String));
  });

  it(`reproduces every parity row of the pipeline within ${TOLERANCE}`, async () => {
    expect(parity.feature_names).toEqual([...FEATURE_NAMES]);
    expect(parity.rows.filter((row) => row.kind === 'holdout')).toHaveLength(1409);
    const { churn } = await challenger.predict(packed(parity.rows), parity.rows.length);
    const errors = parity.rows.map((row, index) => Math.abs(churn[index]! - row.probability));
    expect(Math.max(...errors)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('scores a known hold-out customer as the pipeline did, and not as the champion does', async () => {
    // The first hold-out row: 72 months, $114.05 a month, $8,468.20 so far, 9 products, tech support.
    const customer = parity.rows.find((row) => row.kind === 'holdout')!;
    expect(customer.features).toEqual([72, 114.05000305175781, 8468.2001953125, 9, 1]);
    const [mine] = (await challenger.predict(packed([customer]), 1)).churn;
    const [theirs] = (await champion.predict(packed([customer]), 1)).churn;
    expect(mine).toBeCloseTo(customer.probability, 5);
    expect(Math.abs(mine! - theirs!)).toBeGreaterThan(0.01);
  });
});

describe('the challenger model served as the only model', () => {
  it('answers predictions as version 2.0.0-rc.1, serves its card, and refuses explanations with the reason', async () => {
    const { app } = await buildTestApp({ MODEL_PATH: CHALLENGER });
    try {
      const customer = parity.rows.find((row) => row.kind === 'holdout')!;
      const body = Object.fromEntries(FEATURE_NAMES.map((name, column) => [name, customer.features[column]]));
      const answer = await postJson(app, '/predict', body);
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ model_version: VERSION, churn_probability: Math.round(customer.probability * 10_000) / 10_000 });
      const model = (await app.inject({ method: 'GET', url: '/model' })).json() as { model_version: string; explanations: { available: boolean }; card: { model_version: string } };
      expect(model).toMatchObject({ model_version: VERSION, explanations: { available: false }, card: { model_version: VERSION } });
      const explained = await postJson(app, '/predict?explain=true', body);
      expect(explained.statusCode).toBe(400);
      expect(explained.body).toContain(`Explanations are not available for model ${VERSION}`);
    } finally {
      await app.close();
    }
  });
});
