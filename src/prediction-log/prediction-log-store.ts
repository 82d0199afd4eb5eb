import type { FeatureRow } from '../data-plane/feature-rows.js';

/** One prediction served, as the log keeps it. */
export interface PredictionRecord {
  /** Unique per record (a time-ordered UUID, see prediction-id.ts): request ids repeat across replicas and restarts. */
  readonly predictionId: string;
  readonly recordedAt: Date;
  readonly requestId: string | undefined;
  readonly customerId: string | undefined;
  readonly protocol: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly modelSha256: string;
  readonly features: FeatureRow;
  readonly probability: number;
  readonly prediction: 0 | 1;
  readonly tier: string;
}

/**
 * Where the prediction log lives: embedded SQLite or a shared PostgreSQL. Both run the same SQL
 * migrations (src/prediction-log/migrations) and pass the same contract tests.
 */
export interface PredictionLogStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema; refuses a schema newer than this code knows. */
  migrate(): Promise<void>;
  /**
   * Writes a batch in one transaction. Idempotent: a record whose prediction id is already stored
   * is skipped, so a batch retried after a lost acknowledgement is never logged twice.
   */
  insert(records: readonly PredictionRecord[]): Promise<void>;
  /** The newest records first, at most `limit` of them. */
  recent(limit: number): Promise<PredictionRecord[]>;
  /** Deletes records older than `cutoff`; answers how many went. */
  deleteRecordedBefore(cutoff: Date): Promise<number>;
  close(): Promise<void>;
}

/** Column order of the predictions table, shared by both stores' INSERT statements. */
export const PREDICTION_COLUMNS = [
  'prediction_id',
  'recorded_at_ms',
  'request_id',
  'customer_id',
  'protocol',
  'model_name',
  'model_version',
  'model_sha256',
  'tenure_months',
  'monthly_charges',
  'total_charges',
  'num_products',
  'has_support_calls',
  'probability',
  'prediction',
  'tier',
] as const;

type ColumnValue = string | number | null;

export function recordToColumns(record: PredictionRecord): ColumnValue[] {
  const { features } = record;
  return [
    record.predictionId,
    record.recordedAt.getTime(),
    record.requestId ?? null,
    record.customerId ?? null,
    record.protocol,
    record.modelName,
    record.modelVersion,
    record.modelSha256,
    features.tenure_months,
    features.monthly_charges,
    features.total_charges,
    features.num_products,
    features.has_support_calls,
    record.probability,
    record.prediction,
    record.tier,
  ];
}

/** A row as either driver returns it (PostgreSQL hands BIGINT back as a string). */
export type StoredRow = Record<(typeof PREDICTION_COLUMNS)[number], unknown>;

export function rowToRecord(row: StoredRow): PredictionRecord {
  return {
    predictionId: String(row.prediction_id),
    recordedAt: new Date(Number(row.recorded_at_ms)),
    requestId: row.request_id === null ? undefined : String(row.request_id),
    customerId: row.customer_id === null ? undefined : String(row.customer_id),
    protocol: String(row.protocol),
    modelName: String(row.model_name),
    modelVersion: String(row.model_version),
    modelSha256: String(row.model_sha256),
    features: {
      tenure_months: Number(row.tenure_months),
      monthly_charges: Number(row.monthly_charges),
      total_charges: Number(row.total_charges),
      num_products: Number(row.num_products),
      has_support_calls: Number(row.has_support_calls),
    },
    probability: Number(row.probability),
    prediction: Number(row.prediction) === 1 ? 1 : 0,
    tier: String(row.tier),
  };
}
