import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import type { PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';
import { SQLITE_FILE_NAME, SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';

function record(): PredictionRecord {
  const predictionId = randomUUID();
  return {
    predictionId,
    role: 'champion',
    served: true,
    rowKey: predictionId,
    recordedAt: new Date('2026-12-02T10:00:00.000Z'),
    requestId: 'req-1',
    customerId: undefined,
    protocol: 'rest',
    modelName: 'churn',
    modelVersion: '1.2.0',
    modelSha256: 'ab'.repeat(32),
    features: { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
    probability: 0.8125,
    prediction: 1,
    tier: 'HIGH',
    implausible: [],
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function migratedStore(options?: { insertThread?: boolean }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'churn-insert-thread-'));
  const store = new SqlitePredictionLogStore(dataDir, undefined, options);
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  await store.migrate();
  // Another connection to the file, as another worker of WORKERS=N holds one.
  const other = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME), { timeout: 0 });
  cleanups.push(() => other.close());
  return { store, other };
}

/**
 * The prediction log's inserts run on a thread of their own: an insert that waits (for the write
 * lock, or for SQLite's own work) leaves the event loop free, and settles when its commit is done.
 */
describe('SQLite inserts off the event loop', () => {
  it('an insert waiting for another connection\'s write lock leaves the event loop running, and commits once the lock is free', async () => {
    const { store, other } = await migratedStore();
    other.exec('BEGIN IMMEDIATE');
    let settled = false;
    const inserted = store.insert([record(), record()]).finally(() => (settled = true));
    // On the caller's thread the insert would have waited for the lock right here, then failed.
    await nextTurn();
    await nextTurn();
    expect(settled).toBe(false);
    other.exec('COMMIT');
    await inserted;
    expect(await store.recent(10)).toHaveLength(2);
  });

  it('an insert that fails (the lock not free within its wait) rejects with SQLite\'s error, and the next insert works', async () => {
    const { store, other } = await migratedStore();
    other.exec('BEGIN IMMEDIATE');
    await expect(store.insert([record()])).rejects.toThrow(/locked|busy/i);
    other.exec('ROLLBACK');
    await store.insert([record()]);
    expect(await store.recent(10)).toHaveLength(1);
  });

  it('closing the store fails an insert still in flight instead of leaving it hanging', async () => {
    const { store, other } = await migratedStore();
    other.exec('BEGIN IMMEDIATE');
    const inserted = store.insert([record()]);
    await nextTurn();
    await store.close();
    await expect(inserted).rejects.toThrow(/closed/);
    other.exec('ROLLBACK');
  });

  it('insertThread: false inserts on the caller\'s thread (the measurement baseline)', async () => {
    const { store, other } = await migratedStore({ insertThread: false });
    other.exec('BEGIN IMMEDIATE');
    await expect(store.insert([record()])).rejects.toThrow(/locked|busy/i);
    other.exec('ROLLBACK');
  });
});
