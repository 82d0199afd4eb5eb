import type { DriftMinuteCount } from '../data-plane/drift-minutes.js';
import type { FeatureRow } from '../data-plane/feature-rows.js';
import type { ModelRole } from '../data-plane/model.js';
import type { OutcomeWindow, ScoredOutcome } from '../monitoring/performance.js';
import type { PairedScore } from '../monitoring/comparison.js';

/** One score of one row, as the log keeps it: served to the caller, or a shadow score of a row another model answered. */
export interface PredictionRecord {
  /** Unique per record (a time-ordered UUID, see src/data-plane/time-ordered-id.ts): request ids repeat across replicas and restarts. */
  readonly predictionId: string;
  /** The place of the model that made this score. */
  readonly role: ModelRole;
  /** True when this score answered the caller; false for a shadow score. */
  readonly served: boolean;
  /** The same on every record of one input row: the served record's prediction id. */
  readonly rowKey: string;
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
  /** The plausibility checks the row failed (src/data-plane/plausibility.ts); empty or absent when it passed them all. */
  readonly implausible?: readonly string[];
}

/** Rows of one profile's bin, summed over a window's minute buckets. */
export interface DriftBinTotal {
  profile: string;
  bin: number;
  rows: number;
}

/** What the CRM observed about one customer, posted after the fact: churned, or stayed (renewed). */
export interface Outcome {
  readonly customerId: string;
  readonly observedAt: Date;
  readonly churned: boolean;
}

/**
 * What a post of outcomes did. Items are applied in order, as if posted one at a time: each is
 * `accepted` (new, or a correction: a different `churned` for a stored customer and time, which
 * replaces it; `corrected` counts those) or a duplicate (the value already stored, or sent earlier
 * in the same post), which changes nothing, so `accepted + duplicates` is the number of items.
 * `matched` and `unmatched` describe the distinct outcomes of the post (duplicates included): how
 * many label a prediction now, and how many wait for one; the same post twice gives the same two.
 */
export interface OutcomeCounts {
  accepted: number;
  corrected: number;
  duplicates: number;
  matched: number;
  unmatched: number;
}

/** One prediction of a window with its outcome (null while none labels it), as the performance report reads it. */
export type { OutcomeWindow, ScoredOutcome };

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
  /**
   * Stores outcomes (a new one, or a correction of a stored one) in one transaction, and counts
   * what it did. Unmatched outcomes are kept: a prediction recorded later may still match them,
   * since the join happens when predictions are read (see `scoredOutcomes` and src/prediction-log/outcomes.ts).
   */
  recordOutcomes(outcomes: readonly Outcome[], options: { horizonDays: number; receivedAt: Date }): Promise<OutcomeCounts>;
  /**
   * Every served prediction recorded in [since, until), oldest first, with the outcome that labels
   * it (the matching rule is in src/prediction-log/outcomes.ts), or null. Shadow scores are left
   * out: performance is about what callers got.
   */
  scoredOutcomes(window: OutcomeWindow): Promise<ScoredOutcome[]>;
  /**
   * Every row scored by both a champion and a challenger whose served record was recorded in
   * [since, until), oldest first: both scores, which one answered, and the outcome that labels the
   * served record (src/prediction-log/paired-scores.ts).
   */
  pairedScores(window: OutcomeWindow): Promise<PairedScore[]>;
  /** Deletes records older than `cutoff`; answers how many went. */
  deleteRecordedBefore(cutoff: Date): Promise<number>;
  /**
   * Deletes outcomes observed before `cutoff`; answers how many went. An outcome labels only a
   * prediction recorded before its observed_at, so once the predictions before `cutoff` are deleted
   * (deleteRecordedBefore, same cutoff) these have nothing left to label.
   */
  deleteOutcomesObservedBefore(cutoff: Date): Promise<number>;
  /**
   * Adds per-minute drift counts (one per minute, model, profile and bin) to the stored ones, in one
   * transaction: a failed call added nothing and may be retried with the same counts.
   */
  addDriftMinutes(counts: readonly DriftMinuteCount[]): Promise<void>;
  /** Rows per profile and bin of the model `modelSha256`, summed over the minute buckets from `sinceMs` on. */
  sumDriftMinutes(modelSha256: string, sinceMs: number): Promise<DriftBinTotal[]>;
  /** Deletes minute buckets older than `cutoff`; answers how many went. */
  deleteDriftMinutesBefore(cutoff: Date): Promise<number>;
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
  'implausible',
  'role',
  'served',
  'row_key',
] as const;

export type ColumnValue = string | number | null;

/**
 * A record's values in PREDICTION_COLUMNS order, written into `columns` when given: SQLite binds a
 * row at a time and reuses one array for every row of every batch instead of allocating one each.
 */
export function recordToColumns(record: PredictionRecord, columns: ColumnValue[] = new Array<ColumnValue>(PREDICTION_COLUMNS.length)): ColumnValue[] {
  const { features } = record;
  columns[0] = record.predictionId;
  columns[1] = record.recordedAt.getTime();
  columns[2] = record.requestId ?? null;
  columns[3] = record.customerId ?? null;
  columns[4] = record.protocol;
  columns[5] = record.modelName;
  columns[6] = record.modelVersion;
  columns[7] = record.modelSha256;
  columns[8] = features.tenure_months;
  columns[9] = features.monthly_charges;
  columns[10] = features.total_charges;
  columns[11] = features.num_products;
  columns[12] = features.has_support_calls;
  columns[13] = record.probability;
  columns[14] = record.prediction;
  columns[15] = record.tier;
  columns[16] = record.implausible && record.implausible.length > 0 ? record.implausible.join(',') : null;
  columns[17] = record.role;
  columns[18] = record.served ? 1 : 0;
  columns[19] = record.rowKey;
  return columns;
}

/** A row as either driver returns it (PostgreSQL hands BIGINT back as a string). */
export type StoredRow = Record<(typeof PREDICTION_COLUMNS)[number], unknown>;

export function rowToRecord(row: StoredRow): PredictionRecord {
  return {
    predictionId: String(row.prediction_id),
    role: row.role === 'challenger' ? 'challenger' : 'champion',
    served: Number(row.served) === 1,
    // Records from before the roles were logged have no key: each was a row of its own.
    rowKey: row.row_key === null ? String(row.prediction_id) : String(row.row_key),
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
    implausible: typeof row.implausible === 'string' && row.implausible !== '' ? row.implausible.split(',') : [],
  };
}
