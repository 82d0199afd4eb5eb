import { calibrate, type Calibrator } from '../data-plane/reference-calibration.js';
import type { ModelCard } from '../schemas/model-card.js';
import type { ModelPerformance, PerformanceReport } from '../schemas/performance.js';
import type { ReferenceCalibration } from '../schemas/reference-calibration.js';
import { expectedRocAuc, rocAucDeLong, Z_95, type Interval } from './roc-auc.js';

/**
 * Live model performance from scored outcomes: measured where the CRM has told us whether the
 * customer churned, estimated (CBPE) where it has not, beside the model card's hold-out figures.
 * Pure: rows in, report out; no store, no HTTP.
 */

/** One prediction in the window: its model, its probability, and its outcome (null: none yet). */
export interface ScoredOutcome {
  modelVersion: string;
  probability: number;
  churned: boolean | null;
}

/** The window the rows are read for. */
export interface OutcomeWindow {
  since: Date;
  until: Date;
  /** How long after a prediction an outcome counts for it. */
  horizonDays: number;
}

/** Where the rows come from: the prediction log's join of predictions and CRM outcomes. */
export type ScoredOutcomeSource = (window: OutcomeWindow) => Promise<readonly ScoredOutcome[]>;

/** What the model card says about the hold-out customers; the report compares against it. */
export type HoldoutCard = Pick<ModelCard, 'model_version' | 'holdout_metrics' | 'calibration' | 'operating_points'>;

/** log_loss clips probabilities to [EPS, 1 − EPS] as sklearn's log_loss(eps=1e-15) does, so a confident miss costs 34.5, not infinity. */
export const LOG_LOSS_EPS = 1e-15;

export const CBPE_ASSUMPTION =
  'Estimated, not measured: assumes the served probabilities are calibrated on these customers (of those given p, a share p churns) and that the relation between features and churn has not changed since training (no concept drift). Feature drift alone is allowed.';

export const CBPE_CALIBRATED_ASSUMPTION =
  'Estimated, not measured: assumes the reference calibrator, fitted on the hold-out customers, holds for these customers (of those whose served probability it maps to q, a share q churns) and that the relation between features and churn has not changed since training (no concept drift). Feature drift alone is allowed.';

/** What `estimated.calibration` says when the estimate uses the served probabilities as they are. */
export const NO_CALIBRATION = 'none (raw probabilities)';

/** A reference calibrator as the estimate uses it: its step function and what it was fitted on. */
export type EstimateCalibrator = Calibrator & Pick<ReferenceCalibration, 'fitted_on'>;

/** What `estimated.calibration` says of a calibrator: "isotonic on 1,409 hold-out rows". */
export function calibrationLabel(calibrator: EstimateCalibrator | undefined): string {
  return calibrator ? `isotonic on ${calibrator.fitted_on.rows.toLocaleString('en-US')} hold-out rows` : NO_CALIBRATION;
}

/** The model card's bins when there is no card: [0, 0.1), [0.1, 0.2), …, [0.9, 1.0]. */
const DEFAULT_BINS = Array.from({ length: 10 }, (_, index) => ({ lower: index / 10, upper: (index + 1) / 10 }));

/**
 * Wilson's score interval for `successes` of `trials` at 95 %: unlike value ± z·SE it stays in
 * [0, 1] and keeps its coverage near 0 and 1 and on small counts (precision at 0.8 often rests on
 * a few dozen flagged customers). Null when there are no trials.
 */
export function wilsonInterval(successes: number, trials: number): Interval | null {
  if (trials === 0) return null;
  const share = successes / trials;
  const z2 = Z_95 * Z_95;
  const denominator = 1 + z2 / trials;
  const centre = (share + z2 / (2 * trials)) / denominator;
  const halfWidth = (Z_95 / denominator) * Math.sqrt((share * (1 - share)) / trials + z2 / (4 * trials * trials));
  return { value: share, ci_low: Math.max(0, centre - halfWidth), ci_high: Math.min(1, centre + halfWidth) };
}

/**
 * Precision and recall at a threshold with their Wilson intervals, by the churn API's rule
 * (prediction-mapping.ts): flagged when the unrounded probability is at least the threshold.
 */
export function precisionRecallAt(probabilities: readonly number[], churned: readonly boolean[], threshold: number): { flagged: number; precision: Interval | null; recall: Interval | null } {
  let flagged = 0;
  let hits = 0;
  let churners = 0;
  probabilities.forEach((probability, i) => {
    if (churned[i]) churners += 1;
    if (probability >= threshold) {
      flagged += 1;
      if (churned[i]) hits += 1;
    }
  });
  return { flagged, precision: wilsonInterval(hits, flagged), recall: wilsonInterval(hits, churners) };
}

/**
 * Mean log loss as sklearn's log_loss(y, p, eps=1e-15) computes it: p clipped, the pair
 * (1 − p, p) renormalised to sum 1, minus the log of the side that happened.
 */
export function logLoss(probabilities: readonly number[], churned: readonly boolean[]): number {
  let total = 0;
  for (let i = 0; i < probabilities.length; i += 1) {
    const p = Math.min(Math.max(probabilities[i]!, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    const sum = 1 - p + p;
    total -= Math.log((churned[i] ? p : 1 - p) / sum);
  }
  return total / probabilities.length;
}

export function brierScore(probabilities: readonly number[], churned: readonly boolean[]): number {
  let total = 0;
  for (let i = 0; i < probabilities.length; i += 1) total += (probabilities[i]! - (churned[i] ? 1 : 0)) ** 2;
  return total / probabilities.length;
}

/**
 * The bin a probability falls in, by the card's rule (training/evaluation.py): the number of
 * inner edges at or below it, so each bin holds its lower edge and the last one holds 1.0.
 */
export function binIndex(probability: number, lowers: readonly number[]): number {
  let index = 0;
  for (let edge = 1; edge < lowers.length; edge += 1) if (lowers[edge]! <= probability) index = edge;
  return index;
}

interface Labeled {
  probabilities: number[];
  churned: boolean[];
}

function calibration(labeled: Labeled, card: HoldoutCard | undefined, edges: readonly { lower: number; upper: number }[]) {
  const lowers = edges.map((edge) => edge.lower);
  const sums = edges.map(() => ({ rows: 0, predicted: 0, churned: 0 }));
  labeled.probabilities.forEach((probability, i) => {
    const bin = sums[binIndex(probability, lowers)]!;
    bin.rows += 1;
    bin.predicted += probability;
    bin.churned += labeled.churned[i] ? 1 : 0;
  });
  const total = labeled.probabilities.length;
  const bins = edges.map((edge, index) => {
    const { rows, predicted, churned } = sums[index]!;
    const held = card?.calibration[index];
    return {
      lower: edge.lower,
      upper: edge.upper,
      rows,
      mean_predicted: rows ? predicted / rows : null,
      observed_churn_rate: rows ? churned / rows : null,
      holdout: held ? { rows: held.rows, mean_predicted: held.mean_predicted, observed_churn_rate: held.observed_churn_rate } : null,
    };
  });
  return { ece: total ? expectedCalibrationError(bins, total) : null, holdout_ece: card ? holdoutEce(card) : null, bins };
}

type BinFigures = { rows: number; mean_predicted: number | null; observed_churn_rate: number | null };

function expectedCalibrationError(bins: readonly BinFigures[], total: number): number {
  return bins.reduce((ece, bin) => (bin.rows && bin.mean_predicted !== null && bin.observed_churn_rate !== null ? ece + (bin.rows / total) * Math.abs(bin.mean_predicted - bin.observed_churn_rate) : ece), 0);
}

function holdoutEce(card: HoldoutCard): number | null {
  const total = card.calibration.reduce((sum, bin) => sum + bin.rows, 0);
  return total ? expectedCalibrationError(card.calibration, total) : null;
}

function rocAucReason(labeled: Labeled): string | null {
  if (labeled.churned.length === 0) return 'no labeled predictions in the window';
  if (labeled.churned.every(Boolean)) return 'every labeled prediction churned: ROC AUC needs churners and stayers';
  if (!labeled.churned.some(Boolean)) return 'no labeled prediction churned: ROC AUC needs churners and stayers';
  return null;
}

function measured(labeled: Labeled, thresholds: readonly number[], card: HoldoutCard | undefined, edges: readonly { lower: number; upper: number }[]): ModelPerformance['measured'] {
  const { probabilities, churned } = labeled;
  const count = probabilities.length;
  const churners = churned.filter(Boolean).length;
  const auc = rocAucDeLong(probabilities, churned);
  return {
    kind: 'measured',
    churn_rate: count ? churners / count : null,
    roc_auc: {
      value: auc?.value ?? null,
      ci_low: auc?.ci_low ?? null,
      ci_high: auc?.ci_high ?? null,
      holdout: card?.holdout_metrics.roc_auc ?? null,
      reason: rocAucReason(labeled),
    },
    log_loss: { value: count ? logLoss(probabilities, churned) : null, holdout: card?.holdout_metrics.log_loss ?? null },
    brier: { value: count ? brierScore(probabilities, churned) : null, holdout: card?.holdout_metrics.brier_score ?? null },
    calibration: calibration(labeled, card, edges),
    thresholds: thresholds.map((threshold) => {
      const { flagged, precision, recall } = precisionRecallAt(probabilities, churned, threshold);
      const point = card?.operating_points.find((candidate) => candidate.threshold === threshold);
      return {
        threshold,
        flagged,
        flagged_share: { value: count ? flagged / count : null, holdout: point?.flagged_share ?? null },
        precision: { value: precision?.value ?? null, ci_low: precision?.ci_low ?? null, ci_high: precision?.ci_high ?? null, holdout: point?.precision ?? null },
        recall: { value: recall?.value ?? null, ci_low: recall?.ci_low ?? null, ci_high: recall?.ci_high ?? null, holdout: point?.recall ?? null },
      };
    }),
  };
}

/**
 * CBPE (NannyML's confidence-based performance estimation) on rows without an outcome: each
 * customer churns with the probability the reference calibrator maps its served probability to
 * (the served one itself without a calibrator). A customer is flagged by the served probability,
 * as the churn API flags; at a threshold the expected true positives are Σ q over the flagged and
 * the expected false positives Σ (1 − q) over them. The expected ROC AUC ranks by q: the
 * calibrator is non-decreasing, so that is the served order up to ties within one of its flat
 * steps, whose rows all step the expected ROC curve the same way, and the area is the one ranking
 * by the served probability gives (NannyML ranks by the raw score).
 */
export function estimated(probabilities: readonly number[], thresholds: readonly number[], calibrator?: EstimateCalibrator): ModelPerformance['estimated'] {
  const churnChances = calibrator ? probabilities.map((p) => calibrate(calibrator, p)) : probabilities;
  const expectedChurners = churnChances.reduce((sum, q) => sum + q, 0);
  return {
    kind: 'estimated',
    method: 'CBPE',
    calibration: calibrationLabel(calibrator),
    assumption: calibrator ? CBPE_CALIBRATED_ASSUMPTION : CBPE_ASSUMPTION,
    rows: probabilities.length,
    roc_auc: expectedRocAuc(churnChances) ?? null,
    thresholds: thresholds.map((threshold) => {
      let flagged = 0;
      let expectedHits = 0;
      probabilities.forEach((p, i) => {
        if (p >= threshold) {
          flagged += 1;
          expectedHits += churnChances[i]!;
        }
      });
      return {
        threshold,
        flagged_share: probabilities.length ? flagged / probabilities.length : null,
        precision: flagged ? expectedHits / flagged : null,
        recall: expectedChurners > 0 ? expectedHits / expectedChurners : null,
      };
    }),
  };
}

export interface PerformanceInput {
  rows: readonly ScoredOutcome[];
  window: OutcomeWindow;
  thresholds: readonly number[];
  /** The served model's card: its hold-out figures stand beside the measured ones of its version. */
  card: HoldoutCard | undefined;
  /** The reference calibrator of a model version, where one is loaded (the champion's, the challenger's): that version's estimate uses it; other versions' use raw probabilities. */
  calibration?: ((modelVersion: string) => (EstimateCalibrator & Pick<ReferenceCalibration, 'model_version'>) | undefined) | undefined;
  computedAt: Date;
}

/** The report of GET /monitoring/performance: one entry per model version in the window. */
export function performanceReport({ rows, window, thresholds, card, calibration, computedAt }: PerformanceInput): PerformanceReport {
  const byVersion = new Map<string, { labeled: Labeled; unlabeled: number[] }>();
  for (const row of rows) {
    let group = byVersion.get(row.modelVersion);
    if (!group) byVersion.set(row.modelVersion, (group = { labeled: { probabilities: [], churned: [] }, unlabeled: [] }));
    if (row.churned === null) group.unlabeled.push(row.probability);
    else {
      group.labeled.probabilities.push(row.probability);
      group.labeled.churned.push(row.churned);
    }
  }
  const edges = card?.calibration.length ? card.calibration.map(({ lower, upper }) => ({ lower, upper })) : DEFAULT_BINS;
  const models = [...byVersion.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([version, { labeled, unlabeled }]): ModelPerformance => {
      const predictions = labeled.probabilities.length + unlabeled.length;
      const ownCard = card?.model_version === version ? card : undefined;
      const ownCalibration = calibration?.(version);
      return {
        model_version: version,
        predictions,
        labeled: labeled.probabilities.length,
        label_coverage: labeled.probabilities.length / predictions,
        measured: measured(labeled, thresholds, ownCard, edges),
        estimated: estimated(unlabeled, thresholds, ownCalibration?.model_version === version ? ownCalibration : undefined),
      };
    });
  return {
    window: { since: window.since.toISOString(), until: window.until.toISOString(), horizon_days: window.horizonDays },
    computed_at: computedAt.toISOString(),
    confidence_level: 0.95,
    served_model_version: card?.model_version ?? null,
    models,
  };
}
