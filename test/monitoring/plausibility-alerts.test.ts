import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { PlausibilityAlerts, plausibilityReport } from '../../src/monitoring/plausibility-report.js';

function alertsWithWarnings() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const logger = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) };
  const check = new PlausibilityAlerts(readConfig({}).config, logger as never).periodicGather();
  return { check, warnings };
}

/** One worker's window: `rows` rows, `failed` of them failing the first check. */
const worker = (pid: number, rows: number, failed: number) => ({ pid, result: { rows, failed: [failed, 0, 0] } });

describe("the primary's plausibility check", () => {
  it('warns once when a check starts alerting, from every worker\'s counts together, and once when it recovers', () => {
    const { check, warnings } = alertsWithWarnings();
    expect(check.topic).toBe('plausibility');
    check.onOutcomes([worker(1, 500, 6)]);
    expect(warnings).toEqual([]); // 6 rows: under the minimum of 10
    check.onOutcomes([worker(1, 500, 6), worker(2, 500, 6)]);
    expect(warnings.map((warning) => warning.message)).toEqual(['plausibility: total_charges_above_billing is alerting (12 of the last 1000 rows)']);
    expect(warnings[0]!.fields).toMatchObject({ check: 'total_charges_above_billing', from: 'ok', to: 'alerting', failed: 12, share: 0.012, windowRows: 1000 });
    check.onOutcomes([worker(1, 500, 30), worker(2, 500, 30)]);
    expect(warnings).toHaveLength(1);
    check.onOutcomes([worker(1, 500, 2), worker(2, 500, 2)]);
    expect(warnings.map((warning) => warning.message)).toEqual(['plausibility: total_charges_above_billing is alerting (12 of the last 1000 rows)', 'plausibility: total_charges_above_billing is ok again']);
  });

  it('judges only whole pictures: a worker that did not answer, or answered null, leaves the statuses as they were', () => {
    const { check, warnings } = alertsWithWarnings();
    check.onOutcomes([worker(1, 1000, 50), worker(2, 1000, 50)]);
    expect(warnings).toHaveLength(1);
    check.onOutcomes([worker(1, 1000, 0), { pid: 2, error: 'timeout' }]);
    check.onOutcomes([worker(1, 1000, 0), { pid: 2, result: null }]);
    check.onOutcomes([]);
    expect(warnings).toHaveLength(1);
  });
});

describe('plausibilityReport', () => {
  it('gives each check its count, share and status; an alert needs the share and 10 rows', () => {
    const settings = { windowRows: 1000, alertShare: 0.01 };
    const report = plausibilityReport({ rows: 2000, failed: [20, 19, 0] }, settings);
    expect(report.checks.map(({ check, failed, share, status }) => ({ check, failed, share, status }))).toEqual([
      { check: 'total_charges_above_billing', failed: 20, share: 0.01, status: 'alerting' },
      { check: 'total_charges_below_billing', failed: 19, share: 0.0095, status: 'ok' },
      { check: 'new_customer_with_history', failed: 0, share: 0, status: 'ok' },
    ]);
    expect(plausibilityReport({ rows: 0, failed: [0, 0, 0] }, settings).checks[0]).toMatchObject({ share: 0, status: 'ok' });
    expect(plausibilityReport(undefined, settings, 'off')).toMatchObject({ available: false, reason: 'off', window: { rows: 0, capacity: 1000 } });
  });
});
