import { mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadMigrations, pendingMigrations, SCHEMA_MIGRATIONS_TABLE_SQL, type Migration } from './migrations.js';
import type { DriftMinuteCount } from '../data-plane/drift-minutes.js';
import { decodeRows, SQLITE_WORKER_ROLE, type ReadAnswer, type ReadRequest, type SqliteWorkerData } from './sqlite-worker.js';
import type { PairedScore } from '../monitoring/comparison.js';
import { pairedScoresQuery, rowToPairedScore } from './paired-scores.js';
import {
  matchedOutcomesQuery,
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
  type ColumnValue,
  type DriftBinTotal,
  type Outcome,
  type OutcomeCounts,
  type PredictionLogStore,
  type PredictionRecord,
  type OutcomeWindow,
  type ScoredOutcome,
  type StoredRow,
} from './prediction-log-store.js';

export const SQLITE_FILE_NAME = 'prediction-log.sqlite';

/**
 * How long a write waits for another worker's write lock (WORKERS=N share the file). node:sqlite
 * is synchronous, so this wait blocks the event loop: kept short, and a busy write is simply
 * retried by the writer with the next flush.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 100;

/** How often the background thread copies the WAL into the database (SQLite's own default is every ~4 MB of WAL). */
export const SQLITE_CHECKPOINT_INTERVAL_MS = 1_000;
/** SQLite's default: what the serving connection goes back to when the background thread is gone. */
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
/** The background thread's code: compiled JavaScript beside this file in dist/, TypeScript under the tests. */
const WORKER_URL = new URL(`./sqlite-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** Predictions the retention deletes in one transaction before it lets other work run (about 8 ms here; 200,000 took 1.5 s in slices against one stall of 0.76 s). */
export const RETENTION_SLICE_ROWS = 1_000;

/** Rows a long read maps on the serving thread before it lets other work run (about 5 ms). */
const DECODE_SLICE_ROWS = 25_000;

/** A read sent to the background thread, waiting for its rows. */
interface PendingRead {
  resolve: (answer: Extract<ReadAnswer, { rowCount: number }>) => void;
  reject: (error: Error) => void;
}

/**
 * The embedded store: one SQLite file under the data directory, in WAL mode so every worker of
 * WORKERS=N writes the same file (one writer at a time, readers never blocked).
 */
export class SqlitePredictionLogStore implements PredictionLogStore {
  readonly kind = 'sqlite';
  readonly #database: DatabaseSync;
  readonly #migrations: readonly Migration[];
  readonly #path: string;
  #insertStatement: StatementSync | undefined;
  /** One row's values, refilled for each row the insert binds. */
  readonly #columns: ColumnValue[] = new Array<ColumnValue>(PREDICTION_COLUMNS.length).fill(null);
  /** The background thread (sqlite-worker.ts): checkpoints and long reads. Gone after a failure until the next read. */
  #worker: Worker | undefined;
  readonly #pendingReads = new Map<number, PendingRead>();
  #readCount = 0;

  readonly #workerUrl: URL;

  /** `workerUrl` stands in for the background thread's code in the tests of its failures. */
  constructor(dataDir: string, migrations: readonly Migration[] = loadMigrations(), workerUrl: URL = WORKER_URL) {
    this.#workerUrl = workerUrl;
    mkdirSync(dataDir, { recursive: true });
    this.#path = join(dataDir, SQLITE_FILE_NAME);
    this.#database = new DatabaseSync(this.#path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    this.#migrations = migrations;
    this.#database.exec('PRAGMA journal_mode = WAL');
    this.#database.exec('PRAGMA synchronous = NORMAL');
    this.#startWorker();
  }

  /**
   * The background thread (sqlite-worker.ts): WAL checkpoints (and their fsyncs) and long reads off
   * this thread. While it runs, this connection's commits never checkpoint; should it fail or stop,
   * this connection checkpoints automatically again (so the WAL never grows without bound) until
   * the next read starts another thread. A failure also fails the reads it held.
   */
  #startWorker(): Worker {
    if (!this.#database.isOpen) throw new Error('prediction log: the SQLite store is closed');
    const data: SqliteWorkerData = { role: SQLITE_WORKER_ROLE, path: this.#path, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS, checkpointIntervalMs: SQLITE_CHECKPOINT_INTERVAL_MS };
    const worker = new Worker(this.#workerUrl, { workerData: data });
    // Never what keeps a process alive; a read in flight holds it only through its caller.
    worker.unref();
    this.#database.exec('PRAGMA wal_autocheckpoint = 0');
    worker.on('message', (answer: ReadAnswer) => {
      const pending = this.#pendingReads.get(answer.id);
      if (!pending) return;
      this.#pendingReads.delete(answer.id);
      if ('error' in answer) pending.reject(new Error(answer.error));
      else pending.resolve(answer);
    });
    const gone = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      if (this.#database.isOpen) this.#database.exec(`PRAGMA wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
      for (const pending of this.#pendingReads.values()) pending.reject(error);
      this.#pendingReads.clear();
    };
    worker.once('error', gone);
    worker.once('exit', (code) => gone(new Error(`prediction log: the SQLite background thread stopped (exit code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  /** Whether WAL checkpoints run on their own thread now (false: in this connection's commits). */
  get checkpointsOffThread(): boolean {
    return this.#worker !== undefined && Number((this.#database.prepare('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number }).wal_autocheckpoint) === 0;
  }

  get path(): string {
    return this.#path;
  }

  async migrate(): Promise<void> {
    const database = this.#database;
    // IMMEDIATE takes the write lock first, so two workers starting together migrate one after the other.
    database.exec('BEGIN IMMEDIATE');
    try {
      database.exec(SCHEMA_MIGRATIONS_TABLE_SQL);
      const row = database.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null } | undefined;
      for (const migration of pendingMigrations(this.#migrations, Number(row?.version ?? 0), this.#path)) {
        database.exec(migration.sql);
        database.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
      }
      database.exec('COMMIT');
    } catch (error) {
      database.exec('ROLLBACK');
      throw error;
    }
  }

  async insert(records: readonly PredictionRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Prepared once (after the migration made the table), then reused by every batch.
    this.#insertStatement ??= this.#database.prepare(
      `INSERT INTO predictions (${PREDICTION_COLUMNS.join(', ')}) VALUES (${PREDICTION_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (prediction_id) DO NOTHING`,
    );
    const statement = this.#insertStatement;
    this.#database.exec('BEGIN IMMEDIATE');
    try {
      for (const record of records) statement.run(...recordToColumns(record, this.#columns));
      this.#database.exec('COMMIT');
    } catch (error) {
      this.#database.exec('ROLLBACK');
      throw error;
    }
  }

  async recent(limit: number): Promise<PredictionRecord[]> {
    const rows = this.#database
      .prepare(`SELECT ${PREDICTION_COLUMNS.join(', ')} FROM predictions ORDER BY recorded_at_ms DESC, prediction_id LIMIT ?`)
      .all(limit) as unknown as StoredRow[];
    return rows.map(rowToRecord);
  }

  async recordOutcomes(outcomes: readonly Outcome[], options: { horizonDays: number; receivedAt: Date }): Promise<OutcomeCounts> {
    if (outcomes.length === 0) return { accepted: 0, corrected: 0, duplicates: 0, matched: 0, unmatched: 0 };
    const keys = outcomeKeys(outcomes);
    // Synchronous from BEGIN to COMMIT: nothing else on this connection comes between the steps.
    this.#database.exec('BEGIN IMMEDIATE');
    try {
      const { counts, writes } = planOutcomes(outcomes, storedByKey(this.#all(storedOutcomesQuery(keys))));
      if (writes.length > 0) this.#all(upsertOutcomesQuery(writes, options.receivedAt));
      const answer = outcomeCounts(counts, keys.length, this.#all(matchedOutcomesQuery(keys, options.horizonDays))[0]);
      this.#database.exec('COMMIT');
      return answer;
    } catch (error) {
      this.#database.exec('ROLLBACK');
      throw error;
    }
  }

  async scoredOutcomes(window: OutcomeWindow): Promise<ScoredOutcome[]> {
    return this.#readOffThread(scoredOutcomesQuery(window), rowToScoredOutcome);
  }

  async pairedScores(window: OutcomeWindow): Promise<PairedScore[]> {
    return this.#readOffThread(pairedScoresQuery(window), rowToPairedScore);
  }

  /**
   * A window's rows, read on the background thread (sqlite-worker.ts) so the serving thread answers
   * requests meanwhile; they come back as columns and are mapped here row by row.
   */
  async #readOffThread<T>({ sql, params }: SqlQuery, map: (row: Record<string, unknown>) => T): Promise<T[]> {
    const worker = this.#worker ?? this.#startWorker();
    const id = (this.#readCount += 1);
    const answer = await new Promise<Extract<ReadAnswer, { rowCount: number }>>((resolve, reject) => {
      this.#pendingReads.set(id, { resolve, reject });
      worker.postMessage({ id, sql, params: params as ReadRequest['params'] } satisfies ReadRequest);
    });
    // Mapped in slices with a turn of the event loop between them: a million rows are about 0.2 s of this thread.
    const mapped = new Array<T>(answer.rowCount);
    for (let from = 0; from < answer.rowCount; from += DECODE_SLICE_ROWS) {
      if (from > 0) await setImmediatePromise();
      decodeRows(answer.rowCount, answer.columns, map, mapped, from, Math.min(from + DECODE_SLICE_ROWS, answer.rowCount));
    }
    return mapped;
  }

  #all({ sql, params }: SqlQuery): Record<string, unknown>[] {
    return this.#database.prepare(sql).all(...params) as Record<string, unknown>[];
  }

  /**
   * In slices of RETENTION_SLICE_ROWS, each a transaction of its own found by the recorded_at_ms
   * index, with a turn of the event loop between them: a retention that finds a day of a busy log
   * (or weeks, after PREDICTION_LOG_RETENTION_DAYS was lowered) never holds the serving thread for all of it.
   */
  async deleteRecordedBefore(cutoff: Date): Promise<number> {
    const statement = this.#database.prepare(
      `DELETE FROM predictions WHERE rowid IN (SELECT rowid FROM predictions WHERE recorded_at_ms < ? LIMIT ${RETENTION_SLICE_ROWS})`,
    );
    let deleted = 0;
    for (;;) {
      const changes = Number(statement.run(cutoff.getTime()).changes);
      deleted += changes;
      if (changes < RETENTION_SLICE_ROWS || !this.#database.isOpen) return deleted;
      await setImmediatePromise();
      if (!this.#database.isOpen) return deleted;
    }
  }

  async deleteOutcomesObservedBefore(cutoff: Date): Promise<number> {
    const result = this.#database.prepare('DELETE FROM outcomes WHERE observed_at_ms < ?').run(cutoff.getTime());
    return Number(result.changes);
  }

  async addDriftMinutes(counts: readonly DriftMinuteCount[]): Promise<void> {
    if (counts.length === 0) return;
    const statement = this.#database.prepare(
      'INSERT INTO drift_minutes (model_sha256, minute_ms, profile, bin, row_count) VALUES (?, ?, ?, ?, ?) ON CONFLICT (model_sha256, minute_ms, profile, bin) DO UPDATE SET row_count = row_count + excluded.row_count',
    );
    this.#database.exec('BEGIN IMMEDIATE');
    try {
      for (const count of counts) statement.run(count.modelSha256, count.minuteMs, count.profile, count.bin, count.rows);
      this.#database.exec('COMMIT');
    } catch (error) {
      this.#database.exec('ROLLBACK');
      throw error;
    }
  }

  async sumDriftMinutes(modelSha256: string, sinceMs: number): Promise<DriftBinTotal[]> {
    const rows = this.#database
      .prepare('SELECT profile, bin, SUM(row_count) AS row_count FROM drift_minutes WHERE model_sha256 = ? AND minute_ms >= ? GROUP BY profile, bin')
      .all(modelSha256, sinceMs) as { profile: string; bin: number; row_count: number }[];
    return rows.map((row) => ({ profile: String(row.profile), bin: Number(row.bin), rows: Number(row.row_count) }));
  }

  async deleteDriftMinutesBefore(cutoff: Date): Promise<number> {
    return Number(this.#database.prepare('DELETE FROM drift_minutes WHERE minute_ms < ?').run(cutoff.getTime()).changes);
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await stopThread(worker);
    for (const pending of this.#pendingReads.values()) pending.reject(new Error('prediction log: the SQLite store is closed'));
    this.#pendingReads.clear();
    if (this.#database.isOpen) this.#database.close();
  }
}

/** Asks the background thread to stop (it closes its connections first), and cuts it off if it has not within a second. */
async function stopThread(thread: Worker): Promise<void> {
  const exited = new Promise((resolve) => thread.once('exit', resolve));
  thread.postMessage('close');
  const timer = setTimeout(() => void thread.terminate(), 1_000);
  await exited;
  clearTimeout(timer);
}
