import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadMigrations } from '../../src/prediction-log/migrations.js';
import { SQLITE_FILE_NAME, SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { predictionRecord } from './prediction-records.js';

const record = () => predictionRecord({ customerId: undefined, recordedAt: new Date('2026-12-02T10:00:00.000Z') });
const window = { since: new Date('2026-12-01T00:00:00.000Z'), until: new Date('2026-12-03T00:00:00.000Z'), horizonDays: 90 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataDirectory(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'churn-sqlite-thread-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 }));
  return dataDir;
}

/** The Node.js worker threads of this process now, as Linux names them. */
function workerThreads(): number {
  return readdirSync('/proc/self/task').filter((task) => readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'WorkerThread').length;
}

/**
 * WAL checkpoints (two fsyncs each) and the long reads run on one thread of the store's own, not on
 * the serving connection: the database file only takes the inserted pages when that thread copies them.
 */
describe("the SQLite store's background thread", () => {
  it('the serving connection does not checkpoint; the background thread copies the WAL into the database', async () => {
    const dataDir = dataDirectory();
    const store = new SqlitePredictionLogStore(dataDir);
    cleanups.push(() => store.close());
    await store.migrate();
    expect(store.checkpointsOffThread).toBe(true);
    const databaseFile = join(dataDir, SQLITE_FILE_NAME);
    // Let a checkpoint of the migration's pages pass, then measure the file.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = statSync(databaseFile).size;
    // About 500 pages of WAL: under SQLite's automatic threshold (1,000), so only the thread moves them.
    for (let batch = 0; batch < 8; batch += 1) await store.insert(Array.from({ length: 500 }, record));
    expect(statSync(`${databaseFile}-wal`).size).toBeGreaterThan(0);
    await vi.waitFor(() => expect(statSync(databaseFile).size).toBeGreaterThan(before + 100_000), { timeout: 10_000, interval: 100 });
    expect(await store.recent(5)).toHaveLength(5);
  });

  // A Node.js thread holds about 19 MB of resident memory: checkpoints and reads share one.
  it.runIf(process.platform === 'linux')('checkpoints and reads share one thread, which stops when the store closes', async () => {
    const before = workerThreads();
    const store = new SqlitePredictionLogStore(dataDirectory());
    await store.migrate();
    await store.insert(Array.from({ length: 10 }, record));
    expect(workerThreads()).toBe(before + 1);
    expect(await store.scoredOutcomes(window)).toHaveLength(10);
    expect(await store.pairedScores(window)).toEqual([]);
    expect(workerThreads()).toBe(before + 1);
    expect(store.checkpointsOffThread).toBe(true);
    await store.close();
    await vi.waitFor(() => expect(workerThreads()).toBe(before), { timeout: 2_000, interval: 20 });
  });

  it('when the thread fails, the serving connection checkpoints again, its reads fail with the cause, and the next read starts another', async () => {
    const failing = new URL('../fixtures/sqlite-worker/exits-at-once.mjs', import.meta.url);
    const dataDir = dataDirectory();
    const store = new SqlitePredictionLogStore(dataDir, loadMigrations(), failing);
    cleanups.push(() => store.close());
    await store.migrate();
    await vi.waitFor(() => expect(store.checkpointsOffThread).toBe(false), { timeout: 5_000, interval: 20 });
    // Over SQLite's automatic threshold of 1,000 WAL pages: the serving connection's own commits copy them into the file.
    const databaseFile = join(dataDir, SQLITE_FILE_NAME);
    const before = statSync(databaseFile).size;
    for (let batch = 0; batch < 24; batch += 1) await store.insert(Array.from({ length: 500 }, record));
    expect(statSync(databaseFile).size).toBeGreaterThan(before + 1_000_000);
    // Each read starts a thread again (this one fails again) and fails with its exit, never hangs.
    await expect(store.scoredOutcomes(window)).rejects.toThrow(/background thread stopped \(exit code 3\)/);
    await expect(store.pairedScores(window)).rejects.toThrow(/background thread stopped \(exit code 3\)/);
    expect(store.checkpointsOffThread).toBe(false);
    // The serving connection still writes and reads what it wrote.
    await store.insert([record()]);
    expect(await store.recent(20_000)).toHaveLength(24 * 500 + 1);
  });
});
