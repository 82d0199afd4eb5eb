import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scorePsi, type PairedScore, type PairedScoreSource } from '../../src/monitoring/comparison.js';
import type { OutcomeWindow } from '../../src/monitoring/performance.js';
import { SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { ComparisonReport } from '../../src/schemas/comparison.js';
import type { DriftFeatureReference } from '../../src/schemas/model-card.js';
import { buildTestApp, type TestApp } from '../helpers.js';

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as { model_version: string; drift_reference: { score: DriftFeatureReference } };
const DAY_MS = 86_400_000;

const PAIRS: PairedScore[] = [
  { championVersion: card.model_version, challengerVersion: '9.0.0', champion: 0.12, challenger: 0.2, servedBy: 'champion', churned: false },
  { championVersion: card.model_version, challengerVersion: '9.0.0', champion: 0.81, challenger: 0.6, servedBy: 'challenger', churned: true },
  { championVersion: card.model_version, challengerVersion: '9.0.0', champion: 0.55, challenger: 0.45, servedBy: 'champion', churned: null },
];

function fakeSource(pairs: readonly PairedScore[] = PAIRS) {
  return vi.fn<PairedScoreSource>(async (_window: OutcomeWindow) => pairs);
}

let testApp: TestApp | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await testApp?.app.close();
  testApp = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function appWith(source: PairedScoreSource | undefined, env: Record<string, string> = {}) {
  testApp = await buildTestApp({ PERFORMANCE_REFRESH_INTERVAL_MS: '0', ...env }, source ? { comparisonSource: source } : {});
  return testApp.app;
}

const get = (url: string, headers: Record<string, string> = {}) => testApp!.app.inject({ method: 'GET', url, headers });

describe('GET /monitoring/comparison', () => {
  it('does not exist without a source of paired scores (prediction log off)', async () => {
    await appWith(undefined, { PREDICTION_LOG: 'false' });
    expect((await get('/monitoring/comparison')).statusCode).toBe(404);
    expect((await get('/openapi.json')).json().paths).not.toHaveProperty('/monitoring/comparison');
  });

  it('with no challenger data: an empty list and a note', async () => {
    await appWith(fakeSource([]));
    const response = await get('/monitoring/comparison');
    expect(response.statusCode).toBe(200);
    const report = response.json() as ComparisonReport;
    expect(Value.Check(ComparisonReport, report)).toBe(true);
    expect(report.comparisons).toEqual([]);
    expect(report.notes).toEqual([expect.stringMatching(/no row in this window was scored by both a champion and a challenger/)]);
  });

  it('reports the last 30 days by default, per version pair, in the champion card\'s score bins, with no verdict on 2 labeled rows', async () => {
    const source = fakeSource();
    await appWith(source);
    const before = Date.now();
    const response = await get('/monitoring/comparison');
    expect(response.statusCode).toBe(200);
    const report = response.json() as ComparisonReport;
    expect(Value.Check(ComparisonReport, report)).toBe(true);
    const window = source.mock.calls[0]![0];
    expect(window.until.getTime()).toBeGreaterThanOrEqual(before);
    expect(window.until.getTime() - window.since.getTime()).toBe(30 * DAY_MS);
    expect(window.horizonDays).toBe(90);
    expect(report.min_labeled_per_class).toBe(30);
    const [comparison] = report.comparisons;
    expect(comparison).toMatchObject({ champion_version: card.model_version, challenger_version: '9.0.0', rows: 3, served_by: { champion: 2, challenger: 1 }, verdict: 'too_few_labeled_rows' });
    expect(comparison!.labeled).toMatchObject({ rows: 2, churners: 1 });
    expect(comparison!.psi.bins_from).toBe(`model card of ${card.model_version}`);
    expect(comparison!.psi.value).toBeCloseTo(scorePsi([0.12, 0.81, 0.55], [0.2, 0.6, 0.45], card.drift_reference.score)!, 12);
    // The default thresholds: PREDICTION_THRESHOLD and 0.8.
    expect(comparison!.thresholds.map((point) => point.threshold)).toEqual([0.5, 0.8]);
  });

  it('reads the window asked for, the churn API\'s thresholds and PERFORMANCE_THRESHOLDS', async () => {
    const source = fakeSource();
    await appWith(source, { PERFORMANCE_THRESHOLDS: '0.3', PREDICTION_THRESHOLD: '0.58' });
    const response = await get('/monitoring/comparison?since=2026-10-01T00:00:00Z&until=2026-11-01T12:00:00%2B02:00');
    expect(source.mock.calls[0]![0]).toMatchObject({ since: new Date('2026-10-01T00:00:00Z'), until: new Date('2026-11-01T10:00:00Z') });
    const [comparison] = (response.json() as ComparisonReport).comparisons;
    expect(comparison!.thresholds.map((point) => point.threshold)).toEqual([0.3]);
    // At 0.58 the champion predicts churn for 0.81 alone, the challenger for 0.6 alone: they agree.
    expect(comparison!.agreement.prediction).toMatchObject({ threshold: 0.58, share: 1, champion_only: 0, challenger_only: 0 });
  });

  it.each([
    ['a reversed window', '?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z', 'since', 'value_error'],
    ['a window longer than the prediction log keeps (400 days, and one)', '?since=2025-01-01T00:00:00Z&until=2026-02-07T00:00:00Z', 'since', 'value_error'],
    ['a date-time without an offset', '?since=2026-11-01T00:00:00', 'since', 'datetime_parsing'],
    ['no date at all', '?until=yesterday', 'until', 'datetime_parsing'],
  ])('answers %s with 422 in the FastAPI shape, without asking the source', async (_what, query, field, type) => {
    const source = fakeSource();
    await appWith(source);
    const response = await get(`/monitoring/comparison${query}`);
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', detail: [{ type, loc: ['querystring', field] }] });
    expect(source).not.toHaveBeenCalled();
  });

  it('needs an API key as GET /monitoring/performance does, and is in the OpenAPI document', async () => {
    await appWith(fakeSource(), { API_KEYS: 'a-key-of-sixteen-chars' });
    expect((await get('/monitoring/comparison')).statusCode).toBe(401);
    expect((await get('/monitoring/comparison', { 'x-api-key': 'a-key-of-sixteen-chars' })).statusCode).toBe(200);
    const spec = (await get('/openapi.json')).json();
    const operation = spec.paths['/monitoring/comparison'].get;
    expect(operation.operationId).toBe('getComparison');
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['since', 'until']);
    expect(JSON.stringify(operation.responses['200'])).toContain('ComparisonReport');
    expect(spec.components.schemas).toHaveProperty('ComparisonReport');
    expect(operation.security).toEqual(spec.paths['/monitoring/drift'].get.security);
    expect(operation.security).toBeDefined();
  });

  it('with PREDICTION_LOG=true reads the prediction log\'s pairs', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'comparison-route-'));
    await appWith(undefined, { PREDICTION_LOG: 'true', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const store = testApp!.app.predictionLog.store as SqlitePredictionLogStore;
    const database = new DatabaseSync(store.path);
    const key = randomUUID();
    const at = Date.now() - DAY_MS;
    const insert = database.prepare(
      'INSERT INTO predictions (prediction_id, recorded_at_ms, customer_id, protocol, model_name, model_version, model_sha256, tenure_months, monthly_charges, total_charges, num_products, has_support_calls, probability, prediction, tier, role, served, row_key) ' +
        "VALUES (?, ?, 'C-1', 'rest', 'churn', ?, 'ab', 2, 70.7, 151.65, 2, 0, ?, 0, 'LOW', ?, ?, ?)",
    );
    insert.run(key, at, '1.0.0', 0.25, 'champion', 1, key);
    insert.run(randomUUID(), at + 5, '2.0.0', 0.375, 'challenger', 0, key);
    database.close();
    const report = (await get('/monitoring/comparison')).json() as ComparisonReport;
    expect(report.comparisons.map((c) => [c.champion_version, c.challenger_version, c.rows])).toEqual([['1.0.0', '2.0.0', 1]]);
  });

  it('a failing store is a 503 with retry-after', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'comparison-route-'));
    await appWith(undefined, { PREDICTION_LOG: 'true', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    vi.spyOn(testApp!.app.predictionLog.store!, 'pairedScores').mockRejectedValue(new Error('disk gone'));
    const response = await get('/monitoring/comparison');
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).not.toContain('disk gone');
  });
});
