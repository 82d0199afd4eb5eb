import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { binIndex, brierScore, estimated, logLoss, NO_CALIBRATION, performanceReport, wilsonInterval, type HoldoutCard, type ScoredOutcome } from '../../src/monitoring/performance.js';
import { expectedRocAuc, midranks, rocAucDeLong } from '../../src/monitoring/roc-auc.js';
import type { ReferenceCalibration } from '../../src/schemas/reference-calibration.js';

/**
 * Every figure against scikit-learn 1.2 (and scipy's Wilson interval, and DeLong from its O(m n)
 * definition), computed offline by test/fixtures/performance/make-fixtures.py.
 */
interface Point {
  threshold: number;
  flagged: number;
  hits: number;
  positives: number;
  precision?: number;
  recall?: number;
  precision_wilson?: { value: number; ci_low: number; ci_high: number } | null;
  recall_wilson?: { value: number; ci_low: number; ci_high: number } | null;
}
interface Case {
  name: string;
  thresholds: number[];
  rows: { probability: number; churned: boolean | null }[];
  measured: {
    labeled: number;
    roc_auc?: number;
    roc_auc_by_definition?: number;
    delong_variance?: number;
    roc_auc_ci?: [number, number];
    log_loss?: number;
    brier?: number;
    ece?: number;
    calibration_rows?: number[];
    thresholds: Point[];
  };
  estimated: Estimate;
  /** The same rows' estimate from probabilities mapped through the model's reference calibrator (the unlabeled telco cases). */
  estimated_calibrated?: Estimate;
}
interface Estimate {
  rows: number;
  roc_auc: number | null;
  thresholds: { threshold: number; precision: number | null; recall: number | null; flagged_share: number | null }[];
}

const stored = JSON.parse(readFileSync(new URL('../fixtures/performance/cases.json', import.meta.url), 'utf8')) as { cases: (Omit<Case, 'rows'> & { rows?: Case['rows']; rows_of?: string })[] };
/** A case with `rows_of` is another case's rows with their labels hidden. */
const fixtures = {
  cases: stored.cases.map((entry): Case => ({
    ...entry,
    rows: entry.rows ?? stored.cases.find((other) => other.name === entry.rows_of)!.rows!.map((row) => ({ ...row, churned: null })),
  })),
};
const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as HoldoutCard;
/** The bundled model's reference calibrator (training/reference_calibration.py): isotonic on the 1,409 hold-out customers. */
const calibrator = JSON.parse(readFileSync(new URL('../../models/churn_model.calibration.json', import.meta.url), 'utf8')) as ReferenceCalibration;
const byName = (name: string) => fixtures.cases.find((entry) => entry.name === name)!;
const WINDOW = { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-12-01T00:00:00Z'), horizonDays: 90 };

/** The report of a case's rows as model 'v-test', whose card is the bundled one and, with `calibrated`, whose calibrator is too. */
function reportOf(fixture: Case, { calibrated = false } = {}) {
  const rows: ScoredOutcome[] = fixture.rows.map((row) => ({ modelVersion: 'v-test', ...row }));
  const calibration = calibrated ? () => ({ ...calibrator, model_version: 'v-test' }) : undefined;
  return performanceReport({ rows, window: WINDOW, thresholds: fixture.thresholds, card: { ...card, model_version: 'v-test' }, calibration, computedAt: WINDOW.until });
}

describe.each(fixtures.cases.filter((entry) => entry.measured.labeled > 0).map((entry) => [entry.name, entry] as const))('measured figures of the %s case against sklearn', (_name, fixture) => {
  const labeled = fixture.rows.filter((row) => row.churned !== null);
  const probabilities = labeled.map((row) => row.probability);
  const churned = labeled.map((row) => row.churned!);
  const model = reportOf(fixture).models[0]!;

  it('ROC AUC equals roc_auc_score within 1e-9, and its DeLong interval the definition\'s', () => {
    const auc = rocAucDeLong(probabilities, churned)!;
    expect(Math.abs(auc.value - fixture.measured.roc_auc!)).toBeLessThan(1e-9);
    expect(Math.abs(auc.value - fixture.measured.roc_auc_by_definition!)).toBeLessThan(1e-9);
    expect(Math.abs(auc.ci_low! - fixture.measured.roc_auc_ci![0])).toBeLessThan(1e-9);
    expect(Math.abs(auc.ci_high! - fixture.measured.roc_auc_ci![1])).toBeLessThan(1e-9);
    expect(model.measured.roc_auc).toMatchObject({ value: auc.value, ci_low: auc.ci_low, ci_high: auc.ci_high, reason: null });
  });

  it('log loss (eps 1e-15) and Brier score equal sklearn\'s', () => {
    expect(Math.abs(logLoss(probabilities, churned) - fixture.measured.log_loss!)).toBeLessThan(1e-12);
    expect(Math.abs(brierScore(probabilities, churned) - fixture.measured.brier!)).toBeLessThan(1e-12);
    expect(model.measured.log_loss.value).toBe(logLoss(probabilities, churned));
  });

  it('puts every probability in the model card\'s bin (training/evaluation.py) and gives its ECE', () => {
    expect(model.measured.calibration.bins.map((bin) => bin.rows)).toEqual(fixture.measured.calibration_rows);
    expect(Math.abs(model.measured.calibration.ece! - fixture.measured.ece!)).toBeLessThan(1e-12);
  });

  it('precision and recall at each threshold equal sklearn\'s exactly, with scipy\'s Wilson interval', () => {
    for (const expected of fixture.measured.thresholds) {
      const point = model.measured.thresholds.find((entry) => entry.threshold === expected.threshold)!;
      expect(point.flagged).toBe(expected.flagged);
      expect(point.precision.value).toBe(expected.precision ?? null);
      expect(point.recall.value).toBe(expected.recall ?? null);
      for (const [got, want] of [
        [point.precision, expected.precision_wilson],
        [point.recall, expected.recall_wilson],
      ] as const) {
        if (!want) continue;
        expect(Math.abs(got.ci_low! - want.ci_low)).toBeLessThan(1e-12);
        expect(Math.abs(got.ci_high! - want.ci_high)).toBeLessThan(1e-12);
      }
    }
  });
});

function expectEstimate(figures: ReturnType<typeof estimated>, expected: Estimate) {
  expect(figures.rows).toBe(expected.rows);
  expect(Math.abs(figures.roc_auc! - expected.roc_auc!)).toBeLessThan(1e-9);
  for (const want of expected.thresholds) {
    const point = figures.thresholds.find((entry) => entry.threshold === want.threshold)!;
    expect(point.flagged_share).toBe(want.flagged_share);
    expect(Math.abs(point.precision! - want.precision!)).toBeLessThan(1e-12);
    expect(Math.abs(point.recall! - want.recall!)).toBeLessThan(1e-12);
  }
}

describe.each(fixtures.cases.filter((entry) => entry.estimated.rows > 0).map((entry) => [entry.name, entry] as const))('CBPE estimates of the %s case', (_name, fixture) => {
  const unlabeled = fixture.rows.filter((row) => row.churned === null).map((row) => row.probability);

  it('estimated ROC AUC equals sklearn\'s weighted roc_auc_score (each row a churner of weight p and a stayer of weight 1 - p)', () => {
    expect(Math.abs(expectedRocAuc(unlabeled)! - fixture.estimated.roc_auc!)).toBeLessThan(1e-9);
  });

  it('estimated precision, recall and flagged share are the expected confusion matrix\'s', () => {
    const figures = estimated(unlabeled, fixture.thresholds);
    expect(figures.calibration).toBe(NO_CALIBRATION);
    expectEstimate(figures, fixture.estimated);
  });

});

describe.each(fixtures.cases.filter((entry) => entry.estimated_calibrated).map((entry) => [entry.name, entry] as const))('CBPE estimates of the %s case through the reference calibrator', (_name, fixture) => {
  it('are sklearn\'s from IsotonicRegression.predict, ranked and flagged by the served probability', () => {
    const unlabeled = fixture.rows.filter((row) => row.churned === null).map((row) => row.probability);
    const figures = estimated(unlabeled, fixture.thresholds, calibrator);
    expect(figures.calibration).toBe('isotonic on 1,409 hold-out rows');
    expectEstimate(figures, fixture.estimated_calibrated!);
  });
});

describe('the estimates on the served telco probabilities against the measured 95 % intervals', () => {
  // The numbers the report gives (docs/monitoring.md cites them): estimate on the rows as if
  // unlabeled, from raw probabilities and through the reference calibrator, measured with their real labels.
  const measuredOf = (name: string) => reportOf(byName(name)).models[0]!.measured;
  const estimateOf = (name: string, calibrated: boolean) => reportOf(byName(name), { calibrated }).models[0]!.estimated;
  const all = { measured: measuredOf('telco'), raw: estimateOf('telco_unlabeled', false), calibrated: estimateOf('telco_unlabeled', true) };
  const holdout = { measured: measuredOf('telco_holdout'), raw: estimateOf('telco_holdout_unlabeled', false), calibrated: estimateOf('telco_holdout_unlabeled', true) };
  const inside = (value: number | null, interval: { ci_low: number | null; ci_high: number | null }) => value! >= interval.ci_low! && value! <= interval.ci_high!;
  const everyEstimateInside = (estimate: typeof all.raw, measured: typeof all.measured) => {
    expect(inside(estimate.roc_auc, measured.roc_auc)).toBe(true);
    expect(estimate.thresholds.map((point) => point.threshold)).toEqual([0.5, 0.8]);
    estimate.thresholds.forEach((point, index) => {
      expect(inside(point.precision, measured.thresholds[index]!.precision)).toBe(true);
      expect(inside(point.recall, measured.thresholds[index]!.recall)).toBe(true);
    });
  };

  it('the report says which probabilities each estimate used', () => {
    expect(all.calibrated.calibration).toBe('isotonic on 1,409 hold-out rows');
    expect(all.calibrated.assumption).toMatch(/reference calibrator, fitted on the hold-out customers, holds for these customers/);
    expect(all.raw.calibration).toBe(NO_CALIBRATION);
    expect(all.raw.assumption).toMatch(/served probabilities are calibrated on these customers/);
  });

  it('on all 7,043 (80 % of them trained on), through the reference calibrator, every estimate falls inside the measured interval', () => {
    everyEstimateInside(all.calibrated, all.measured);
  });

  it('on all 7,043, the raw probabilities put ROC AUC and precision at 0.8 below it (why the calibrator)', () => {
    const [at05, at08] = all.raw.thresholds;
    const [measured05, measured08] = all.measured.thresholds;
    expect(inside(at05!.precision, measured05!.precision)).toBe(true);
    expect(inside(at05!.recall, measured05!.recall)).toBe(true);
    expect(inside(at08!.recall, measured08!.recall)).toBe(true);
    // The model ranks the customers it was trained on better than its probabilities promise, and
    // above 0.8 it is under-confident (the card's 0.8-0.9 bin: 0.85 predicted, 0.92 observed).
    expect(all.raw.roc_auc!).toBeLessThan(all.measured.roc_auc.ci_low!);
    expect(at08!.precision!).toBeLessThan(measured08!.precision.ci_low!);
  });

  it('on the 1,409 hold-out customers (never trained on) every estimate falls inside, raw and calibrated (the calibrator\'s own rows: in-sample)', () => {
    expect(holdout.measured.roc_auc.value).toBeCloseTo(card.holdout_metrics.roc_auc, 6);
    everyEstimateInside(holdout.raw, holdout.measured);
    everyEstimateInside(holdout.calibrated, holdout.measured);
  });
});

describe('edge cases', () => {
  const at = (probability: number, churned: boolean | null, modelVersion = 'v1'): ScoredOutcome => ({ modelVersion, probability, churned });

  it('midranks give tied values the mean of their ranks', () => {
    expect([...midranks([0.3, 0.1, 0.3, 0.3, 0.2])]).toEqual([4, 1, 4, 4, 2]);
  });

  it('all one class: ROC AUC null with a reason, precision and log loss still measured', () => {
    const report = performanceReport({ rows: [at(0.9, true), at(0.6, true), at(0.2, true)], window: WINDOW, thresholds: [0.5], card: undefined, computedAt: WINDOW.until });
    const { measured } = report.models[0]!;
    expect(measured.roc_auc).toEqual({ value: null, ci_low: null, ci_high: null, holdout: null, reason: 'every labeled prediction churned: ROC AUC needs churners and stayers' });
    expect(rocAucDeLong([0.1, 0.2], [false, false])).toBeUndefined();
    expect(measured.thresholds[0]!.precision.value).toBe(1);
    expect(measured.thresholds[0]!.recall.value).toBe(2 / 3);
    expect(measured.log_loss.value).toBeGreaterThan(0);
  });

  it('one churner among stayers: a value but no interval (no sample variance)', () => {
    expect(rocAucDeLong([0.9, 0.1, 0.2], [true, false, false])).toEqual({ value: 1, ci_low: null, ci_high: null });
  });

  it('no labeled rows: every measured figure null, the estimate over all of them', () => {
    const report = performanceReport({ rows: [at(0.9, null), at(0.1, null)], window: WINDOW, thresholds: [0.5, 0.8], card: undefined, computedAt: WINDOW.until });
    const model = report.models[0]!;
    expect(model).toMatchObject({ predictions: 2, labeled: 0, label_coverage: 0 });
    expect(model.measured).toMatchObject({ churn_rate: null, log_loss: { value: null }, brier: { value: null }, calibration: { ece: null } });
    expect(model.measured.roc_auc.reason).toBe('no labeled predictions in the window');
    expect(model.measured.thresholds[0]).toMatchObject({ flagged: 0, flagged_share: { value: null }, precision: { value: null, ci_low: null }, recall: { value: null } });
    // Pairs: 0.9's churn weight over 0.1's stay weight (0.81), plus half of each tie with itself (0.045 twice).
    expect(model.estimated).toMatchObject({ kind: 'estimated', rows: 2 });
    expect(model.estimated.roc_auc).toBeCloseTo(0.9, 12);
    expect(model.estimated.thresholds[0]).toEqual({ threshold: 0.5, flagged_share: 0.5, precision: 0.9, recall: 0.9 });
  });

  it('an empty window: no models; an estimate over no rows is null', () => {
    expect(performanceReport({ rows: [], window: WINDOW, thresholds: [0.5], card, computedAt: WINDOW.until })).toMatchObject({ models: [], served_model_version: card.model_version });
    expect(estimated([], [0.5])).toMatchObject({ rows: 0, roc_auc: null, thresholds: [{ threshold: 0.5, flagged_share: null, precision: null, recall: null }] });
    expect(expectedRocAuc([0, 0])).toBeUndefined();
  });

  it('flags at exactly the threshold, as the churn API does', () => {
    const report = performanceReport({ rows: [at(0.5, true), at(0.4999999, false)], window: WINDOW, thresholds: [0.5], card: undefined, computedAt: WINDOW.until });
    expect(report.models[0]!.measured.thresholds[0]!.flagged).toBe(1);
  });

  it('bins a probability on an edge into the bin above it, and 1.0 into the last one', () => {
    const lowers = card.calibration.map((bin) => bin.lower);
    expect([0, 0.0999, 0.1, 0.3, 0.8999999, 0.9, 1].map((p) => binIndex(p, lowers))).toEqual([0, 0, 1, 3, 8, 9, 9]);
  });

  it('groups by model version; only the card\'s version gets the hold-out figures', () => {
    const report = performanceReport({
      rows: [at(0.9, true, card.model_version), at(0.1, false, card.model_version), at(0.8, true, 'older'), at(0.3, false, 'older')],
      window: WINDOW,
      thresholds: [0.5, 0.8, 0.65],
      card,
      computedAt: WINDOW.until,
    });
    const [first, second] = report.models;
    const served = [first, second].find((model) => model!.model_version === card.model_version)!;
    const older = [first, second].find((model) => model!.model_version === 'older')!;
    expect(served.measured.roc_auc.holdout).toBe(card.holdout_metrics.roc_auc);
    expect(served.measured.log_loss.holdout).toBe(card.holdout_metrics.log_loss);
    expect(served.measured.brier.holdout).toBe(card.holdout_metrics.brier_score);
    expect(served.measured.thresholds.map((point) => point.precision.holdout)).toEqual([0.625, 0.92, null]);
    expect(served.measured.calibration.bins[0]!.holdout).toEqual({ rows: 457, mean_predicted: 0.051436, observed_churn_rate: 0.041575 });
    expect(older.measured.roc_auc.holdout).toBeNull();
    expect(older.measured.calibration.bins[0]!.holdout).toBeNull();
    expect(older.measured.calibration.bins).toHaveLength(card.calibration.length);
  });

  it('only the calibrator\'s version is estimated through it; every other version from raw probabilities', () => {
    const rows = [at(0.9, null, card.model_version), at(0.3, null, card.model_version), at(0.9, null, 'older'), at(0.3, null, 'older')];
    const report = performanceReport({ rows, window: WINDOW, thresholds: [0.5], card, calibration: () => calibrator, computedAt: WINDOW.until });
    const served = report.models.find((model) => model.model_version === card.model_version)!.estimated;
    const older = report.models.find((model) => model.model_version === 'older')!.estimated;
    expect(served.calibration).toBe('isotonic on 1,409 hold-out rows');
    expect(older.calibration).toBe(NO_CALIBRATION);
    // Above the last threshold (0.892) the calibrator gives 1; at 0.3 it interpolates its steps.
    expect(served.thresholds[0]!.precision).toBe(1);
    expect(older.thresholds[0]!.precision).toBe(0.9);
    expect(served.roc_auc).not.toBe(older.roc_auc);
    const uncalibrated = performanceReport({ rows, window: WINDOW, thresholds: [0.5], card, computedAt: WINDOW.until });
    expect(uncalibrated.models.map((model) => model.estimated.calibration)).toEqual([NO_CALIBRATION, NO_CALIBRATION]);
  });

  it('the Wilson interval: null without trials, inside [0, 1] at the extremes', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
    const none = wilsonInterval(0, 10)!;
    expect(none.value).toBe(0);
    expect(none.ci_low).toBe(0);
    expect(none.ci_high).toBeGreaterThan(0.2);
    const all = wilsonInterval(10, 10)!;
    expect(all.ci_high).toBeCloseTo(1, 12);
    expect(all.ci_high).toBeLessThanOrEqual(1);
    expect(all.ci_low).toBeLessThan(0.8);
  });
});
