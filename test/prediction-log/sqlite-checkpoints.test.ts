import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SQLITE_FILE_NAME, SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { predictionRecord } from './prediction-records.js';

const record = () => predictionRecord({ customerId: undefined, recordedAt: new Date('2026-12-02T10:00:00.000Z') });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * WAL checkpoints (two fsyncs each) run on a thread of their own, not inside the serving
 * connection's commits: the database file only takes the inserted pages when that thread copies them.
 */
describe('SQLite checkpoints off the serving thread', () => {
  it('the serving connection does not checkpoint; the checkpoint thread copies the WAL into the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'churn-checkpoints-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
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
});
