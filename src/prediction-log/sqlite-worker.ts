/**
 * The prediction log's one background thread (one per process), for the SQLite work that would
 * hold the serving thread: node:sqlite answers synchronously. A Node.js thread costs about 19 MB of
 * resident memory, so both jobs share this one.
 *
 * WAL checkpoints. SQLite's automatic checkpoint runs inside the commit that fills the WAL, on the
 * connection that commits: the serving thread, which then waited for two fsyncs (the WAL, then the
 * database), up to a quarter of a second each on a busy disk. Here they run on a timer with a
 * connection of their own; the serving connection's automatic checkpoints are off while this
 * thread runs.
 *
 * Long reads (the performance report's and the comparison's windows), on a read-only connection
 * opened by the first: on the serving thread, a 30-day window of a busy log stopped every answer
 * for seconds (about 0.3 s per 100,000 predictions), at every refresh of the performance gauges. In
 * WAL mode it reads the last committed state and never blocks the writer; a checkpoint due during
 * a read waits for its end.
 *
 * The rows go back column by column: numbers in one Float64Array (NaN for NULL, which SQLite never
 * stores as a number), text as a list of distinct strings and one index per row, so a window of
 * millions of rows crosses threads as a few transferred buffers instead of millions of cloned objects.
 *
 * It imports nothing but Node's own modules: it runs as compiled JavaScript from dist/ and, under
 * the tests, as TypeScript with Node's type stripping. The store sends the SQL with each read.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

/** What the store gives the thread when it starts it. */
export interface SqliteWorkerData {
  /** Marks this thread: the module is also imported elsewhere (for the codec), where it must not start. */
  role: typeof SQLITE_WORKER_ROLE;
  path: string;
  busyTimeoutMs: number;
  checkpointIntervalMs: number;
}

export const SQLITE_WORKER_ROLE = 'prediction-log-sqlite';

/** A read the store asks for: `id` pairs it with its answer. 'close' ends the thread. */
export interface ReadRequest {
  id: number;
  sql: string;
  params: SQLInputValue[];
}

/** One column of a read's rows. */
export type EncodedColumn =
  | { name: string; kind: 'number'; values: Float64Array<ArrayBuffer> }
  | { name: string; kind: 'text'; dictionary: (string | null)[]; indexes: Uint32Array<ArrayBuffer> };

export type ReadAnswer = { id: number; rowCount: number; columns: EncodedColumn[] } | { id: number; error: string };

/** Rows as columns: numbers (or NULL) as one typed array, anything else as a dictionary of strings (or NULL). */
export function encodeRows(rows: readonly Record<string, unknown>[], names: readonly string[]): EncodedColumn[] {
  return names.map((name): EncodedColumn => {
    if (rows.every((row) => row[name] === null || typeof row[name] === 'number')) {
      const values = new Float64Array(rows.length);
      for (let index = 0; index < rows.length; index += 1) values[index] = rows[index]![name] === null ? Number.NaN : (rows[index]![name] as number);
      return { name, kind: 'number', values };
    }
    const dictionary: (string | null)[] = [];
    const known = new Map<string | null, number>();
    const indexes = new Uint32Array(rows.length);
    for (let index = 0; index < rows.length; index += 1) {
      const raw = rows[index]![name];
      const value = raw === null || raw === undefined ? null : String(raw);
      let at = known.get(value);
      if (at === undefined) {
        at = dictionary.length;
        dictionary.push(value);
        known.set(value, at);
      }
      indexes[index] = at;
    }
    return { name, kind: 'text', dictionary, indexes };
  });
}

/**
 * The rows back from their columns, one at a time: each is handed to `map` and can die young.
 * Rows `from` to `to` (all by default) go into `into`, so a caller can decode a long read in slices.
 */
export function decodeRows<T>(rowCount: number, columns: readonly EncodedColumn[], map: (row: Record<string, unknown>) => T, into: T[] = new Array<T>(rowCount), from = 0, to = rowCount): T[] {
  const mapped = into;
  for (let index = from; index < to; index += 1) {
    const row: Record<string, unknown> = {};
    for (const column of columns) {
      if (column.kind === 'number') {
        const value = column.values[index]!;
        row[column.name] = Number.isNaN(value) ? null : value;
      } else {
        row[column.name] = column.dictionary[column.indexes[index]!];
      }
    }
    mapped[index] = map(row);
  }
  return mapped;
}

if (parentPort && (workerData as Partial<SqliteWorkerData> | null)?.role === SQLITE_WORKER_ROLE) {
  const port = parentPort;
  const { path, busyTimeoutMs, checkpointIntervalMs } = workerData as SqliteWorkerData;
  const checkpoints = new DatabaseSync(path, { timeout: busyTimeoutMs });
  checkpoints.exec('PRAGMA synchronous = NORMAL');
  const timer = setInterval(() => {
    try {
      // PASSIVE: copies what no reader still needs, never waits for readers or writers.
      checkpoints.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Busy (another worker's checkpoint): the next interval tries again.
    }
  }, checkpointIntervalMs);
  let reads: DatabaseSync | undefined;
  port.on('message', (message: ReadRequest | 'close') => {
    if (message === 'close') {
      clearInterval(timer);
      reads?.close();
      checkpoints.close();
      port.close();
      return;
    }
    try {
      reads ??= new DatabaseSync(path, { readOnly: true, timeout: busyTimeoutMs });
      const statement = reads.prepare(message.sql);
      const rows = statement.all(...message.params) as Record<string, unknown>[];
      const columns = encodeRows(rows, statement.columns().map((column) => column.name));
      const transfer = columns.map((column) => (column.kind === 'number' ? column.values.buffer : column.indexes.buffer));
      port.postMessage({ id: message.id, rowCount: rows.length, columns } satisfies ReadAnswer, transfer);
    } catch (error) {
      port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies ReadAnswer);
    }
  });
}
