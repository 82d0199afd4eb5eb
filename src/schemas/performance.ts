import { Type, type Static } from '@sinclair/typebox';
import { ValidationErrorResponse } from './errors.js';
import { jsonResponse } from './shared-ref.js';

const OrNull = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });
const Holdout = (what: string) => OrNull(`The model card's hold-out ${what}, for comparison; null when this version is not the served model's card (or the card has no such figure).`);

const IntervalFigure = (what: string) =>
  Type.Object({
    value: OrNull(`The ${what} measured on the labeled predictions; null when it is undefined (see the text beside it).`),
    ci_low: OrNull('Lower bound of its 95 % interval; null when the sample cannot give one.'),
    ci_high: OrNull('Upper bound of its 95 % interval.'),
    holdout: Holdout(what),
  });

const PlainFigure = (what: string) => Type.Object({ value: OrNull(`The ${what} of the labeled predictions; null when none is labeled.`), holdout: Holdout(what) });

export const PerformanceCalibrationBin = Type.Object({
  lower: Type.Number({ description: 'Lower edge (inclusive): the model card\'s bins.' }),
  upper: Type.Number({ description: 'Upper edge (exclusive, except the last bin, which holds 1.0).' }),
  rows: Type.Integer({ description: 'Labeled predictions in the bin.' }),
  mean_predicted: OrNull('Their mean probability; null for an empty bin.'),
  observed_churn_rate: OrNull('The share of them who churned; null for an empty bin.'),
  holdout: Type.Union([Type.Object({ rows: Type.Integer({ description: 'Hold-out customers in the bin.' }), mean_predicted: OrNull('Their mean probability.'), observed_churn_rate: OrNull('The share of them who churned.') }), Type.Null()], {
    description: 'The same bin of the model card (hold-out customers); null without the card.',
  }),
});

export const PerformanceThreshold = Type.Object({
  threshold: Type.Number({ description: 'A customer is flagged when P(churn) >= this, as the churn API\'s churn_prediction and risk tiers compare.' }),
  flagged: Type.Integer({ description: 'Labeled predictions flagged.' }),
  flagged_share: PlainFigure('share of predictions flagged'),
  precision: IntervalFigure('precision (share of the flagged who churned; Wilson score interval)'),
  recall: IntervalFigure('recall (share of the churners who were flagged; Wilson score interval)'),
});

export const EstimatedPerformance = Type.Object({
  kind: Type.Literal('estimated'),
  method: Type.Literal('CBPE', {
    description: 'Confidence-based performance estimation (as NannyML\'s CBPE): the expected confusion matrix when each customer churns with the probability served, mapped through the model\'s reference calibrator when it has one (see calibration).',
  }),
  calibration: Type.String({
    description:
      'How the served probabilities were calibrated before estimating: "isotonic on 1,409 hold-out rows" (the served model\'s reference calibrator, churn_model.calibration.json), or "none (raw probabilities)" for a model without one and for every other version in the window.',
    examples: ['isotonic on 1,409 hold-out rows', 'none (raw probabilities)'],
  }),
  assumption: Type.String({ description: 'What must hold for the estimate to be right.' }),
  rows: Type.Integer({ description: 'Unlabeled predictions the estimate covers.' }),
  roc_auc: OrNull('Expected ROC AUC of the unlabeled predictions; null without any, or when every probability is 0 (or 1).'),
  thresholds: Type.Array(
    Type.Object({
      threshold: Type.Number(),
      flagged_share: OrNull('Share of the unlabeled predictions flagged by their served probability (counted, not estimated); null without any.'),
      precision: OrNull('Expected precision: the mean (calibrated) probability of the flagged; null when none is flagged.'),
      recall: OrNull('Expected recall: the expected churners flagged over all expected churners; null without any.'),
    }),
  ),
});

export const ModelPerformance = Type.Object({
  model_version: Type.String(),
  predictions: Type.Integer({ description: 'Predictions of this version in the window.' }),
  labeled: Type.Integer({ description: 'Of them, those with an outcome from the CRM (churned or not).' }),
  label_coverage: OrNull('labeled / predictions; null without predictions.'),
  measured: Type.Object({
    kind: Type.Literal('measured'),
    churn_rate: OrNull('Share of the labeled predictions that churned.'),
    roc_auc: Type.Object({
      ...IntervalFigure('ROC AUC (95 % interval by DeLong)').properties,
      reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the value is null: no labeled predictions, or only one class among them.' }),
    }),
    log_loss: PlainFigure('log loss (probabilities clipped to [1e-15, 1 - 1e-15])'),
    brier: PlainFigure('Brier score'),
    calibration: Type.Object({
      ece: OrNull('Expected calibration error over the bins: Σ rows/labeled · |mean_predicted − observed_churn_rate|.'),
      holdout_ece: OrNull('The same from the model card\'s bins.'),
      bins: Type.Array(PerformanceCalibrationBin),
    }),
    thresholds: Type.Array(PerformanceThreshold),
  }),
  estimated: EstimatedPerformance,
});

export const PerformanceReport = Type.Object(
  {
    window: Type.Object({
      since: Type.String({ description: 'Predictions recorded at or after this (ISO 8601, UTC).' }),
      until: Type.String({ description: 'Predictions recorded before this (ISO 8601, UTC).' }),
      horizon_days: Type.Integer({ description: 'How long after a prediction an outcome from the CRM counts for it, as the outcome source was asked.' }),
    }),
    computed_at: Type.String({ description: 'When the report was made (ISO 8601, UTC).' }),
    confidence_level: Type.Number({ description: 'Of every interval: 0.95.' }),
    served_model_version: Type.Union([Type.String(), Type.Null()], { description: 'The version whose model card gives the hold-out figures.' }),
    models: Type.Array(ModelPerformance, { description: 'One entry per model version that made predictions in the window, by version.' }),
  },
  { $id: 'PerformanceReport', title: 'PerformanceReport' },
);
export type PerformanceReport = Static<typeof PerformanceReport>;
export type ModelPerformance = Static<typeof ModelPerformance>;

export const PerformanceQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ description: 'Start of the window: an ISO 8601 date-time with its offset, or a date (midnight UTC); default: 30 days before `until`; at most `PREDICTION_LOG_RETENTION_DAYS` + 1 days (and never less than 30) before it.', examples: ['2026-11-01T00:00:00Z'] })),
    until: Type.Optional(Type.String({ description: 'End of the window (exclusive), in the same form; default: now.', examples: ['2026-12-01T00:00:00Z'] })),
  },
);
export type PerformanceQuery = Static<typeof PerformanceQuery>;

/** The 422 of a window query (since, until), as every report over a window of the prediction log answers it. */
export const WINDOW_422 = jsonResponse(ValidationErrorResponse, 'since or until is not an ISO 8601 date-time, the window does not end after it starts, or it spans more days than the prediction log keeps (PREDICTION_LOG_RETENTION_DAYS + 1, at least 30).', {
  statusCode: 422,
  error: 'Unprocessable Entity',
  message: 'since: Value error, since must be before until (2026-11-01T00:00:00.000Z).',
  detail: [{ type: 'value_error', loc: ['querystring', 'since'], msg: 'Value error, since must be before until (2026-11-01T00:00:00.000Z)', input: '2026-12-01T00:00:00Z' }],
});
