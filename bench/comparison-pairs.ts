/**
 * pairedScores on a filled log, both stores: how long the comparison's query takes over a month
 * of shadow pairs, a third of them labeled, and each database's plan.
 *
 *   npx tsx bench/comparison-pairs.ts
 *   PAIRS_BENCH_ROWS=50000  PAIRS_BENCH_RUNS=3
 *   PAIRS_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/test   (empty: SQLite only)
 *
 * Records are written with plain INSERTs naming migration 004's columns. Every number is the median of the runs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { numberedPlaceholders } from '../src/prediction-log/outcomes.js';
import { pairedScoresQuery } from '../src/prediction-log/paired-scores.js';
import { PostgresPredictionLogStore } from '../src/prediction-log/postgres-store.js';
import type { PredictionLogStore } from '../src/prediction-log/prediction-log-store.js';
import { SqlitePredictionLogStore } from '../src/prediction-log/sqlite-store.js';

const ROWS = Number(process.env.PAIRS_BENCH_ROWS ?? 50_000);
const RUNS = Number(process.env.PAIRS_BENCH_RUNS ?? 3);
const POSTGRES_URL = process.env.PAIRS_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const START = Date.parse('2026-11-01T00:00:00Z');
const DAY = 86_400_000;
const WINDOW = { since: new Date(START), until: new Date(START + 30 * DAY), horizonDays: 90 };
const COLUMNS = 'prediction_id, recorded_at_ms, customer_id, protocol, model_name, model_version, model_sha256, tenure_months, monthly_charges, total_charges, num_products, has_support_calls, probability, prediction, tier, role, served, row_key';

function records(): unknown[][] {
  const rows: unknown[][] = [];
  for (let i = 0; i < ROWS; i += 1) {
    const key = randomUUID();
    const at = START + Math.floor((i / ROWS) * 30 * DAY);
    const customer = `c-${i % Math.ceil(ROWS / 3)}`;
    const p = Math.random();
    rows.push([key, at, customer, 'rest', 'churn', '1.0.0', 'ab', 1, 1, 1, 1, 0, p, 0, 'LOW', 'champion', 1, key]);
    rows.push([randomUUID(), at + 3, customer, 'rest', 'churn', '2.0.0', 'cd', 1, 1, 1, 1, 0, Math.min(1, p + 0.05), 0, 'LOW', 'challenger', 0, key]);
  }
  return rows;
}

async function time(store: PredictionLogStore): Promise<{ ms: number; pairs: number; labeled: number }> {
  const runs: number[] = [];
  let pairs = 0;
  let labeled = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const start = performance.now();
    const result = await store.pairedScores(WINDOW);
    runs.push(performance.now() - start);
    pairs = result.length;
    labeled = result.filter((pair) => pair.churned !== null).length;
  }
  return { ms: runs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!, pairs, labeled };
}

const outcomes = Array.from({ length: Math.ceil(ROWS / 9) }, (_, i) => ({ customerId: `c-${i * 3}`, observedAt: new Date(START + 40 * DAY), churned: i % 4 === 0 }));
const data = records();

const dir = mkdtempSync(join(tmpdir(), 'pairs-bench-'));
const sqlite = new SqlitePredictionLogStore(dir);
await sqlite.migrate();
const database = new DatabaseSync(sqlite.path);
database.exec('BEGIN');
const insert = database.prepare(`INSERT INTO predictions (${COLUMNS}) VALUES (${COLUMNS.split(',').map(() => '?').join(', ')})`);
for (const row of data) insert.run(...(row as (string | number)[]));
database.exec('COMMIT');
database.exec('ANALYZE');
for (let i = 0; i < outcomes.length; i += 1000) await sqlite.recordOutcomes(outcomes.slice(i, i + 1000), { horizonDays: 90, receivedAt: new Date(START + 41 * DAY) });
const { sql, params } = pairedScoresQuery(WINDOW);
console.log('SQLite plan:', (database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail).join(' | '));
console.log('SQLite', ROWS, 'pairs:', await time(sqlite));
database.close();
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

if (POSTGRES_URL) {
  const schema = `pairs_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema });
  try {
    await store.migrate();
    for (let i = 0; i < data.length; i += 1000) {
      const chunk = data.slice(i, i + 1000);
      const width = chunk[0]!.length;
      await admin.query(`INSERT INTO ${schema}.predictions (${COLUMNS}) VALUES ${chunk.map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ')}`, chunk.flat());
    }
    await admin.query(`ANALYZE ${schema}.predictions`);
    for (let i = 0; i < outcomes.length; i += 1000) await store.recordOutcomes(outcomes.slice(i, i + 1000), { horizonDays: 90, receivedAt: new Date(START + 41 * DAY) });
    await admin.query(`SET search_path TO ${schema}`);
    const plan = await admin.query(`EXPLAIN ${numberedPlaceholders(sql)}`, params);
    console.log('PostgreSQL plan:\n' + plan.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n'));
    console.log('PostgreSQL', ROWS, 'pairs:', await time(store));
  } finally {
    await store.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}
