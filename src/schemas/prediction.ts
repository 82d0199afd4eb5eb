import { Type, type Static } from '@sinclair/typebox';
import { CustomerId } from './customer-features.js';
import { EXAMPLE_MODEL_VERSION, EXAMPLE_PREDICTION } from './examples.js';
import { Explanation } from './explanation.js';
import { sharedRef } from './shared-ref.js';
import { StringEnum } from './string-enum.js';

export const RiskTier = StringEnum(['HIGH', 'MEDIUM', 'LOW'], {
  description: 'HIGH when the unrounded probability reaches HIGH_RISK_THRESHOLD (default 0.7), MEDIUM when it reaches MEDIUM_RISK_THRESHOLD (default 0.4), else LOW.',
});
export type RiskTier = Static<typeof RiskTier>;

export const PredictionResponse = Type.Object(
  {
    churn_probability: Type.Number({
      minimum: 0,
      maximum: 1,
      description: 'Probability that the customer churns, from 0 to 1, rounded to 4 decimals. Calibrated on the training population only (see GET /model).',
      examples: [EXAMPLE_PREDICTION.churn_probability],
    }),
    churn_prediction: Type.Boolean({
      description: 'True when the unrounded probability reaches PREDICTION_THRESHOLD (default 0.5).',
    }),
    risk_tier: RiskTier,
    model_version: Type.String({ description: 'Version of the model that answered.', examples: [EXAMPLE_MODEL_VERSION] }),
    customer_id: Type.Optional(CustomerId),
    explanation: Type.Optional(sharedRef(Explanation, { description: 'Only with ?explain=true.' })),
  },
  { $id: 'PredictionResponse', title: 'PredictionResponse' },
);
export type PredictionResponse = Static<typeof PredictionResponse>;
