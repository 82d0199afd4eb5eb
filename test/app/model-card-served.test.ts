import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { buildTestApp, type TestApp } from '../helpers.js';

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const bundledBytes = readFileSync(join(MODELS, 'churn_model.onnx'));
const bundledCard = JSON.parse(readFileSync(join(MODELS, 'model_card.json'), 'utf8')) as Record<string, unknown> & { onnx: { sha256: string }; model_version: string; features: { name: string }[] };

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());

describe('GET /model', () => {
  it('serves the card of the model in use, bound to its file', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/model' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      model_name: 'churn',
      model_version: '1.1.0',
      onnx_sha256: createHash('sha256').update(bundledBytes).digest('hex'),
      explanations: { available: true, reason_count: 3, method: expect.stringContaining('TreeSHAP') },
    });
    expect(body.explanations.base_value).toBeCloseTo(-1.457765, 5);
    const { card } = body;
    expect(card.model_version).toBe('1.1.0');
    expect(card.created).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(card.features.map((feature: { name: string }) => feature.name)).toEqual([...FEATURE_NAMES]);
    expect(card.features[0]).toMatchObject({ unit: 'months', valid_range: { min: 0, max: 120, inclusive: true } });
    expect(card.holdout_metrics.roc_auc).toBeGreaterThanOrEqual(0.82);
    expect(card.explainability.global_importance.map((entry: { feature: string }) => entry.feature)).toEqual([...FEATURE_NAMES]);
    expect(card.explainability.caveats.join(' ')).toMatch(/not causation/);
  });

  it('reports calibration and the operating points the CRM chooses its threshold from', async () => {
    const { card } = (await testApp.app.inject({ method: 'GET', url: '/model' })).json();
    expect(card.calibration).toHaveLength(10);
    expect(card.calibration.reduce((sum: number, bin: { rows: number }) => sum + bin.rows, 0)).toBe(card.training_data.rows_holdout);
    expect(card.operating_points.map((point: { threshold: number }) => point.threshold)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    const at = (threshold: number) => card.operating_points.find((point: { threshold: number }) => point.threshold === threshold);
    // The numbers docs/explanations.md and examples/crm-webhook.md quote.
    expect(at(0.5)).toMatchObject({ flagged_share: expect.closeTo(0.21, 2), precision: expect.closeTo(0.62, 2), recall: expect.closeTo(0.49, 2) });
    expect(at(0.8)).toMatchObject({ flagged_share: expect.closeTo(0.026, 3), precision: expect.closeTo(0.83, 2), recall: expect.closeTo(0.08, 2) });
  });

  it('is in the OpenAPI document', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/model'].get.responses['200'].description).toBe('The model serving now.');
    expect(spec.components.schemas.ModelCard.properties).toHaveProperty('operating_points');
  });
});

describe('a model and its card are bound together', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'churn-card-'));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** A model directory with the bundled model, a version file and (optionally) a card. */
  function modelDir(name: string, version: string, card?: unknown) {
    const dir = join(scratch, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    copyFileSync(join(MODELS, 'churn_model.onnx'), join(dir, 'churn_model.onnx'));
    writeFileSync(join(dir, 'model_version.txt'), `${version}\n`);
    if (card !== undefined) writeFileSync(join(dir, 'model_card.json'), typeof card === 'string' ? card : JSON.stringify(card));
    return join(dir, 'churn_model.onnx');
  }
  const start = async (modelPath: string) => {
    const app = await buildApp({ config: loadConfig({ MODEL_PATH: modelPath, LOG_LEVEL: 'silent', PREDICTION_LOG: 'false' }) });
    try {
      await app.ready();
      return app;
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
  };

  it('refuses a card written for another model file', async () => {
    const path = modelDir('other-sha', '1.1.0', { ...bundledCard, onnx: { ...bundledCard.onnx, sha256: 'a'.repeat(64) } });
    await expect(start(path)).rejects.toThrowError(/model_card\.json describes another model file \(sha256 aaaaaaaaaaaa…\), not .*churn_model\.onnx \(sha256 [0-9a-f]{12}…\)/);
  });

  it('refuses a version file that disagrees with the card', async () => {
    const path = modelDir('other-version', '9.9.9', bundledCard);
    await expect(start(path)).rejects.toThrowError('model_version.txt beside ' + path + ' says 9.9.9, but its model card says 1.1.0.');
  });

  it('refuses a card whose features are not the service\'s', async () => {
    const features = [...bundledCard.features].reverse();
    const path = modelDir('other-features', '1.1.0', { ...bundledCard, features });
    await expect(start(path)).rejects.toThrowError(/lists the features has_support_calls, .*, not this service's tenure_months, /);
  });

  it('refuses a card that is not valid JSON or not a card', async () => {
    await expect(start(modelDir('not-json', '1.1.0', '{"model_version":'))).rejects.toThrowError(/model_card\.json is not valid JSON/);
    await expect(start(modelDir('not-a-card', '1.1.0', { model_version: '1.1.0' }))).rejects.toThrowError(/model_card\.json is not a model card: /);
  });

  it('serves a model that came without a card, and says so', async () => {
    const app = await start(modelDir('no-card', '2.0.0'));
    try {
      expect((await app.inject({ method: 'GET', url: '/model' })).json()).toMatchObject({ model_version: '2.0.0', card: null, explanations: { available: true } });
    } finally {
      await app.close();
    }
  });

  it('accepts the bundled card beside a copy of the bundled model', async () => {
    const app = await start(modelDir('bundled', '1.1.0', bundledCard));
    try {
      const response = await app.inject({ method: 'GET', url: '/model' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ model_version: '1.1.0', onnx_sha256: bundledCard.onnx.sha256, card: { model_version: '1.1.0', created: bundledCard.created } });
      // The copy is served exactly as the bundled model itself is.
      expect(response.json()).toEqual((await testApp.app.inject({ method: 'GET', url: '/model' })).json());
    } finally {
      await app.close();
    }
  });
});
