import { Type, type Static } from '@sinclair/typebox';
import { CustomerId } from './customer-features.js';

export const RiskTier = Type.Union([Type.Literal('HIGH'), Type.Literal('MEDIUM'), Type.Literal('LOW')], {
  description: 'HIGH when the probability reaches the high-risk threshold, MEDIUM when it reaches the medium one, else LOW.',
});
export type RiskTier = Static<typeof RiskTier>;

export const PredictionResponse = Type.Object(
  {
    churn_probability: Type.Number({
      minimum: 0,
      maximum: 1,
      description: 'Probability that the customer churns, rounded to 4 decimals.',
      examples: [0.6321],
    }),
    churn_prediction: Type.Boolean({
      description: 'True when the unrounded probability reaches the prediction threshold (default 0.5).',
    }),
    risk_tier: RiskTier,
    model_version: Type.String({ description: 'Version of the model that answered.', examples: ['1.0.0'] }),
    customer_id: Type.Optional(CustomerId),
  },
  { $id: 'PredictionResponse', title: 'PredictionResponse' },
);
export type PredictionResponse = Static<typeof PredictionResponse>;
