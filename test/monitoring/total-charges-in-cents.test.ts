import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DriftReport } from '../../src/schemas/drift.js';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';
import { HOLDOUT, type Customer } from '../training-data.js';

/**
 * The failure drift monitoring was too slow for: a CRM that starts sending total_charges in cents
 * after a window full of normal traffic. The plausibility checks must flag it within 200 bad rows;
 * the row window's PSI and the hour window only after thousands (measured, and printed with
 * MEASURE_DETECTION=1).
 */

/** The hold-out customers over and over: realistic traffic, never the training CSV. */
const normal = (count: number, offset = 0): Customer[] => Array.from({ length: count }, (_, index) => HOLDOUT[(offset + index) % HOLDOUT.length]!);
/** The bug: the same kind of customers, total_charges × 100. */
const inCents = (count: number, offset: number): Customer[] => normal(count, offset).map((customer) => ({ ...customer, total_charges: customer.total_charges * 100 }));

const CHECK = 'total_charges_above_billing';
let testApp: TestApp | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await testApp?.app.close();
  testApp = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function score(customers: readonly Customer[]): Promise<number[]> {
  const probabilities: number[] = [];
  for (let start = 0; start < customers.length; start += 100) {
    const response = await postJson(testApp!.app, '/predict/batch', { customers: customers.slice(start, start + 100) });
    expect(response.statusCode).toBe(200);
    for (const prediction of (response.json() as { predictions: { churn_probability: number }[] }).predictions) probabilities.push(prediction.churn_probability);
  }
  return probabilities;
}

async function report(): Promise<DriftReport> {
  const response = await testApp!.app.inject({ method: 'GET', url: '/monitoring/drift' });
  expect(response.statusCode).toBe(200);
  return response.json();
}

const checkStatus = (body: DriftReport) => body.plausibility.checks.find((check) => check.check === CHECK)!.status;
const totalChargesStatus = (findings: readonly { feature: string; status: string | null }[]) => findings.find((finding) => finding.feature === 'total_charges')!.status;
const warned = (prefix: string) => testApp!.logs.filter((line) => line.level === 40 && String(line.msg).startsWith(prefix));

describe('total_charges in cents after a full window of normal traffic', () => {
  it('is flagged by the plausibility check within 200 bad rows, long before PSI, in the report, the counter and the log', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cents-'));
    testApp = await buildTestApp({ PREDICTION_LOG: 'true', DATA_DIR: dataDir, DRIFT_CHECK_INTERVAL_MS: '100' });
    await score(normal(10_000));
    const before = await report();
    expect(Value.Check(DriftReport, before)).toBe(true);
    expect(before.window.rows).toBe(10_000);
    expect(checkStatus(before)).toBe('ok');
    expect(totalChargesStatus(before.features)).toBe('stable');
    expect(before.windows.last_hour).toMatchObject({ rows: 10_000 });
    expect(totalChargesStatus(before.windows.last_hour!.features)).toBe('stable');

    // Bad rows in steps of 10 until the plausibility status alerts.
    let bad = 0;
    const highScores: number[] = [];
    let body = before;
    while (checkStatus(body) !== 'alerting' && bad < 200) {
      highScores.push(...(await score(inCents(10, bad))));
      bad += 10;
      body = await report();
    }
    const flaggedAfter = bad;
    expect(checkStatus(body)).toBe('alerting');
    expect(flaggedAfter).toBeLessThanOrEqual(200);
    // Meanwhile the row window and the hour window still call total_charges stable or moderate.
    expect(totalChargesStatus(body.features)).not.toBe('significant');
    expect(totalChargesStatus(body.windows.last_hour!.features)).not.toBe('significant');

    const metrics = (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;
    const caught = inCents(flaggedAfter, 0).filter((customer) => customer.tenure_months >= 1).length;
    expect(sampleValue(metrics, 'churn_implausible_rows_total', { check: CHECK })).toBe(caught);
    expect(sampleValue(metrics, 'churn_implausible_rows_total', { check: 'total_charges_below_billing' })).toBe(0);
    await vi.waitFor(() => expect(warned('plausibility: ')).toHaveLength(1), { timeout: 3000, interval: 50 });
    expect(warned('plausibility: ')[0]).toMatchObject({ check: CHECK, from: 'ok', to: 'alerting', msg: expect.stringContaining(`plausibility: ${CHECK} is alerting`) });

    // The old row-window PSI and the hour window: how many bad rows until total_charges is significant.
    let rowWindowAfter: number | undefined;
    let hourWindowAfter: number | undefined;
    while ((rowWindowAfter === undefined || hourWindowAfter === undefined) && bad < 10_000) {
      highScores.push(...(await score(inCents(100, bad))));
      bad += 100;
      body = await report();
      if (rowWindowAfter === undefined && totalChargesStatus(body.features) === 'significant') rowWindowAfter = bad;
      if (hourWindowAfter === undefined && totalChargesStatus(body.windows.last_hour!.features) === 'significant') hourWindowAfter = bad;
    }
    expect(rowWindowAfter).toBeGreaterThan(1000);
    expect(hourWindowAfter).toBeGreaterThanOrEqual(rowWindowAfter!);
    if (process.env.MEASURE_DETECTION === '1') {
      const overCrm = highScores.filter((probability) => probability > 0.8).length / highScores.length;
      console.info(JSON.stringify({ plausibilityFlaggedAfter: flaggedAfter, rowWindowSignificantAfter: rowWindowAfter, hourWindowSignificantAfter: hourWindowAfter, badRowsScoredOver08: overCrm }));
    }

    // The CRM is fixed: once the plausibility window holds fewer than 10 bad rows, one line says so.
    await score(normal(1_000, 5_000));
    expect(checkStatus(await report())).toBe('ok');
    await vi.waitFor(() => expect(warned('plausibility: ')).toHaveLength(2), { timeout: 3000, interval: 50 });
    expect(warned('plausibility: ')[1]).toMatchObject({ check: CHECK, from: 'alerting', to: 'ok', msg: `plausibility: ${CHECK} is ok again` });
  }, 120_000);
});
