/**
 * The prediction log's WAL checkpoints, on a thread of their own (one per process). SQLite's
 * automatic checkpoint runs inside the commit that fills the WAL, on the connection that commits:
 * the serving thread, which then waited for two fsyncs (the WAL, then the database), up to a
 * quarter of a second each on a busy disk. Here they wait on this thread instead; the serving
 * connection's automatic checkpoints are off while this thread runs.
 *
 * It imports nothing but Node's own modules: it runs as compiled JavaScript from dist/ and, under
 * the tests, as TypeScript with Node's type stripping.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

/** What the store gives the thread when it starts it. */
export interface CheckpointWorkerData {
  path: string;
  intervalMs: number;
  busyTimeoutMs: number;
}

const { path, intervalMs, busyTimeoutMs } = workerData as CheckpointWorkerData;
const database = new DatabaseSync(path, { timeout: busyTimeoutMs });
database.exec('PRAGMA synchronous = NORMAL');

const timer = setInterval(() => {
  try {
    // PASSIVE: copies what no reader still needs, never waits for readers or writers.
    database.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (another worker's checkpoint): the next interval tries again.
  }
}, intervalMs);

parentPort!.once('message', () => {
  clearInterval(timer);
  database.close();
  parentPort!.close();
});
