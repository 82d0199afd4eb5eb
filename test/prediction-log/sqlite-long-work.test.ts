import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { rowToScoredOutcome, scoredOutcomesQuery } from '../../src/prediction-log/outcomes.js';
import type { PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';
import { decodeRows, encodeRows } from '../../src/prediction-log/sqlite-worker.js';
import { RETENTION_SLICE_ROWS, SQLITE_FILE_NAME, SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { predictionRecord } from './prediction-records.js';

const START = Date.parse('2026-12-01T00:00:00.000Z');

function record(index: number): PredictionRecord {
  return predictionRecord({
    recordedAt: new Date(START + index * 1_000),
    requestId: `req-${index}`,
    customerId: `C-${index % 500}`,
    modelVersion: index % 3 === 0 ? '1.3.0' : '1.2.0',
    features: { tenure_months: index % 72, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
    probability: (index % 997) / 997,
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function storeWith(rows: number): Promise<{ store: SqlitePredictionLogStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-long-work-'));
  const store = new SqlitePredictionLogStore(dir);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
  cleanups.push(() => store.close());
  await store.migrate();
  for (let start = 0; start < rows; start += 500) await store.insert(Array.from({ length: Math.min(500, rows - start) }, (_, offset) => record(start + offset)));
  return { store, dir };
}

describe('long SQLite work beside the serving thread', () => {
  it("reads a window's rows on a thread of its own, the same rows the serving connection reads, while this thread runs other work", async () => {
    const { store, dir } = await storeWith(20_000);
    await store.recordOutcomes(
      Array.from({ length: 300 }, (_, index) => ({ customerId: `C-${index}`, observedAt: new Date(START + 30 * 86_400_000), churned: index % 2 === 0 })),
      { horizonDays: 90, receivedAt: new Date(START + 31 * 86_400_000) },
    );
    const window = { since: new Date(START), until: new Date(START + 86_400_000), horizonDays: 90 };

    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    const read = await store.scoredOutcomes(window);
    // On the serving thread the read would have finished before anything else could run.
    expect(otherWorkRan).toBe(true);

    const direct = new DatabaseSync(join(dir, SQLITE_FILE_NAME), { readOnly: true });
    const { sql, params } = scoredOutcomesQuery(window);
    const expected = (direct.prepare(sql).all(...(params as number[])) as Record<string, unknown>[]).map(rowToScoredOutcome);
    direct.close();
    expect(read).toHaveLength(20_000);
    expect(read).toEqual(expected);
    expect(new Set(read.map((row) => row.churned))).toEqual(new Set([true, false, null]));
    expect(new Set(read.map((row) => row.modelVersion))).toEqual(new Set(['1.2.0', '1.3.0']));
  });

  it('reads what was written just before, reads in parallel, and refuses to read once closed', async () => {
    const { store } = await storeWith(1_000);
    const window = { since: new Date(START), until: new Date(START + 86_400_000), horizonDays: 90 };
    const [first, second, pairs] = await Promise.all([store.scoredOutcomes(window), store.scoredOutcomes(window), store.pairedScores(window)]);
    expect(first).toHaveLength(1_000);
    expect(second).toEqual(first);
    expect(pairs).toEqual([]);
    await store.insert([record(1_000)]);
    expect(await store.scoredOutcomes(window)).toHaveLength(1_001);
    await store.close();
    await expect(store.scoredOutcomes(window)).rejects.toThrow(/closed/);
  });

  it('deletes old predictions in slices, letting other work run between them, and keeps the rest', async () => {
    const old = RETENTION_SLICE_ROWS * 2 + 123;
    const { store } = await storeWith(old + 10);
    const cutoff = new Date(START + old * 1_000);
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    expect(await store.deleteRecordedBefore(cutoff)).toBe(old);
    expect(otherWorkRan).toBe(true);
    expect(await store.recent(100)).toHaveLength(10);
    expect(await store.deleteRecordedBefore(cutoff)).toBe(0);
  });

  it('carries numbers, text and NULLs across threads as columns, row for row', () => {
    const rows = [
      { version: '1.2.0', probability: 0.25, churned: 1, note: null },
      { version: '1.3.0', probability: 0, churned: null, note: 'é, "quoted"' },
      { version: '1.2.0', probability: -1.5e-300, churned: 0, note: '' },
    ];
    const columns = encodeRows(rows, ['version', 'probability', 'churned', 'note']);
    expect(columns.map((column) => column.kind)).toEqual(['text', 'number', 'number', 'text']);
    expect(columns[0]).toMatchObject({ dictionary: ['1.2.0', '1.3.0'] });
    expect(decodeRows(rows.length, columns, (row) => row)).toEqual(rows);
    expect(decodeRows(0, encodeRows([], ['version']), (row) => row)).toEqual([]);
  });
});
