import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';

const Range = Type.Object({ min: Type.Number(), max: Type.Number() });

export const CardFeature = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  name: Type.String(),
  type: StringEnum(['integer', 'number']),
  unit: Type.String(),
  valid_range: Type.Object({ min: Type.Number(), max: Type.Number(), inclusive: Type.Boolean() }, { description: 'What the API accepts.' }),
  observed_range_in_training_data: Range,
  description: Type.String(),
});

export const CalibrationBin = Type.Object({
  lower: Type.Number({ description: 'Lower edge of the predicted-probability bin (inclusive).' }),
  upper: Type.Number({ description: 'Upper edge (exclusive, except 1.0).' }),
  rows: Type.Integer({ description: 'Hold-out customers whose probability fell in the bin.' }),
  mean_predicted: Type.Union([Type.Number(), Type.Null()]),
  observed_churn_rate: Type.Union([Type.Number(), Type.Null()], { description: 'Share of them who churned; null for an empty bin.' }),
});

export const OperatingPoint = Type.Object({
  threshold: Type.Number({ description: 'Flag a customer when P(churn) >= this.' }),
  flagged: Type.Integer({ description: 'Hold-out customers flagged.' }),
  flagged_share: Type.Number({ description: 'Share of hold-out customers flagged.' }),
  precision: Type.Union([Type.Number(), Type.Null()], { description: 'Share of the flagged who churned; null when none is flagged.' }),
  recall: Type.Number({ description: 'Share of the churners who were flagged.' }),
});

export const DriftFeatureReference = Type.Union([
  Type.Object({ name: Type.String(), kind: Type.Literal('bins'), edges: Type.Array(Type.Number()), shares: Type.Array(Type.Number()) }),
  Type.Object({ name: Type.String(), kind: Type.Literal('values'), values: Type.Array(Type.Number()), shares: Type.Array(Type.Number()) }),
]);

/**
 * The parts of models/model_card.json the service reads and serves. training/train.py writes the
 * card beside the model, bound to it both ways (see model-card-file.ts); extra fields are allowed.
 */
export const ModelCard = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.String(),
    created: Type.String({ description: 'Day the model was trained (UTC).' }),
    description: Type.String(),
    intended_use: Type.Array(Type.String()),
    limitations: Type.Array(Type.String()),
    features: Type.Array(CardFeature, { description: 'In the model\'s column order, with units, valid ranges and what training covered.' }),
    onnx: Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }), size_bytes: Type.Integer() }),
    training_data: Type.Object({
      name: Type.String(),
      license: Type.String(),
      rows_total: Type.Integer(),
      rows_train: Type.Integer(),
      rows_holdout: Type.Integer(),
      churn_rate_total: Type.Number(),
    }),
    selection: Type.String({ description: 'How the model was chosen among the candidates.' }),
    holdout_metrics: Type.Object(
      { roc_auc: Type.Number(), log_loss: Type.Number(), brier_score: Type.Number(), accuracy_at_0_5: Type.Number() },
      { description: 'Measured once, for the chosen model, on customers it never saw in training.' },
    ),
    calibration: Type.Array(CalibrationBin, { description: 'Hold-out customers by predicted probability: predicted against observed churn.' }),
    operating_points: Type.Array(OperatingPoint, { description: 'What flagging at each threshold does on the hold-out customers.' }),
    explainability: Type.Object({
      method: Type.String(),
      output: Type.String(),
      base_value: Type.Number(),
      global_importance: Type.Array(Type.Object({ feature: Type.String(), mean_abs_shap: Type.Number() }), {
        description: 'Mean absolute SHAP value of each feature over the training data, in log-odds.',
      }),
      caveats: Type.Array(Type.String()),
    }),
    drift_reference: Type.Object({
      rows: Type.Integer(),
      bin_rule: Type.String(),
      features: Type.Array(DriftFeatureReference),
      score: DriftFeatureReference,
    }),
  },
  { $id: 'ModelCard', title: 'ModelCard', additionalProperties: true },
);
export type ModelCard = Static<typeof ModelCard>;
export type DriftFeatureReference = Static<typeof DriftFeatureReference>;
