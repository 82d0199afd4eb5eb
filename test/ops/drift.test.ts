import { existsSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { DriftReport } from '../../src/schemas/drift.js';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';
import { HOLDOUT, REQUIRE_DATA, TRAINING_DATA, trainingCustomers, type Customer } from '../training-data.js';
import { sampleValue } from '../prometheus-text.js';

async function score(app: TestApp['app'], customers: readonly Customer[]) {
  for (let start = 0; start < customers.length; start += 100) {
    expect((await postJson(app, '/predict/batch', { customers: customers.slice(start, start + 100) })).statusCode).toBe(200);
  }
}

const report = async (app: TestApp['app']) => (await app.inject({ method: 'GET', url: '/monitoring/drift' })).json();
const statuses = (body: { features: { feature: string; status: string }[] }) => Object.fromEntries(body.features.map((finding) => [finding.feature, finding.status]));

let testApp: TestApp | undefined;
afterEach(async () => testApp?.app.close());

describe('drift monitoring', () => {
  it('reports nothing until the window holds DRIFT_MIN_ROWS rows', async () => {
    testApp = await buildTestApp();
    await score(testApp.app, HOLDOUT.slice(0, 300));
    const body = await report(testApp.app);
    expect(body).toMatchObject({ available: true, model_version: '1.2.0', window: { rows: 300, capacity: 10_000, min_rows: 1_000 }, thresholds: { moderate: 0.1, significant: 0.25 }, smoothing: 0.0001 });
    expect(body.features.map((finding: { psi: unknown; status: unknown }) => [finding.psi, finding.status])).toEqual(FEATURE_NAMES.map(() => [null, null]));
  });

  it('withholds the live shares until the window holds DRIFT_MIN_ROWS rows: a few rows would reveal those customers', async () => {
    testApp = await buildTestApp({ DRIFT_MIN_ROWS: '100' });
    const liveShares = (body: DriftReport) => [...body.features, body.score!].flatMap((finding) => finding.bins.map((bin) => bin.live_share));
    await score(testApp.app, HOLDOUT.slice(0, 1));
    const one: DriftReport = await report(testApp.app);
    expect(Value.Check(DriftReport, one)).toBe(true);
    expect(one.window.rows).toBe(1);
    expect(new Set(liveShares(one))).toEqual(new Set([null]));
    expect([...one.features, one.score!].every((finding) => finding.bins.every((bin) => typeof bin.reference_share === 'number'))).toBe(true);
    await score(testApp.app, HOLDOUT.slice(1, 99));
    expect(new Set(liveShares(await report(testApp.app)))).toEqual(new Set([null]));

    await score(testApp.app, HOLDOUT.slice(99, 100));
    const enough: DriftReport = await report(testApp.app);
    expect(Value.Check(DriftReport, enough)).toBe(true);
    expect(enough.window.rows).toBe(100);
    for (const finding of [...enough.features, enough.score!]) {
      const shares = finding.bins.map((bin) => bin.live_share);
      expect(shares.every((share) => typeof share === 'number'), finding.feature).toBe(true);
      expect((shares as number[]).reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 5);
    }
  });

  it('keeps every feature and the score stable on the hold-out customers', async () => {
    testApp = await buildTestApp();
    await score(testApp.app, HOLDOUT);
    const body = await report(testApp.app);
    expect(body.window.rows).toBe(HOLDOUT.length);
    expect(statuses(body)).toEqual(Object.fromEntries(FEATURE_NAMES.map((name) => [name, 'stable'])));
    expect(body.score).toMatchObject({ feature: 'churn_probability', status: 'stable' });
    for (const finding of body.features) expect(finding.psi).toBeLessThan(0.05);
  });

  it.skipIf(!REQUIRE_DATA && !existsSync(TRAINING_DATA))('keeps every feature and the score stable replaying all the training data', async () => {
    testApp = await buildTestApp({ DRIFT_WINDOW_ROWS: '20000' });
    const customers = trainingCustomers();
    expect(customers).toHaveLength(7043);
    await score(testApp.app, customers);
    const body = await report(testApp.app);
    expect(statuses(body)).toEqual(Object.fromEntries(FEATURE_NAMES.map((name) => [name, 'stable'])));
    expect(body.score.status).toBe('stable');
    for (const finding of [...body.features, body.score]) expect(finding.psi).toBeLessThan(0.01);
  });

  it('marks a shifted feature significant and leaves the others stable, in the report, the metrics and the log', async () => {
    testApp = await buildTestApp({ DRIFT_CHECK_INTERVAL_MS: '100' });
    // A promotion brings in new customers: tenures of 0 to 3 months only.
    const shifted = HOLDOUT.map((customer, index) => ({ ...customer, tenure_months: index % 4 }));
    await score(testApp.app, shifted);
    const body = await report(testApp.app);
    expect(statuses(body)).toEqual({ tenure_months: 'significant', monthly_charges: 'stable', total_charges: 'stable', num_products: 'stable', has_support_calls: 'stable' });
    const tenure = body.features.find((finding: { feature: string }) => finding.feature === 'tenure_months');
    expect(tenure.psi).toBeGreaterThan(0.25);
    expect(tenure.bins[0]).toMatchObject({ bin: '(-inf, 2]', live_share: expect.closeTo(0.75, 3) });

    const metrics = (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sampleValue(metrics, 'churn_drift_psi', { feature: 'tenure_months', model_version: '1.2.0' })).toBeCloseTo(tenure.psi, 6);
    expect(sampleValue(metrics, 'churn_drift_window_rows', { model_version: '1.2.0' })).toBe(HOLDOUT.length);

    const warned = () => testApp!.logs.filter((line) => line.level === 40 && String(line.msg).startsWith('drift: '));
    await vi.waitFor(() => expect(warned().find((line) => line.feature === 'tenure_months')).toBeDefined(), { timeout: 3000, interval: 50 });
    expect(warned().find((line) => line.feature === 'tenure_months')).toMatchObject({ msg: 'drift: tenure_months is significant', from: null, to: 'significant', modelVersion: '1.2.0' });
    const before = warned().length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One warning per change, not one per check; a feature found stable from the start is no news.
    expect(warned()).toHaveLength(before);
    expect(warned().filter((line) => String(line.msg).endsWith(' is stable'))).toEqual([]);
  });

  it('logs a periodic check that fails, and never leaves it an unhandled rejection', async () => {
    testApp = await buildTestApp({ DRIFT_CHECK_INTERVAL_MS: '100' });
    vi.spyOn(testApp.app.workers, 'gather').mockRejectedValue(new Error('gather broke'));
    await vi.waitFor(() => expect(testApp!.logs.find((line) => line.msg === 'drift check failed')).toMatchObject({ level: 50, err: { message: 'gather broke' } }), {
      timeout: 3000,
      interval: 50,
    });
  });

  it('counts no more than DRIFT_WINDOW_ROWS rows, however many are scored', async () => {
    testApp = await buildTestApp({ DRIFT_WINDOW_ROWS: '100', DRIFT_MIN_ROWS: '100' });
    await score(testApp.app, HOLDOUT.slice(0, 350));
    const body = await report(testApp.app);
    expect(body.window).toMatchObject({ rows: 100, capacity: 100 });
    for (const finding of [...body.features, body.score]) {
      expect(finding.bins.reduce((sum: number, bin: { live_share: number }) => sum + bin.live_share, 0), finding.feature).toBeCloseTo(1, 9);
    }
    const metrics = (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sampleValue(metrics, 'churn_drift_window_rows', { model_version: '1.2.0' })).toBe(100);
  });

  it('starts a fresh window on reload', async () => {
    const token = 'admin-token-0123456789';
    testApp = await buildTestApp({ ADMIN_TOKEN: token });
    await score(testApp.app, HOLDOUT.slice(0, 500));
    expect((await report(testApp.app)).window.rows).toBe(500);
    expect((await testApp.app.inject({ method: 'POST', url: '/admin/reload', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await report(testApp.app)).window.rows).toBe(0);
    await score(testApp.app, HOLDOUT.slice(0, 100));
    expect((await report(testApp.app)).window.rows).toBe(100);
  });

  it('can be turned off', async () => {
    testApp = await buildTestApp({ DRIFT_MONITORING: 'false' });
    await score(testApp.app, HOLDOUT.slice(0, 100));
    expect(await report(testApp.app)).toMatchObject({ available: false, reason: 'drift monitoring is off (DRIFT_MONITORING=false)', features: [], score: null });
    const metrics = (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sampleValue(metrics, 'churn_drift_window_rows')).toBeUndefined();
  });

  it('is in the OpenAPI document', async () => {
    testApp = await buildTestApp();
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/monitoring/drift'].get.responses['200'].description).toBe('The drift of the row window per feature and for the score, the plausibility checks, and the time windows.');
    const bin = spec.components.schemas.DriftReport.properties.features.items.properties.bins.items.properties;
    expect(bin.live_share).toMatchObject({ type: 'number', nullable: true });
    expect(bin.live_share.description).toMatch(/null \(withheld\) while the window holds fewer than DRIFT_MIN_ROWS rows/);
  });
});

describe('drift of a server with a worker that does not answer', () => {
  it('answers 503 with the reason, never a partial window, and the next whole gather answers again', async () => {
    testApp = await buildTestApp();
    await score(testApp.app, HOLDOUT.slice(0, 50));
    const [own] = await testApp.app.workers.gather('drift', undefined, 1000);
    vi.spyOn(testApp.app.workers, 'gather').mockResolvedValueOnce([own!, { pid: 4242, error: 'the worker did not answer in time' }]);
    const response = await testApp.app.inject({ method: 'GET', url: '/monitoring/drift' });
    expect([response.statusCode, response.headers['retry-after'], response.json().message]).toEqual([
      503,
      '1',
      'drift incomplete: 1 of 2 workers did not answer; retry shortly.',
    ]);
    expect(testApp.logs.some((line) => line.level === 50 && line.msg === 'drift gather incomplete')).toBe(true);
    expect((await report(testApp.app)).window.rows).toBe(50);
  });

  it('turns a scrape of /metrics into the same 503 rather than leaving the drift gauges out', async () => {
    testApp = await buildTestApp();
    const [own] = await testApp.app.workers.gather('metrics', undefined, 1000);
    const [ownDrift] = await testApp.app.workers.gather('drift', undefined, 1000);
    vi.spyOn(testApp.app.workers, 'gather')
      .mockResolvedValueOnce([own!, { ...own!, pid: 4242 }])
      .mockResolvedValueOnce([ownDrift!, { pid: 4242, error: 'the worker did not answer in time' }]);
    const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });
    expect([response.statusCode, response.body]).toEqual([503, '# metrics incomplete: drift incomplete: 1 of 2 workers did not answer; retry shortly.\n']);
  });
});
