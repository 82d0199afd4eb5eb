import { randomUUID } from 'node:crypto';
import type { PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';

/** A served champion record of the README's customer, with a fresh id (its own row key): what a test does not set. */
export function predictionRecord(overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  const predictionId = overrides.predictionId ?? randomUUID();
  return {
    predictionId,
    role: 'champion',
    served: true,
    rowKey: predictionId,
    recordedAt: new Date('2026-11-30T10:00:00.000Z'),
    requestId: 'req-1',
    customerId: '9237-HQITU',
    protocol: 'rest',
    modelName: 'churn',
    modelVersion: '1.2.0',
    modelSha256: 'ab'.repeat(32),
    features: { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
    probability: 0.8125,
    prediction: 1,
    tier: 'high',
    implausible: [],
    ...overrides,
  };
}
