import { riskTier, type Thresholds } from '../churn-api/prediction-mapping.js';
import type { DataPlaneObserver } from '../data-plane/data-plane.js';
import { implausibleChecks } from '../data-plane/plausibility.js';
import { timeOrderedUuid } from './prediction-id.js';
import type { PredictionRecord } from './prediction-log-store.js';

/**
 * The data-plane observer that turns predictions served into log records and hands them to the
 * writer. The served prediction and tier follow the churn API's thresholds, so a record from any
 * protocol carries the answer the REST API gives for that probability.
 */
export function predictionRecorder(
  writer: { record(records: readonly PredictionRecord[]): void },
  { modelName, thresholds }: { modelName: string; thresholds: Thresholds },
): DataPlaneObserver {
  return {
    predictionsServed: ({ protocol, scores, requestId, rows, customerIds }) => {
      const recordedAt = new Date();
      const recordedAtMs = recordedAt.getTime();
      const records = scores.map((score, index): PredictionRecord => {
        const row = rows[index]!;
        return {
          predictionId: timeOrderedUuid(recordedAtMs),
          recordedAt,
          requestId,
          customerId: customerIds?.[index],
          protocol,
          modelName,
          modelVersion: score.model.version,
          modelSha256: score.model.sha256,
          // Only the five features: a REST row also carries customer_id and whatever else the caller sent.
          features: {
            tenure_months: row.tenure_months,
            monthly_charges: row.monthly_charges,
            total_charges: row.total_charges,
            num_products: row.num_products,
            has_support_calls: row.has_support_calls,
          },
          probability: score.probability,
          prediction: score.probability >= thresholds.prediction ? 1 : 0,
          tier: riskTier(score.probability, thresholds),
          implausible: implausibleChecks(row),
        };
      });
      writer.record(records);
    },
  };
}
