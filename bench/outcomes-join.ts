/**
 * The outcome join on a filled log, both stores: how long `scoredOutcomes` takes over 100,000
 * predictions, how long a post of 1,000 outcomes takes, and each database's plan for the join.
 *
 *   npx tsx bench/outcomes-join.ts
 *   OUTCOMES_BENCH_PREDICTIONS=100000  OUTCOMES_BENCH_CUSTOMERS=20000  OUTCOMES_BENCH_RUNS=5
 *   OUTCOMES_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/test   (empty: SQLite only)
 *
 * The predictions spread over 120 days, a few per customer; half of the customers get an outcome.
 * Every number is the median of the runs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DAY_MS, numberedPlaceholders, scoredOutcomesQuery } from '../src/prediction-log/outcomes.js';
import { PostgresPredictionLogStore } from '../src/prediction-log/postgres-store.js';
import type { Outcome, PredictionLogStore, PredictionRecord } from '../src/prediction-log/prediction-log-store.js';
import { SqlitePredictionLogStore } from '../src/prediction-log/sqlite-store.js';

const PREDICTIONS = Number(process.env.OUTCOMES_BENCH_PREDICTIONS ?? 100_000);
const CUSTOMERS = Number(process.env.OUTCOMES_BENCH_CUSTOMERS ?? 20_000);
const RUNS = Number(process.env.OUTCOMES_BENCH_RUNS ?? 5);
const POSTGRES_URL = process.env.OUTCOMES_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const HORIZON_DAYS = 90;
const START = Date.parse('2026-08-01T00:00:00Z');
const SPAN_DAYS = 120;

/** A small deterministic generator, so both stores get the same log. */
function random(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}

function fill(): { predictions: PredictionRecord[]; outcomes: Outcome[] } {
  const next = random(42);
  const predictions = Array.from({ length: PREDICTIONS }, (): PredictionRecord => {
    const probability = next();
    return {
      predictionId: randomUUID(),
      role: 'champion',
      served: true,
      rowKey: randomUUID(),
      recordedAt: new Date(START + Math.floor(next() * SPAN_DAYS * DAY_MS)),
      requestId: undefined,
      customerId: `c-${Math.floor(next() * CUSTOMERS)}`,
      protocol: 'churn',
      modelName: 'churn',
      modelVersion: next() < 0.5 ? '1.2.0' : '1.3.0',
      modelSha256: 'ab'.repeat(32),
      features: { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
      probability,
      prediction: probability >= 0.5 ? 1 : 0,
      tier: 'MEDIUM',
    };
  });
  const outcomes = Array.from({ length: CUSTOMERS / 2 }, (_, index): Outcome => ({
    customerId: `c-${index * 2}`,
    observedAt: new Date(START + Math.floor(next() * (SPAN_DAYS + 30) * DAY_MS)),
    churned: next() < 0.3,
  }));
  return { predictions, outcomes };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timedMs(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * What a read costs the serving thread: its CPU while the read ran, and the longest time a 1 ms
 * ticker on it waited (what a request arriving meanwhile would have waited at least).
 */
async function servingThreadDuring(work: () => Promise<unknown>): Promise<{ cpuMs: number; longestStallMs: number }> {
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const cpu = process.threadCpuUsage();
  await work();
  const used = process.threadCpuUsage(cpu);
  longest = Math.max(longest, performance.now() - last);
  clearInterval(ticker);
  return { cpuMs: (used.user + used.system) / 1000, longestStallMs: longest };
}

async function measure(name: string, store: PredictionLogStore, plan: () => Promise<string>, analyze?: () => Promise<void>) {
  const { predictions, outcomes } = fill();
  await store.migrate();
  for (let offset = 0; offset < predictions.length; offset += 500) await store.insert(predictions.slice(offset, offset + 500));
  const receivedAt = new Date();
  const posts: number[] = [];
  for (let offset = 0; offset < outcomes.length; offset += 1000) {
    const started = performance.now();
    await store.recordOutcomes(outcomes.slice(offset, offset + 1000), { horizonDays: HORIZON_DAYS, receivedAt });
    posts.push(performance.now() - started);
  }
  const everything = { since: new Date(START), until: new Date(START + SPAN_DAYS * DAY_MS), horizonDays: HORIZON_DAYS };
  const rows = await store.scoredOutcomes(everything);
  let unanalyzed = '';
  if (analyze) {
    // A table just filled has no statistics until autovacuum's ANALYZE: the join is timed both ways.
    unanalyzed = ` (before ANALYZE: ${(await timedMs(() => store.scoredOutcomes(everything))).toFixed(0)} ms)`;
    await analyze();
  }
  const labeled = rows.filter((row) => row.churned !== null).length;
  const allMs = await timedMs(() => store.scoredOutcomes(everything));
  const monthMs = await timedMs(() => store.scoredOutcomes({ ...everything, since: new Date(START + 60 * DAY_MS), until: new Date(START + 90 * DAY_MS) }));
  const serving = await servingThreadDuring(() => store.scoredOutcomes(everything));
  const repostMs = await timedMs(() => store.recordOutcomes(outcomes.slice(0, 1000), { horizonDays: HORIZON_DAYS, receivedAt }));
  console.log(`\n${name}: ${rows.length} predictions, ${labeled} labeled, ${outcomes.length} outcomes`);
  console.log(`  scoredOutcomes, all ${SPAN_DAYS} days:   ${allMs.toFixed(0)} ms (median of ${RUNS})${unanalyzed}`);
  console.log(`  scoredOutcomes, 30 days:         ${monthMs.toFixed(0)} ms`);
  console.log(`  serving thread during the ${SPAN_DAYS}-day read: ${serving.cpuMs.toFixed(0)} ms of CPU, longest stall ${serving.longestStallMs.toFixed(0)} ms`);
  console.log(`  recordOutcomes, 1000 new:        ${median(posts).toFixed(0)} ms (median of ${posts.length} posts)`);
  console.log(`  recordOutcomes, 1000 duplicates: ${repostMs.toFixed(0)} ms`);
  console.log(`  plan:\n${(await plan()).replace(/^/gm, '    ')}`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'outcomes-bench-'));
try {
  const sqlite = new SqlitePredictionLogStore(dataDir);
  const query = scoredOutcomesQuery({ since: new Date(START), until: new Date(START + SPAN_DAYS * DAY_MS), horizonDays: HORIZON_DAYS });
  await measure('SQLite', sqlite, async () => {
    const database = new DatabaseSync(sqlite.path);
    try {
      const steps = database.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as { detail: string }[];
      return steps.map((step) => step.detail).join('\n');
    } finally {
      database.close();
    }
  });
  await sqlite.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

if (POSTGRES_URL !== '') {
  const schema = `outcomes_bench_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema, statementTimeoutMs: 60_000 });
  try {
    const analyze = async () => {
      await admin.query(`ANALYZE ${schema}.predictions`);
      await admin.query(`ANALYZE ${schema}.outcomes`);
    };
    await measure('PostgreSQL', store, async () => {
      await admin.query(`SET search_path = ${schema}`);
      const query = scoredOutcomesQuery({ since: new Date(START), until: new Date(START + SPAN_DAYS * DAY_MS), horizonDays: HORIZON_DAYS });
      const { rows } = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${numberedPlaceholders(query.sql)}`, query.params);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    }, analyze);
  } finally {
    await store.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}
