/**
 * The prediction log's SQLite inserts, on a thread of their own (one per process): a 500-row
 * insert costs 4 to 10 ms of SQLite work (the table and its indexes), and a WAL checkpoint inside a
 * commit can take longer; on the main thread that held every request for as long. This thread has
 * its own connection to the same file, so WAL mode serialises its writes with the other workers'
 * (WORKERS=N) and with the main thread's writes (outcomes, drift counts, retention, migrations).
 *
 * It imports nothing but Node's own modules: it runs as compiled JavaScript from dist/ and, under
 * the tests, as TypeScript with Node's type stripping.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

/** What the store gives the thread when it starts it. */
export interface InsertWorkerData {
  path: string;
  busyTimeoutMs: number;
  /** The INSERT statement, one `?` per column. */
  sql: string;
  columns: number;
}

/** One batch: its rows' values, row after row, `columns` values each. */
export interface InsertRequest {
  id: number;
  values: SQLInputValue[];
}

export interface InsertReply {
  id: number;
  error?: string;
}

const { path, busyTimeoutMs, sql, columns } = workerData as InsertWorkerData;
const database = new DatabaseSync(path, { timeout: busyTimeoutMs });
database.exec('PRAGMA synchronous = NORMAL');
/** Prepared at the first batch: the main thread has migrated the table by then. */
let statement: StatementSync | undefined;

function insert(values: readonly SQLInputValue[]): void {
  statement ??= database.prepare(sql);
  database.exec('BEGIN IMMEDIATE');
  try {
    for (let start = 0; start < values.length; start += columns) statement.run(...values.slice(start, start + columns));
    database.exec('COMMIT');
  } catch (error) {
    database.exec('ROLLBACK');
    throw error;
  }
}

parentPort!.on('message', ({ id, values }: InsertRequest) => {
  let reply: InsertReply;
  try {
    insert(values);
    reply = { id };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply);
});
