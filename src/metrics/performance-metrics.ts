import { Counter, Gauge, type Registry } from 'prom-client';
import type { PerformanceReport } from '../schemas/performance.js';

type Bounded = { value: number | null; ci_low?: number | null; ci_high?: number | null };
type Labels = Record<string, string>;

/**
 * The performance report as gauges, one family per figure so an alert reads as the figure it is
 * about: `churn_performance_precision{threshold="0.8", kind="measured", bound="ci_low"} < 0.6`.
 * `kind` is measured (labeled predictions) or estimated (CBPE on the unlabeled ones, which has no
 * interval: bound="value" only). Every figure covers the last 30 days; a series whose figure is
 * undefined (no labels yet, one class only) is absent rather than 0, so an alert does not fire
 * on a window with nothing to judge. Each worker computes the same report from the shared log:
 * the server-wide scrape keeps one worker's value (`first`), never a sum.
 */
export class PerformanceMetrics {
  readonly #modelName: string;
  readonly #gauges: Gauge[] = [];
  readonly #predictions: Gauge;
  readonly #labeled: Gauge;
  readonly #rocAuc: Gauge;
  readonly #precision: Gauge;
  readonly #recall: Gauge;
  readonly #flaggedShare: Gauge;
  readonly #logLoss: Gauge;
  readonly #brier: Gauge;
  readonly #ece: Gauge;
  readonly #computedAt: Gauge;
  readonly #failures: Counter;

  constructor(registry: Registry, modelName: string) {
    this.#modelName = modelName;
    const gauge = (name: string, help: string, labelNames: string[]) => {
      const created = new Gauge({ name, help, labelNames: ['model_name', ...labelNames], aggregator: 'first', registers: [registry] });
      this.#gauges.push(created);
      return created;
    };
    const version = ['model_version'];
    this.#predictions = gauge('churn_performance_predictions', 'Predictions of each model version in the last 30 days (the performance window).', version);
    this.#labeled = gauge('churn_performance_labeled_predictions', 'Of them, those with an outcome from the CRM: what the measured figures rest on.', version);
    this.#rocAuc = gauge('churn_performance_roc_auc', 'ROC AUC over the performance window: measured (value and DeLong 95 % bounds) or estimated (CBPE value).', [...version, 'kind', 'bound']);
    this.#precision = gauge('churn_performance_precision', 'Share of the flagged (probability >= threshold) who churned: measured (value and Wilson 95 % bounds) or estimated (CBPE value).', [...version, 'threshold', 'kind', 'bound']);
    this.#recall = gauge('churn_performance_recall', 'Share of the churners who were flagged (probability >= threshold): measured (value and Wilson 95 % bounds) or estimated (CBPE value).', [...version, 'threshold', 'kind', 'bound']);
    this.#flaggedShare = gauge('churn_performance_flagged_share', 'Share of the predictions flagged (probability >= threshold): of the labeled ones (measured) or of the unlabeled ones (estimated).', [...version, 'threshold', 'kind']);
    this.#logLoss = gauge('churn_performance_log_loss', 'Log loss of the labeled predictions in the performance window.', version);
    this.#brier = gauge('churn_performance_brier_score', 'Brier score of the labeled predictions in the performance window.', version);
    this.#ece = gauge('churn_performance_calibration_error', 'Expected calibration error of the labeled predictions, over the model card\'s probability bins.', version);
    this.#computedAt = gauge('churn_performance_computed_timestamp_seconds', 'When the performance figures were last computed (Unix seconds): alert when it falls behind.', []);
    this.#failures = new Counter({
      name: 'churn_performance_refresh_failures_total',
      help: 'Background computations of the performance figures that failed (the outcome source did not answer); the figures keep their last values.',
      labelNames: ['model_name'],
      registers: [registry],
    });
  }

  refreshFailed(): void {
    this.#failures.inc({ model_name: this.#modelName });
  }

  /** Replaces every figure with the report's: a version that left the window leaves the metrics. */
  set(report: PerformanceReport): void {
    for (const gauge of this.#gauges) gauge.reset();
    const name = { model_name: this.#modelName };
    this.#computedAt.set(name, Date.parse(report.computed_at) / 1000);
    for (const model of report.models) {
      const labels = { ...name, model_version: model.model_version };
      this.#predictions.set(labels, model.predictions);
      this.#labeled.set(labels, model.labeled);
      const { measured, estimated } = model;
      setBounded(this.#rocAuc, { ...labels, kind: 'measured' }, measured.roc_auc);
      setBounded(this.#rocAuc, { ...labels, kind: 'estimated' }, { value: estimated.roc_auc });
      setIfDefined(this.#logLoss, labels, measured.log_loss.value);
      setIfDefined(this.#brier, labels, measured.brier.value);
      setIfDefined(this.#ece, labels, measured.calibration.ece);
      for (const point of measured.thresholds) {
        const at = { ...labels, threshold: String(point.threshold), kind: 'measured' };
        setBounded(this.#precision, at, point.precision);
        setBounded(this.#recall, at, point.recall);
        setIfDefined(this.#flaggedShare, at, point.flagged_share.value);
      }
      for (const point of estimated.thresholds) {
        const at = { ...labels, threshold: String(point.threshold), kind: 'estimated' };
        setBounded(this.#precision, at, { value: point.precision });
        setBounded(this.#recall, at, { value: point.recall });
        setIfDefined(this.#flaggedShare, at, point.flagged_share);
      }
    }
  }
}

function setIfDefined(gauge: Gauge, labels: Labels, value: number | null | undefined): void {
  if (value !== null && value !== undefined) gauge.set(labels, value);
}

function setBounded(gauge: Gauge, labels: Labels, figure: Bounded): void {
  setIfDefined(gauge, { ...labels, bound: 'value' }, figure.value);
  setIfDefined(gauge, { ...labels, bound: 'ci_low' }, figure.ci_low);
  setIfDefined(gauge, { ...labels, bound: 'ci_high' }, figure.ci_high);
}
