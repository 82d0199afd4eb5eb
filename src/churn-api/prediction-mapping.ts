import type { Config } from '../config.js';
import type { ModelInfo } from '../data-plane/model.js';
import type { CustomerFeatures } from '../schemas/customer-features.js';
import type { PredictionResponse, RiskTier } from '../schemas/prediction.js';

/** How the churn API turns a probability into a yes/no and a tier; the data plane knows none of it. */
export interface Thresholds {
  prediction: number;
  highRisk: number;
  mediumRisk: number;
}

export function thresholdsFrom(config: Config): Thresholds {
  return {
    prediction: config.PREDICTION_THRESHOLD,
    highRisk: config.HIGH_RISK_THRESHOLD,
    mediumRisk: config.MEDIUM_RISK_THRESHOLD,
  };
}

export function riskTier(probability: number, thresholds: Thresholds): RiskTier {
  if (probability >= thresholds.highRisk) return 'HIGH';
  if (probability >= thresholds.mediumRisk) return 'MEDIUM';
  return 'LOW';
}

/** Thresholds compare the unrounded probability; only the reported number is rounded. */
export function toPrediction(
  { probability, model }: { probability: number; model: ModelInfo },
  customer: Pick<CustomerFeatures, 'customer_id'>,
  thresholds: Thresholds,
): PredictionResponse {
  const prediction: PredictionResponse = {
    churn_probability: Math.round(probability * 10_000) / 10_000,
    churn_prediction: probability >= thresholds.prediction,
    risk_tier: riskTier(probability, thresholds),
    model_version: model.version,
  };
  if (customer.customer_id !== undefined) prediction.customer_id = customer.customer_id;
  return prediction;
}

/** Milliseconds as the API reports them: 2 decimals. */
export function roundLatency(ms: number): number {
  return Math.round(ms * 100) / 100;
}
