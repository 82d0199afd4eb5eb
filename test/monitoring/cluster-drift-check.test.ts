import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { DriftMonitor, type DriftReference, type DriftSnapshot, type DriftStatus } from '../../src/data-plane/drift.js';
import { DriftCheck, DriftStatusLog } from '../../src/monitoring/drift-report.js';
import type { DriftReport } from '../../src/schemas/drift.js';

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as { drift_reference: DriftReference };

/** One worker's counts after `rows` customers of 0 to 3 months' tenure: tenure drifts, significantly. */
function shiftedSnapshot(rows: number): DriftSnapshot {
  const monitor = new DriftMonitor(10_000);
  const model = { version: '1.1.0', sha256: 'abc' };
  monitor.switchTo(model, card.drift_reference);
  for (let index = 0; index < rows; index += 1) monitor.observe(model, Float32Array.from([index % 4, 20 + (index % 90), 500, 2, 0]), 1, [0.5]);
  return monitor.snapshot()!;
}

function checkWithWarnings() {
  const warnings: string[] = [];
  const check = new DriftCheck(readConfig({ DRIFT_MIN_ROWS: '200' }).config, { warn: (_fields: object, message: string) => warnings.push(message) } as never).periodicGather();
  return { check, warnings };
}

describe("the primary's drift check", () => {
  it('warns once when a feature starts drifting, from every worker\'s counts together', () => {
    const { check, warnings } = checkWithWarnings();
    check.onOutcomes([{ pid: 1, result: shiftedSnapshot(150) }]);
    expect(warnings).toEqual([]); // 150 rows: under DRIFT_MIN_ROWS alone
    check.onOutcomes([
      { pid: 1, result: shiftedSnapshot(150) },
      { pid: 2, result: shiftedSnapshot(150) },
    ]);
    expect(warnings).toContain('drift: tenure_months is significant');
    const count = warnings.length;
    check.onOutcomes([
      { pid: 1, result: shiftedSnapshot(300) },
      { pid: 2, result: shiftedSnapshot(300) },
    ]);
    expect(warnings).toHaveLength(count);
  });

  it('judges nothing while a worker does not answer, so a slow gather never repeats a warning', () => {
    const { check, warnings } = checkWithWarnings();
    const whole = [
      { pid: 1, result: shiftedSnapshot(300) },
      { pid: 2, result: shiftedSnapshot(300) },
    ];
    check.onOutcomes(whole);
    const count = warnings.filter((warning) => warning === 'drift: tenure_months is significant').length;
    expect(count).toBe(1);
    check.onOutcomes([{ pid: 1, error: 'no answer in 3000 ms' }, { pid: 2, error: 'no answer in 3000 ms' }]);
    check.onOutcomes([{ pid: 1, result: shiftedSnapshot(300) }, { pid: 2, error: 'no answer in 3000 ms' }]);
    // A worker still loading its model answers null.
    check.onOutcomes([{ pid: 1, result: shiftedSnapshot(300) }, { pid: 2, result: null }]);
    check.onOutcomes([]);
    check.onOutcomes(whole);
    expect(warnings.filter((warning) => warning === 'drift: tenure_months is significant')).toHaveLength(1);
  });
});

describe('DriftStatusLog: a warning only for a real change', () => {
  const report = (statuses: Record<string, DriftStatus | null>, modelVersion = '1.1.0') =>
    ({
      model_version: modelVersion,
      features: Object.entries(statuses).map(([feature, status]) => ({ feature, status, psi: status === null ? null : 0.3, bins: [] })),
      score: null,
    }) as unknown as DriftReport;

  it('is silent about a first status of stable, and about no status yet', () => {
    const log = new DriftStatusLog();
    expect(log.changes(report({ tenure_months: null, monthly_charges: null }))).toEqual([]);
    expect(log.changes(report({ tenure_months: 'stable', monthly_charges: 'stable' }))).toEqual([]);
    expect(log.changes(report({ tenure_months: 'stable', monthly_charges: 'stable' }))).toEqual([]);
  });

  it('reports a feature that starts drifting, moves between levels, or comes back to stable, once each', () => {
    const log = new DriftStatusLog();
    expect(log.changes(report({ tenure_months: 'moderate', monthly_charges: 'stable' }))).toEqual([{ feature: 'tenure_months', from: null, to: 'moderate', psi: 0.3 }]);
    expect(log.changes(report({ tenure_months: 'significant', monthly_charges: 'stable' }))).toEqual([{ feature: 'tenure_months', from: 'moderate', to: 'significant', psi: 0.3 }]);
    expect(log.changes(report({ tenure_months: 'significant', monthly_charges: 'stable' }))).toEqual([]);
    expect(log.changes(report({ tenure_months: 'stable', monthly_charges: 'stable' }))).toEqual([{ feature: 'tenure_months', from: 'significant', to: 'stable', psi: 0.3 }]);
  });

  it('starts afresh with a new model, and keeps the last status while a check has none', () => {
    const log = new DriftStatusLog();
    log.changes(report({ tenure_months: 'significant' }));
    expect(log.changes(report({ tenure_months: null }))).toEqual([]);
    expect(log.changes(report({ tenure_months: 'significant' }))).toEqual([]);
    expect(log.changes(report({ tenure_months: 'stable' }, '1.2.0'))).toEqual([]);
    expect(log.changes(report({ tenure_months: 'significant' }, '1.2.0'))).toEqual([{ feature: 'tenure_months', from: 'stable', to: 'significant', psi: 0.3 }]);
  });
});
