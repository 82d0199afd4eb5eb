import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutcomeWindow, ScoredOutcome, ScoredOutcomeSource } from '../../src/monitoring/performance.js';
import { PerformanceReport } from '../../src/schemas/performance.js';
import type { ReferenceCalibration } from '../../src/schemas/reference-calibration.js';
import { BUNDLED_MODEL, deferred, versionedModels } from '../data-plane/model-fixtures.js';
import { buildTestApp, type TestApp } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as { model_version: string; holdout_metrics: { roc_auc: number } };
const fixture = (JSON.parse(readFileSync(new URL('../fixtures/performance/cases.json', import.meta.url), 'utf8')) as { cases: { name: string; rows: { probability: number; churned: boolean | null }[] }[] }).cases.find(
  (entry) => entry.name === 'random',
)!;
const ROWS: ScoredOutcome[] = [
  ...fixture.rows.map((row) => ({ modelVersion: card.model_version, ...row })),
  { modelVersion: '0.9.0', probability: 0.7, churned: true },
  { modelVersion: '0.9.0', probability: 0.2, churned: false },
];
const DAY_MS = 86_400_000;

/** A fake outcome source: the rows of the fixture, whatever the window; remembers what it was asked. */
function fakeSource(rows: readonly ScoredOutcome[] = ROWS) {
  return vi.fn<ScoredOutcomeSource>(async (_window: OutcomeWindow) => rows);
}

let testApp: TestApp | undefined;
afterEach(async () => {
  await testApp?.app.close();
  testApp = undefined;
});

async function appWith(source: ScoredOutcomeSource | undefined, env: Record<string, string> = {}) {
  testApp = await buildTestApp({ PERFORMANCE_REFRESH_INTERVAL_MS: '0', ...env }, source ? { performanceSource: source } : {});
  return testApp.app;
}

const get = (url: string, headers: Record<string, string> = {}) => testApp!.app.inject({ method: 'GET', url, headers });

describe('GET /monitoring/performance', () => {
  it('does not exist without an outcome source, nor do its metrics', async () => {
    // The prediction log is the default source: off, and none injected.
    await appWith(undefined, { PREDICTION_LOG: 'false' });
    expect((await get('/monitoring/performance')).statusCode).toBe(404);
    expect((await get('/metrics')).body).not.toContain('churn_performance_');
    expect((await get('/openapi.json')).json().paths).not.toHaveProperty('/monitoring/performance');
  });

  it('reports the last 30 days by default, per model version, the card\'s figures beside the served one\'s', async () => {
    const source = fakeSource();
    await appWith(source);
    const before = Date.now();
    const response = await get('/monitoring/performance');
    expect(response.statusCode).toBe(200);
    const report = response.json() as PerformanceReport;
    expect(Value.Check(PerformanceReport, report)).toBe(true);
    const window = source.mock.calls[0]![0];
    expect(window.until.getTime()).toBeGreaterThanOrEqual(before);
    expect(window.until.getTime() - window.since.getTime()).toBe(30 * DAY_MS);
    expect(window.horizonDays).toBe(90);
    expect(report.window).toEqual({ since: window.since.toISOString(), until: window.until.toISOString(), horizon_days: 90 });
    expect(report.models.map((model) => model.model_version)).toEqual(['0.9.0', card.model_version].sort());
    const served = report.models.find((model) => model.model_version === card.model_version)!;
    expect(served).toMatchObject({ predictions: 600, labeled: 408 });
    expect(served.measured.roc_auc.holdout).toBe(card.holdout_metrics.roc_auc);
    // The default thresholds: PREDICTION_THRESHOLD and 0.8.
    expect(served.measured.thresholds.map((point) => point.threshold)).toEqual([0.5, 0.8]);
    expect(served.estimated).toMatchObject({ kind: 'estimated', method: 'CBPE', rows: 192 });
    expect(served.estimated.assumption).toMatch(/no concept drift/);
    expect(report.models.find((model) => model.model_version === '0.9.0')!.measured.roc_auc.holdout).toBeNull();
  });

  it('says which calibration each estimate used: the served model\'s reference calibrator for its version, raw probabilities for the rest', async () => {
    await appWith(fakeSource());
    const report = (await get('/monitoring/performance')).json() as PerformanceReport;
    const served = report.models.find((model) => model.model_version === card.model_version)!;
    expect(served.estimated.calibration).toBe('isotonic on 1,409 hold-out rows');
    expect(served.estimated.assumption).toMatch(/reference calibrator, fitted on the hold-out customers/);
    expect(report.models.find((model) => model.model_version === '0.9.0')!.estimated.calibration).toBe('none (raw probabilities)');
  });

  it('estimates from raw probabilities, and says so, for a model served without a calibrator beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'churn-no-calibrator-'));
    try {
      copyFileSync(BUNDLED_MODEL, join(dir, 'churn_model.onnx'));
      copyFileSync(join(dirname(BUNDLED_MODEL), 'model_card.json'), join(dir, 'model_card.json'));
      await appWith(fakeSource(), { MODEL_PATH: join(dir, 'churn_model.onnx') });
      const report = (await get('/monitoring/performance')).json() as PerformanceReport;
      const served = report.models.find((model) => model.model_version === card.model_version)!;
      expect(served.estimated.calibration).toBe('none (raw probabilities)');
      expect(served.estimated.assumption).toMatch(/served probabilities are calibrated on these customers/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the window asked for, and PERFORMANCE_THRESHOLDS', async () => {
    const source = fakeSource();
    await appWith(source, { PERFORMANCE_THRESHOLDS: '0.8, 0.3,0.8' });
    const response = await get('/monitoring/performance?since=2026-10-01T00:00:00Z&until=2026-11-01T12:00:00%2B02:00');
    expect(response.statusCode).toBe(200);
    expect(source.mock.calls[0]![0]).toMatchObject({ since: new Date('2026-10-01T00:00:00Z'), until: new Date('2026-11-01T10:00:00Z') });
    expect((response.json() as PerformanceReport).models[0]!.measured.thresholds.map((point) => point.threshold)).toEqual([0.3, 0.8]);
    // A date alone is midnight UTC; until alone takes the 30 days before it.
    await get('/monitoring/performance?until=2026-11-01');
    expect(source.mock.calls[1]![0]).toMatchObject({ since: new Date('2026-10-02T00:00:00Z'), until: new Date('2026-11-01T00:00:00Z') });
  });

  it.each([
    ['a reversed window', '?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z', 'since', 'value_error'],
    ['an empty window', '?since=2026-11-01T00:00:00Z&until=2026-11-01T00:00:00Z', 'since', 'value_error'],
    ['a window longer than the prediction log keeps (400 days, and one)', '?since=2025-01-01T00:00:00Z&until=2026-02-07T00:00:00Z', 'since', 'value_error'],
    ['a date-time without an offset', '?since=2026-11-01T00:00:00', 'since', 'datetime_parsing'],
    ['no date at all', '?until=yesterday', 'until', 'datetime_parsing'],
    ['a month 13', '?since=2026-13-01', 'since', 'datetime_parsing'],
  ])('answers %s with 422 in the FastAPI shape, without asking the source', async (_what, query, field, type) => {
    const source = fakeSource();
    await appWith(source);
    const response = await get(`/monitoring/performance${query}`);
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', detail: [{ type, loc: ['querystring', field] }] });
    expect(source).not.toHaveBeenCalled();
  });

  it('accepts a window as long as PREDICTION_LOG_RETENTION_DAYS and one day, not longer, and always the default one', async () => {
    await appWith(fakeSource(), { PREDICTION_LOG_RETENTION_DAYS: '40' });
    expect((await get('/monitoring/performance?since=2026-10-01T00:00:00Z&until=2026-11-11T00:00:00Z')).statusCode).toBe(200);
    const response = await get('/monitoring/performance?since=2026-10-01T00:00:00Z&until=2026-11-11T00:00:00.001Z');
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0].msg).toBe('Value error, the window may span at most 41 days (PREDICTION_LOG_RETENTION_DAYS and one)');
    await testApp!.app.close();
    // A log kept for less than the default window still reports it: the metrics always read the last 30 days.
    await appWith(fakeSource(), { PREDICTION_LOG_RETENTION_DAYS: '7' });
    expect((await get('/monitoring/performance')).statusCode).toBe(200);
  });

  it('estimates a loaded challenger\'s rows by its own calibrator, the champion\'s by the champion\'s', async () => {
    const models = versionedModels(['9.0.0']);
    try {
      const challengerPath = models.paths[0]!;
      const calibrator = JSON.parse(readFileSync(new URL('../../models/churn_model.calibration.json', import.meta.url), 'utf8')) as ReferenceCalibration;
      const sha256 = createHash('sha256').update(readFileSync(challengerPath)).digest('hex');
      writeFileSync(join(dirname(challengerPath), 'churn_model.calibration.json'), JSON.stringify({ ...calibrator, model_version: '9.0.0', model_sha256: sha256, fitted_on: { ...calibrator.fitted_on, rows: 500 } }));
      await appWith(fakeSource([...ROWS, { modelVersion: '9.0.0', probability: 0.9, churned: null }, { modelVersion: '9.0.0', probability: 0.3, churned: null }]));
      await testApp!.app.dataPlane.loadChallenger(challengerPath, { mode: 'shadow', share: 1 });
      const report = (await get('/monitoring/performance')).json() as PerformanceReport;
      const estimatedOf = (version: string) => report.models.find((model) => model.model_version === version)!.estimated;
      expect(estimatedOf(card.model_version).calibration).toBe('isotonic on 1,409 hold-out rows');
      expect(estimatedOf('9.0.0').calibration).toBe('isotonic on 500 hold-out rows');
      expect(estimatedOf('0.9.0').calibration).toBe('none (raw probabilities)');
    } finally {
      models.remove();
    }
  });

  it('needs an API key as GET /monitoring/drift does', async () => {
    await appWith(fakeSource(), { API_KEYS: 'a-key-of-sixteen-chars' });
    expect((await get('/monitoring/performance')).statusCode).toBe(401);
    expect((await get('/monitoring/drift')).statusCode).toBe(401);
    expect((await get('/monitoring/performance', { 'x-api-key': 'a-key-of-sixteen-chars' })).statusCode).toBe(200);
  });

  it('is in the OpenAPI document with its query, its report and the API key it needs', async () => {
    await appWith(fakeSource(), { API_KEYS: 'a-key-of-sixteen-chars' });
    const spec = (await get('/openapi.json')).json();
    const operation = spec.paths['/monitoring/performance'].get;
    expect(operation.operationId).toBe('getPerformance');
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['since', 'until']);
    expect(JSON.stringify(operation.responses['200'])).toContain('PerformanceReport');
    expect(spec.components.schemas).toHaveProperty('PerformanceReport');
    expect(operation.security).toEqual(spec.paths['/monitoring/drift'].get.security);
    expect(operation.security).toBeDefined();
  });
});

describe('performance metrics', () => {
  const precisionLowAt05 = (text: string) => sampleValue(text, 'churn_performance_precision', { model_version: card.model_version, threshold: '0.5', kind: 'measured', bound: 'ci_low' });

  it('follow the default-window report: measured with bounds, estimated values, counts', async () => {
    await appWith(fakeSource());
    expect((await get('/metrics')).body).not.toContain('churn_performance_precision{');
    const report = (await get('/monitoring/performance')).json() as PerformanceReport;
    const served = report.models.find((model) => model.model_version === card.model_version)!;
    const text = (await get('/metrics')).body;
    expect(precisionLowAt05(text)).toBe(served.measured.thresholds[0]!.precision.ci_low);
    expect(precisionLowAt05(text)).toBeGreaterThan(0);
    expect(sampleValue(text, 'churn_performance_roc_auc', { model_version: card.model_version, kind: 'measured', bound: 'value' })).toBe(served.measured.roc_auc.value);
    expect(sampleValue(text, 'churn_performance_roc_auc', { model_version: card.model_version, kind: 'estimated', bound: 'value' })).toBe(served.estimated.roc_auc);
    expect(sampleValue(text, 'churn_performance_recall', { model_version: card.model_version, threshold: '0.5', kind: 'estimated', bound: 'value' })).toBe(served.estimated.thresholds[0]!.recall);
    expect(sampleValue(text, 'churn_performance_labeled_predictions', { model_version: card.model_version })).toBe(408);
    expect(sampleValue(text, 'churn_performance_computed_timestamp_seconds')).toBe(Date.parse(report.computed_at) / 1000);
    // Estimates have no interval.
    expect(sampleValue(text, 'churn_performance_precision', { model_version: card.model_version, threshold: '0.8', kind: 'estimated', bound: 'ci_low' })).toBeUndefined();
  });

  it('are not moved by a report over another window, and drop a version that left the window', async () => {
    const source = fakeSource();
    await appWith(source);
    await get('/monitoring/performance');
    const before = (await get('/metrics')).body;
    source.mockResolvedValue([{ modelVersion: 'other', probability: 0.9, churned: true }]);
    await get('/monitoring/performance?since=2026-01-01');
    expect(precisionLowAt05((await get('/metrics')).body)).toBe(precisionLowAt05(before));
    await get('/monitoring/performance');
    const after = (await get('/metrics')).body;
    expect(precisionLowAt05(after)).toBeUndefined();
    expect(sampleValue(after, 'churn_performance_predictions', { model_version: 'other' })).toBe(1);
    // One class only: no ROC AUC series rather than a 0 an alert would fire on.
    expect(after).not.toMatch(/churn_performance_roc_auc\{[^}]*kind="measured"/);
  });

  it('are computed in the background once ready, and a failing source is counted and logged', async () => {
    const source = vi.fn<ScoredOutcomeSource>().mockRejectedValue(new Error('database down'));
    await appWith(source, { PERFORMANCE_REFRESH_INTERVAL_MS: '600000' });
    await vi.waitFor(() => expect(testApp!.logs.some((line) => line.msg === 'performance: computing the figures failed')).toBe(true));
    expect(source).toHaveBeenCalledTimes(1);
    expect(sampleValue((await get('/metrics')).body, 'churn_performance_refresh_failures_total')).toBe(1);
    source.mockResolvedValue(ROWS);
    expect((await get('/monitoring/performance')).statusCode).toBe(200);
  });

  it('skip a background refresh while the last one still runs: a slow source is asked once, not once per tick', async () => {
    const slow = deferred<ScoredOutcome[]>();
    const source = vi.fn<ScoredOutcomeSource>(() => slow.promise);
    await appWith(source, { PERFORMANCE_REFRESH_INTERVAL_MS: '10' });
    // Five ticks of a timer of the same period started after the app's: the app's has ticked as often.
    await new Promise<void>((resolve) => {
      let ticks = 0;
      const timer = setInterval(() => {
        if (++ticks < 5) return;
        clearInterval(timer);
        resolve();
      }, 10);
    });
    expect(source).toHaveBeenCalledTimes(1);
    slow.resolve(ROWS);
    // Once it is done, the next tick refreshes again.
    await vi.waitFor(() => expect(source.mock.calls.length).toBeGreaterThan(1));
  });

  it('are not computed in the background with PERFORMANCE_REFRESH_INTERVAL_MS=0', async () => {
    const source = fakeSource();
    await appWith(source);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source).not.toHaveBeenCalled();
  });
});
