import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { LINEAR_MODEL } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';

/** A logistic regression with a card: a challenger that cannot explain its scores. */
const FIXTURE_CHALLENGER = fileURLToPath(new URL('../fixtures/challenger/churn_model.onnx', import.meta.url));
const customers = (count: number) => Array.from({ length: count }, (_, index) => ({ ...VALID_CUSTOMER, tenure_months: index % 72, customer_id: `crm-${index}` }));

describe('a challenger at the edges', () => {
  it('in shadow, a close right after the answers still logs every shadow score before the log closes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'challenger-close-'));
    const { app, logs } = await buildTestApp({ PREDICTION_LOG: 'true', DATA_DIR: dataDir, CHALLENGER_MODEL_PATH: FIXTURE_CHALLENGER, CHALLENGER_MODE: 'shadow', CHALLENGER_SHARE: '1' });
    try {
      expect((await postJson(app, '/predict/batch', { customers: customers(20) })).statusCode).toBe(200);
      for (const customer of customers(5)) expect((await postJson(app, '/predict', customer)).statusCode).toBe(200);
      // No wait: the shadow rows are still queued when the close begins.
      await app.close();
      const store = new SqlitePredictionLogStore(dataDir);
      const records = await store.recent(1000);
      await store.close();
      const served = records.filter((record) => record.served);
      const shadows = records.filter((record) => !record.served);
      expect(served).toHaveLength(25);
      expect(shadows).toHaveLength(25);
      expect(new Set(shadows.map((record) => record.rowKey))).toEqual(new Set(served.map((record) => record.predictionId)));
      expect(shadows.every((record) => record.role === 'challenger' && record.modelVersion === '2.0.0-rc.1')).toBe(true);
      expect(logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('in a canary that cannot explain, ?explain=true is answered by the champion with explanations, and without it by the canary', async () => {
    const { app } = await buildTestApp({ CHALLENGER_MODEL_PATH: FIXTURE_CHALLENGER, CHALLENGER_MODE: 'canary', CHALLENGER_SHARE: '1' });
    try {
      const champion = app.dataPlane.model!.version;
      const plain = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(plain.json().model_version).toBe('2.0.0-rc.1');
      const explained = await postJson(app, '/predict?explain=true', VALID_CUSTOMER);
      expect(explained.statusCode).toBe(200);
      expect(explained.json().model_version).toBe(champion);
      expect(explained.json().explanation.reasons).toBeInstanceOf(Array);
      const batch = await postJson(app, '/predict/batch?explain=true', { customers: customers(10) });
      expect(batch.statusCode).toBe(200);
      const predictions = batch.json().predictions as { model_version: string; explanation: unknown }[];
      expect(predictions.every((prediction) => prediction.model_version === champion && prediction.explanation !== undefined)).toBe(true);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_predictions_total', { model_version: champion, role: 'champion' })).toBe(11);
      expect(sampleValue(metrics, 'churn_predictions_total', { model_version: '2.0.0-rc.1', role: 'challenger' })).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('counts nothing as served for ?explain=true that a model without an explainer refuses', async () => {
    const { app } = await buildTestApp({ MODEL_PATH: LINEAR_MODEL, ALLOW_MODEL_WITHOUT_CARD: 'true' });
    try {
      const refused = await postJson(app, '/predict/batch?explain=true', { customers: customers(3) });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().detail).toMatch(/Explanations are not available/);
      let metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_predictions_total', { role: 'champion' }) ?? 0).toBe(0);
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
      metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_predictions_total', { role: 'champion' })).toBe(1);
    } finally {
      await app.close();
    }
  });
});
