import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DRIFT_MINUTES_KEPT_MS } from '../../src/monitoring/drift-time-windows.js';
import { DRIFT_WINDOWS_READ_TIMEOUT_MS } from '../../src/plugins/drift-windows.js';
import { SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { DriftReport } from '../../src/schemas/drift.js';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';
import { HOLDOUT, type Customer } from '../training-data.js';

let testApp: TestApp | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await testApp?.app.close();
  testApp = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function score(customers: readonly Customer[]) {
  for (let start = 0; start < customers.length; start += 100) {
    expect((await postJson(testApp!.app, '/predict/batch', { customers: customers.slice(start, start + 100) })).statusCode).toBe(200);
  }
}

async function report(): Promise<DriftReport> {
  const body = (await testApp!.app.inject({ method: 'GET', url: '/monitoring/drift' })).json() as DriftReport;
  expect(Value.Check(DriftReport, body)).toBe(true);
  return body;
}

describe('time-window drift', () => {
  it('says why there are no time windows while the prediction log is off; the plausibility checks still run', async () => {
    testApp = await buildTestApp({ PREDICTION_LOG: 'false' });
    await score(HOLDOUT.slice(0, 10));
    const body = await report();
    expect(body.windows).toEqual({ available: false, reason: expect.stringContaining('PREDICTION_LOG=false'), last_hour: null, last_day: null });
    expect(body.plausibility).toMatchObject({ available: true, window: { rows: 10, capacity: 1000 }, alert_share: 0.01, alert_min_failed: 10 });
  });

  it('with DRIFT_MONITORING=false, says so for the plausibility checks and the windows', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'windows-'));
    testApp = await buildTestApp({ DRIFT_MONITORING: 'false', PREDICTION_LOG: 'true', DATA_DIR: dataDir });
    const body = await report();
    expect(body.plausibility).toMatchObject({ available: false, reason: expect.stringContaining('DRIFT_MONITORING=false'), window: { rows: 0 } });
    expect(body.windows).toMatchObject({ available: false, reason: expect.stringContaining('DRIFT_MONITORING=false') });
    const metrics = (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).not.toContain('churn_implausible_rows_total');
  });

  it('answers the row window and the plausibility checks when the store does not, and says why the time windows are missing', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'windows-'));
    testApp = await buildTestApp({ PREDICTION_LOG: 'true', DATA_DIR: dataDir });
    await testApp.app.predictionLogStore!.close();
    const response = await testApp.app.inject({ method: 'GET', url: '/monitoring/drift' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ available: true, plausibility: { available: true }, windows: { available: false, reason: expect.stringContaining('did not answer'), last_hour: null } });
    expect(testApp.logs.some((line) => line.level === 50 && line.msg === 'drift windows: reading minute counts failed')).toBe(true);
  });

  it('answers without the time windows when the store hangs, after DRIFT_WINDOWS_READ_TIMEOUT_MS, instead of waiting on it', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'windows-'));
    testApp = await buildTestApp({ PREDICTION_LOG: 'true', DATA_DIR: dataDir });
    await score(HOLDOUT.slice(0, 10));
    vi.spyOn(testApp.app.predictionLogStore!, 'sumDriftMinutes').mockReturnValue(new Promise(() => undefined));
    const response = await testApp.app.inject({ method: 'GET', url: '/monitoring/drift' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      available: true,
      plausibility: { available: true, window: { rows: 10 } },
      windows: { available: false, reason: expect.stringContaining(`did not answer within ${DRIFT_WINDOWS_READ_TIMEOUT_MS} ms`), last_hour: null, last_day: null },
    });
    expect(testApp.logs.some((line) => line.level === 50 && line.msg === 'drift windows: the store did not answer in time')).toBe(true);
  });

  it('keeps the last hour and day across a restart, deletes minute buckets past two days, and logs the checks a prediction failed', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'windows-'));
    const env = { PREDICTION_LOG: 'true', DATA_DIR: dataDir };
    testApp = await buildTestApp(env);
    await score(HOLDOUT);
    await score([{ ...HOLDOUT[0]!, tenure_months: 0 }]);
    const first = await report();
    expect(first.windows.available).toBe(true);
    expect(first.windows.last_hour).toMatchObject({ minutes: 60, rows: HOLDOUT.length + 1 });
    expect(first.windows.last_day).toMatchObject({ minutes: 1440, rows: HOLDOUT.length + 1 });
    expect(Date.parse(first.windows.last_hour!.since)).toBeLessThanOrEqual(Date.now() - 59 * 60_000);
    expect(first.windows.last_hour!.features.map((finding) => finding.status)).toEqual(['stable', 'stable', 'stable', 'stable', 'stable']);
    expect(first.windows.last_hour!.score).toMatchObject({ feature: 'churn_probability', status: 'stable' });
    const sha = testApp.app.dataPlane.model!.sha256;
    // Scored after the last report: only the write at close takes these to the store.
    await score(HOLDOUT.slice(0, 5));
    await testApp.app.close();
    const total = HOLDOUT.length + 1 + 5;

    // An old minute bucket, as if written three days ago: the start deletes it.
    const store = new SqlitePredictionLogStore(dataDir);
    await store.addDriftMinutes([{ minuteMs: Date.now() - DRIFT_MINUTES_KEPT_MS - 86_400_000, modelSha256: sha, profile: 'tenure_months', bin: 0, rows: 7 }]);
    await store.close();

    testApp = await buildTestApp(env);
    const after = await report();
    expect(after.window.rows).toBe(0);
    expect(after.windows.last_hour).toMatchObject({ rows: total });
    expect(after.windows.last_day).toMatchObject({ rows: total });
    const stored = await testApp.app.predictionLogStore!.sumDriftMinutes(sha, 0);
    expect(stored.filter((total) => total.profile === 'tenure_months').reduce((sum, bin) => sum + bin.rows, 0)).toBe(total);

    const newest = (await testApp.app.predictionLogStore!.recent(10)).find((record) => record.features.tenure_months === 0);
    expect(HOLDOUT[0]!.total_charges).toBeGreaterThan(2 * HOLDOUT[0]!.monthly_charges);
    expect(newest!.implausible).toEqual(['new_customer_with_history']);
  });
});
