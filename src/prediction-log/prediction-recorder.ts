import { riskTier, type Thresholds } from '../churn-api/prediction-mapping.js';
import type { DataPlaneObserver, Score } from '../data-plane/data-plane.js';
import type { FeatureRow } from '../data-plane/feature-rows.js';
import { implausibleChecks } from '../data-plane/plausibility.js';
import { timeOrderedUuids } from '../data-plane/time-ordered-id.js';
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
  // One record per row of every request: built as one literal of one shape, the row itself as its
  // features (rows are never changed once scored, and only their five features are written), so a
  // 100-row batch costs the collector 100 records rather than several objects each (bench/README.md,
  // the prediction log's allocations).
  const toRecord = (
    score: Score,
    row: FeatureRow,
    predictionId: string,
    rowKey: string,
    served: boolean,
    protocol: string,
    requestId: string | undefined,
    customerId: string | undefined,
    recordedAt: Date,
  ): PredictionRecord => ({
    predictionId,
    rowKey,
    served,
    protocol,
    requestId,
    customerId,
    recordedAt,
    role: score.role,
    modelName,
    modelVersion: score.model.version,
    modelSha256: score.model.sha256,
    features: row,
    probability: score.probability,
    prediction: score.probability >= thresholds.prediction ? 1 : 0,
    tier: riskTier(score.probability, thresholds),
    implausible: implausibleChecks(row),
  });
  return {
    predictionsServed: ({ protocol, scores, requestId, rows, rowKeys, customerIds }) => {
      const recordedAt = new Date();
      const records: PredictionRecord[] = new Array(scores.length);
      for (let index = 0; index < scores.length; index += 1) {
        records[index] = toRecord(scores[index]!, rows[index]!, rowKeys[index]!, rowKeys[index]!, true, protocol, requestId, customerIds?.[index], recordedAt);
      }
      writer.record(records);
    },
    shadowScored: ({ scores, rows, rowKeys, protocols, requestIds, customerIds }) => {
      const recordedAt = new Date();
      const ids = timeOrderedUuids(scores.length, recordedAt.getTime());
      const records: PredictionRecord[] = new Array(scores.length);
      for (let index = 0; index < scores.length; index += 1) {
        records[index] = toRecord(scores[index]!, rows[index]!, ids[index]!, rowKeys[index]!, false, protocols[index]!, requestIds[index], customerIds[index], recordedAt);
      }
      writer.record(records);
    },
  };
}
