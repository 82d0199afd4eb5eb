import { riskTier, type Thresholds } from '../churn-api/prediction-mapping.js';
import type { DataPlaneObserver, Score } from '../data-plane/data-plane.js';
import { featuresOf, type FeatureRow } from '../data-plane/feature-rows.js';
import { implausibleChecks } from '../data-plane/plausibility.js';
import { timeOrderedUuid } from '../data-plane/time-ordered-id.js';
import type { PredictionRecord } from './prediction-log-store.js';

/**
 * The data-plane observer that turns predictions served, and the shadow scores of the same rows,
 * into log records and hands them to the writer. A served record's prediction id is the row's key,
 * and its shadow record carries that key too, so the pair is found by row_key. The prediction and
 * tier follow the churn API's thresholds, so a record from any protocol carries the answer the
 * REST API gives for that probability.
 */
export function predictionRecorder(
  writer: { record(records: readonly PredictionRecord[]): void },
  { modelName, thresholds }: { modelName: string; thresholds: Thresholds },
): DataPlaneObserver {
  const toRecord = (
    score: Score,
    row: FeatureRow,
    ids: Pick<PredictionRecord, 'predictionId' | 'rowKey' | 'served' | 'protocol' | 'requestId' | 'customerId'>,
    recordedAt: Date,
  ): PredictionRecord => ({
    ...ids,
    recordedAt,
    role: score.role,
    modelName,
    modelVersion: score.model.version,
    modelSha256: score.model.sha256,
    features: featuresOf(row),
    probability: score.probability,
    prediction: score.probability >= thresholds.prediction ? 1 : 0,
    tier: riskTier(score.probability, thresholds),
    implausible: implausibleChecks(row),
  });
  return {
    predictionsServed: ({ protocol, scores, requestId, rows, rowKeys, customerIds }) => {
      const recordedAt = new Date();
      writer.record(
        scores.map((score, index) =>
          toRecord(score, rows[index]!, { predictionId: rowKeys[index]!, rowKey: rowKeys[index]!, served: true, protocol, requestId, customerId: customerIds?.[index] }, recordedAt),
        ),
      );
    },
    shadowScored: ({ scores, rows, rowKeys, protocols, requestIds, customerIds }) => {
      const recordedAt = new Date();
      writer.record(
        scores.map((score, index) =>
          toRecord(
            score,
            rows[index]!,
            { predictionId: timeOrderedUuid(recordedAt.getTime()), rowKey: rowKeys[index]!, served: false, protocol: protocols[index]!, requestId: requestIds[index], customerId: customerIds[index] },
            recordedAt,
          ),
        ),
      );
    },
  };
}
