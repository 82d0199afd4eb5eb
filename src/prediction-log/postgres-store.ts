import { createRequire } from 'node:module';
import type pg from 'pg';
import { loadMigrations, pendingMigrations, SCHEMA_MIGRATIONS_TABLE_SQL, type Migration } from './migrations.js';
import type { DriftMinuteCount } from '../data-plane/drift-minutes.js';
import type { PairedScore } from '../monitoring/comparison.js';
import { pairedScoresQuery, rowToPairedScore } from './paired-scores.js';
import {
  matchedOutcomesQuery,
  numberedPlaceholders,
  outcomeCounts,
  outcomeKeys,
  planOutcomes,
  rowToScoredOutcome,
  scoredOutcomesQuery,
  storedByKey,
  storedOutcomesQuery,
  upsertOutcomesQuery,
  type SqlQuery,
} from './outcomes.js';
import {
  PREDICTION_COLUMNS,
  recordToColumns,
  rowToRecord,
  type DriftBinTotal,
  type Outcome,
  type OutcomeCounts,
  type PredictionLogStore,
  type PredictionRecord,
  type OutcomeWindow,
  type ScoredOutcome,
  type StoredRow,
} from './prediction-log-store.js';

/** Any constant key: replicas starting together take this lock and migrate one after the other. */
const MIGRATION_LOCK_KEY = 7_340_221;
/**
 * Posts of outcomes take this lock for their transaction, one after the other across replicas: the
 * counts (new, correction, duplicate) read what is stored before writing, and two posts of the same
 * outcome at once must not both count it new. Posts come from a CRM now and then, so the wait is nil.
 */
const OUTCOMES_LOCK_KEY = 7_340_222;

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema to use instead of the connection's search_path (tests get a fresh one each run). */
  schema?: string;
  /** A query that takes longer fails, so a hung database never holds the writer forever. */
  statementTimeoutMs?: number;
  migrations?: readonly Migration[];
}

/** pg, loaded when a PostgreSQL store is made: not on the start of a service that logs to SQLite. */
const loadPg = () => createRequire(import.meta.url)('pg') as typeof pg;

/** The shared store for several replicas: one PostgreSQL database, one log. */
export class PostgresPredictionLogStore implements PredictionLogStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #migrations: readonly Migration[];
  readonly #schema: string | undefined;

  constructor(options: PostgresStoreOptions) {
    const timeout = options.statementTimeoutMs ?? 10_000;
    this.#schema = options.schema;
    const searchPath = options.schema === undefined ? '' : ` -c search_path=${options.schema}`;
    this.#pool = new (loadPg().Pool)({
      connectionString: options.connectionString,
      max: 2,
      connectionTimeoutMillis: timeout,
      options: `-c statement_timeout=${timeout}${searchPath}`,
    });
    // An idle connection the server drops must not crash the process; the next query reconnects.
    this.#pool.on('error', () => undefined);
    this.#migrations = options.migrations ?? loadMigrations();
  }

  async migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      // A migration may build an index over every logged row: minutes on a large log, where the
      // connections' statement timeout would roll it back at every attempt, so the log never
      // came up. This transaction alone runs without one (waiting for another replica's lock too).
      await client.query('SET LOCAL statement_timeout = 0');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(SCHEMA_MIGRATIONS_TABLE_SQL);
      const { rows } = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
      const where = `PostgreSQL${this.#schema === undefined ? '' : ` schema ${this.#schema}`}`;
      for (const migration of pendingMigrations(this.#migrations, Number(rows[0]?.version ?? 0), where)) {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async insert(records: readonly PredictionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const width = PREDICTION_COLUMNS.length;
    const placeholders = records.map((_, row) => `(${PREDICTION_COLUMNS.map((__, column) => `$${row * width + column + 1}`).join(', ')})`);
    // One multi-row INSERT is one transaction: a batch lands whole or not at all.
    await this.#pool.query(`INSERT INTO predictions (${PREDICTION_COLUMNS.join(', ')}) VALUES ${placeholders.join(', ')} ON CONFLICT (prediction_id) DO NOTHING`, records.flatMap((record) => recordToColumns(record)));
  }

  async recent(limit: number): Promise<PredictionRecord[]> {
    const { rows } = await this.#pool.query<StoredRow>(
      `SELECT ${PREDICTION_COLUMNS.join(', ')} FROM predictions ORDER BY recorded_at_ms DESC, prediction_id LIMIT $1`,
      [limit],
    );
    return rows.map(rowToRecord);
  }

  async recordOutcomes(outcomes: readonly Outcome[], options: { horizonDays: number; receivedAt: Date }): Promise<OutcomeCounts> {
    if (outcomes.length === 0) return { accepted: 0, corrected: 0, duplicates: 0, matched: 0, unmatched: 0 };
    const keys = outcomeKeys(outcomes);
    const client = await this.#pool.connect();
    const all = async ({ sql, params }: SqlQuery) => (await client.query<Record<string, unknown>>(numberedPlaceholders(sql), params)).rows;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [OUTCOMES_LOCK_KEY]);
      const { counts, writes } = planOutcomes(outcomes, storedByKey(await all(storedOutcomesQuery(keys))));
      if (writes.length > 0) await all(upsertOutcomesQuery(writes, options.receivedAt));
      const answer = outcomeCounts(counts, keys.length, (await all(matchedOutcomesQuery(keys, options.horizonDays)))[0]);
      await client.query('COMMIT');
      return answer;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async scoredOutcomes(window: OutcomeWindow): Promise<ScoredOutcome[]> {
    const { sql, params } = scoredOutcomesQuery(window);
    const { rows } = await this.#pool.query<Record<string, unknown>>(numberedPlaceholders(sql), params);
    return rows.map(rowToScoredOutcome);
  }

  async pairedScores(window: OutcomeWindow): Promise<PairedScore[]> {
    const { sql, params } = pairedScoresQuery(window);
    const { rows } = await this.#pool.query<Record<string, unknown>>(numberedPlaceholders(sql), params);
    return rows.map(rowToPairedScore);
  }

  async deleteRecordedBefore(cutoff: Date): Promise<number> {
    const result = await this.#pool.query('DELETE FROM predictions WHERE recorded_at_ms < $1', [cutoff.getTime()]);
    return result.rowCount ?? 0;
  }

  async deleteOutcomesObservedBefore(cutoff: Date): Promise<number> {
    const result = await this.#pool.query('DELETE FROM outcomes WHERE observed_at_ms < $1', [cutoff.getTime()]);
    return result.rowCount ?? 0;
  }

  async addDriftMinutes(counts: readonly DriftMinuteCount[]): Promise<void> {
    if (counts.length === 0) return;
    // One statement with one array per column, whatever the number of counts: one transaction, five parameters.
    await this.#pool.query(
      `INSERT INTO drift_minutes (model_sha256, minute_ms, profile, bin, row_count)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::integer[], $5::bigint[])
       ON CONFLICT (model_sha256, minute_ms, profile, bin) DO UPDATE SET row_count = drift_minutes.row_count + excluded.row_count`,
      [counts.map((count) => count.modelSha256), counts.map((count) => count.minuteMs), counts.map((count) => count.profile), counts.map((count) => count.bin), counts.map((count) => count.rows)],
    );
  }

  async sumDriftMinutes(modelSha256: string, sinceMs: number): Promise<DriftBinTotal[]> {
    const { rows } = await this.#pool.query<{ profile: string; bin: number; row_count: string }>(
      'SELECT profile, bin, SUM(row_count) AS row_count FROM drift_minutes WHERE model_sha256 = $1 AND minute_ms >= $2 GROUP BY profile, bin',
      [modelSha256, sinceMs],
    );
    return rows.map((row) => ({ profile: String(row.profile), bin: Number(row.bin), rows: Number(row.row_count) }));
  }

  async deleteDriftMinutesBefore(cutoff: Date): Promise<number> {
    return (await this.#pool.query('DELETE FROM drift_minutes WHERE minute_ms < $1', [cutoff.getTime()])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
