import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { cardContentSha256 } from '../../src/data-plane/model-card-file.js';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { BUNDLED_MODEL, bundledCard as readBundledCard, releasedModel, withMetadata } from '../data-plane/model-fixtures.js';
import { buildTestApp, type TestApp } from '../helpers.js';

const bundledBytes = readFileSync(BUNDLED_MODEL);
const bundledCard = readBundledCard();

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
      model_version: '1.2.0',
      onnx_sha256: createHash('sha256').update(bundledBytes).digest('hex'),
      explanations: { available: true, reason_count: 3, method: expect.stringContaining('TreeSHAP') },
    });
    expect(body.explanations.base_value).toBeCloseTo(-1.413075, 5);
    const { card } = body;
    expect(card.model_version).toBe('1.2.0');
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
    expect(at(0.5)).toMatchObject({ flagged_share: expect.closeTo(0.204, 3), precision: expect.closeTo(0.625, 3), recall: expect.closeTo(0.48, 2) });
    expect(at(0.8)).toMatchObject({ flagged_share: expect.closeTo(0.018, 3), precision: expect.closeTo(0.92, 2), recall: expect.closeTo(0.06, 2) });
  });

  it('is in the OpenAPI document', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/model'].get.responses['200'].description).toBe('The model serving now.');
    expect(spec.components.schemas.ModelCard.properties).toHaveProperty('operating_points');
  });
});

describe('a model and its card are bound together, both ways', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'churn-card-'));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** A model directory with a model file (a copy of the bundled one unless `bytes` says otherwise) and, optionally, a card. */
  function modelDir(name: string, { bytes = bundledBytes, card }: { bytes?: Uint8Array; card?: unknown } = {}) {
    const dir = join(scratch, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'churn_model.onnx'), bytes);
    if (card !== undefined) writeFileSync(join(dir, 'model_card.json'), typeof card === 'string' ? card : JSON.stringify(card));
    return join(dir, 'churn_model.onnx');
  }
  const start = async (modelPath: string, env: Record<string, string> = {}) => {
    const app = await buildApp({ config: loadConfig({ MODEL_PATH: modelPath, LOG_LEVEL: 'silent', PREDICTION_LOG: 'false', ...env }) });
    try {
      await app.ready();
      return app;
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
  };
  const failureOf = async (modelPath: string) => ((await start(modelPath).then((app) => app.close(), (error: unknown) => error)) as Error).message;

  it('refuses a card written for another model file, without advising to remove it', async () => {
    const path = modelDir('other-sha', { card: { ...bundledCard, onnx: { ...bundledCard.onnx, sha256: 'a'.repeat(64) } } });
    const message = await failureOf(path);
    expect(message).toMatch(/model_card\.json describes another model file \(sha256 aaaaaaaaaaaa…\), not .*churn_model\.onnx \(sha256 [0-9a-f]{12}…\): put the card that was written with this model beside it\.$/);
    expect(message).not.toMatch(/remove/i);
  });

  it('refuses a card edited since training, though it kept the onnx.sha256 of the file', async () => {
    const edited = { ...bundledCard, holdout_metrics: { ...bundledCard.holdout_metrics, roc_auc: 0.99 } };
    const path = modelDir('edited', { card: edited });
    const message = await failureOf(path);
    expect(message).toContain(`${join(path, '..', 'model_card.json')} has been changed since training: its content hashes to `);
    expect(message).toContain(
      `…, but ${path} was released with a card hashing to ${cardContentSha256(bundledCard).slice(0, 12)}… (model_card_sha256 in its ONNX metadata). ` +
        'Put back the card that was written with this model; a card is changed only by training a new model.',
    );
    expect(message).not.toMatch(/remove/i);
  });

  it('reads the card by its content: another layout or key order of the same card is the same card', async () => {
    const reordered = Object.fromEntries(Object.entries(bundledCard).reverse());
    await (await start(modelDir('reordered', { card: JSON.stringify(reordered, null, 4) }))).close();
  });

  it('refuses a card beside a model file that records no card hash', async () => {
    const { bytes, card } = releasedModel(bundledCard.model_version);
    const unbound = withMetadata(bytes, { model_card_sha256: undefined });
    const path = modelDir('unbound', { bytes: unbound, card: { ...card, onnx: { ...card.onnx, sha256: createHash('sha256').update(unbound).digest('hex') } } });
    expect(await failureOf(path)).toMatch(/churn_model\.onnx records no model_card_sha256 in its ONNX metadata, so nothing proves .*model_card\.json is the card it was released with/);
  });

  it('refuses a card whose version is not the one in the model file', async () => {
    const { bytes, card } = releasedModel('2.0.0', { card: { ...bundledCard, model_version: '9.9.9' } });
    const path = modelDir('other-version', { bytes, card });
    expect(await failureOf(path)).toBe(`${path} is model 2.0.0 (its ONNX metadata), but ${join(path, '..', 'model_card.json')} says 9.9.9.`);
  });

  it('refuses a card whose features are not the service\'s', async () => {
    const { bytes, card } = releasedModel('2.0.0', { card: { ...bundledCard, model_version: '2.0.0', features: [...bundledCard.features].reverse() } });
    await expect(start(modelDir('other-features', { bytes, card }))).rejects.toThrowError(/lists the features has_support_calls, .*, not this service's tenure_months, /);
  });

  it('refuses a card that is not valid JSON or not a card', async () => {
    await expect(start(modelDir('not-json', { card: '{"model_version":' }))).rejects.toThrowError(/model_card\.json is not valid JSON/);
    await expect(start(modelDir('not-a-card', { card: { model_version: bundledCard.model_version } }))).rejects.toThrowError(/model_card\.json is not a model card: /);
  });

  it('refuses a model without its card, naming the setting that allows it', async () => {
    const path = modelDir('no-card');
    expect(await failureOf(path)).toBe(
      `No model card beside ${path} (${join(path, '..', 'model_card.json')}): a model is served only with the card written with it, which binds its version and carries ` +
        'its hold-out metrics and drift reference. Put that card beside the model, or set ALLOW_MODEL_WITHOUT_CARD=true to serve it without one.',
    );
  });

  it('serves a model without its card only when ALLOW_MODEL_WITHOUT_CARD is set, warning in the log and in GET /model', async () => {
    const { app, logs } = await buildTestApp({ MODEL_PATH: modelDir('allowed-without-card'), ALLOW_MODEL_WITHOUT_CARD: 'true' });
    try {
      const warning = expect.stringMatching(/^Model 1\.\d+\.\d+ is served without a model card \(ALLOW_MODEL_WITHOUT_CARD=true\): .*drift monitoring is off/);
      expect((await app.inject({ method: 'GET', url: '/model' })).json()).toMatchObject({
        model_version: bundledCard.model_version,
        card: null,
        warnings: [warning],
        explanations: { available: true },
      });
      expect(logs.filter((line) => line.level === 40 && String(line.msg).includes('model card'))).toEqual([expect.objectContaining({ msg: warning, trigger: 'startup', modelVersion: bundledCard.model_version })]);
      expect((await app.inject({ method: 'GET', url: '/monitoring/drift' })).json()).toMatchObject({ available: false });
    } finally {
      await app.close();
    }
  });

  it('accepts the card written with the model, and then warns of nothing', async () => {
    const app = await start(modelDir('bundled', { card: bundledCard }));
    try {
      expect((await app.inject({ method: 'GET', url: '/model' })).json()).toMatchObject({ model_version: bundledCard.model_version, warnings: [] });
    } finally {
      await app.close();
    }
  });
});
