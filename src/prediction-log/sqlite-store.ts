import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { loadMigrations, pendingMigrations, SCHEMA_MIGRATIONS_TABLE_SQL, type Migration } from './migrations.js';
import { PREDICTION_COLUMNS, recordToColumns, rowToRecord, type PredictionLogStore, type PredictionRecord, type StoredRow } from './prediction-log-store.js';

export const SQLITE_FILE_NAME = 'prediction-log.sqlite';

/**
 * How long a write waits for another worker's write lock (WORKERS=N share the file). node:sqlite
 * is synchronous, so this wait blocks the event loop: kept short, and a busy write is simply
 * retried by the writer with the next flush.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 100;

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

  constructor(dataDir: string, migrations: readonly Migration[] = loadMigrations()) {
    mkdirSync(dataDir, { recursive: true });
    this.#path = join(dataDir, SQLITE_FILE_NAME);
    this.#database = new DatabaseSync(this.#path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    this.#migrations = migrations;
    this.#database.exec('PRAGMA journal_mode = WAL');
    this.#database.exec('PRAGMA synchronous = NORMAL');
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
      for (const record of records) statement.run(...recordToColumns(record));
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

  async deleteRecordedBefore(cutoff: Date): Promise<number> {
    const result = this.#database.prepare('DELETE FROM predictions WHERE recorded_at_ms < ?').run(cutoff.getTime());
    return Number(result.changes);
  }

  async close(): Promise<void> {
    if (this.#database.isOpen) this.#database.close();
  }
}
