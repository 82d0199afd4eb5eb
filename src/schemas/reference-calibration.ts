import { Type, type Static } from '@sinclair/typebox';

/**
 * models/churn_model.calibration.json: the reference calibrator training/reference_calibration.py
 * fits on the hold-out customers (isotonic regression of their outcomes on the served
 * probabilities, as NannyML's CBPE calibrates on its reference data). Bound to the model file by
 * its sha256; extra fields are allowed.
 */
export const ReferenceCalibration = Type.Object(
  {
    model_version: Type.String(),
    model_sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the model file the calibrator was fitted for.' }),
    method: Type.String(),
    fitted_on: Type.Object({ rows: Type.Integer({ minimum: 1 }), source: Type.String() }),
    x_thresholds: Type.Array(Type.Number(), { minItems: 1, description: 'Served probabilities, strictly increasing.' }),
    y_thresholds: Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { minItems: 1, description: 'Calibrated probabilities at x_thresholds, non-decreasing.' }),
  },
  { additionalProperties: true },
);
export type ReferenceCalibration = Static<typeof ReferenceCalibration>;
