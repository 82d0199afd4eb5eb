import type { Config } from '../config.js';
import type { CustomerFeatures } from '../schemas/customer-features.js';
import type { PredictionResponse, RiskTier } from '../schemas/prediction.js';

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
  probability: number,
  customer: Pick<CustomerFeatures, 'customer_id'>,
  modelVersion: string,
  thresholds: Thresholds,
): PredictionResponse {
  const prediction: PredictionResponse = {
    churn_probability: Math.round(probability * 10_000) / 10_000,
    churn_prediction: probability >= thresholds.prediction,
    risk_tier: riskTier(probability, thresholds),
    model_version: modelVersion,
  };
  if (customer.customer_id !== undefined) prediction.customer_id = customer.customer_id;
  return prediction;
}
