import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { labeledTrainingCustomers, REQUIRE_DATA, TRAINING_DATA, type LabeledCustomer } from '../training-data.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from './server-process.js';

/**
 * The outcome loop's proof on real data: all 7,043 Telco customers are scored through the API
 * with their ids, their real Churn labels are posted as outcomes, and the live performance the
 * service reports must equal the figures computed here, offline, from the same probabilities.
 */
const MODEL_PATH = fileURLToPath(new URL('../../models/churn_model.onnx', import.meta.url));
const CHALLENGER_PATH = fileURLToPath(new URL('../fixtures/challenger/churn_model.onnx', import.meta.url));
/** The comparison's reference, computed by definition in Python (test/fixtures/comparison/make-fixture.py). */
const COMPARISON_FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/comparison/cases.json', import.meta.url), 'utf8')) as {
  cases: { name: string; rows: { champion: number[]; challenger: number[]; churned: (boolean | null)[] }; expected: ComparisonExpected }[];
};

interface ComparisonExpected {
  rows: number;
  champion: { roc_auc: number };
  challenger: { roc_auc: number };
  paired_delong: { difference: number; ci: [number, number]; p_value: number };
  agreement: { share: number };
  tiers: { share: number };
  spearman: number;
  psi: { value: number };
}
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const THRESHOLDS = [0.5, 0.8];

interface Interval {
  value: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

let customers: LabeledCustomer[] = [];
const HAS_DATA = existsSync(TRAINING_DATA);
/** P(churn) per customer, float32 from onnxruntime exactly as the service computes it. */
let probabilities: Float32Array;

beforeAll(async () => {
  if (!HAS_DATA) return;
  customers = labeledTrainingCustomers();
  const model = await loadChurnModel(MODEL_PATH, { intraOpThreads: 1, allowMissingCard: false });
  try {
    const features = Float32Array.from(customers.flatMap((customer) => FEATURE_NAMES.map((name) => customer.features[name])));
    probabilities = (await model.predict(features, customers.length)).churn;
  } finally {
    await model.close();
  }
});

/** ROC AUC by its definition: the share of (churned, stayed) pairs the score orders right, ties half. */
function pairwiseRocAuc(scores: ArrayLike<number>, labels: readonly boolean[]): number {
  const positives: number[] = [];
  const negatives: number[] = [];
  labels.forEach((label, index) => (label ? positives : negatives).push(scores[index]!));
  let concordant = 0;
  for (const positive of positives) for (const negative of negatives) concordant += positive > negative ? 1 : positive === negative ? 0.5 : 0;
  return concordant / (positives.length * negatives.length);
}

function offlineFigures() {
  const labels = customers.map((customer) => customer.churned);
  const positives = labels.filter(Boolean).length;
  let brier = 0;
  let logLoss = 0;
  labels.forEach((label, index) => {
    const probability = Math.min(Math.max(probabilities[index]!, 1e-15), 1 - 1e-15);
    brier += ((label ? 1 : 0) - probabilities[index]!) ** 2;
    logLoss -= label ? Math.log(probability) : Math.log(1 - probability);
  });
  return {
    rocAuc: pairwiseRocAuc(probabilities, labels),
    brier: brier / labels.length,
    logLoss: logLoss / labels.length,
    thresholds: THRESHOLDS.map((threshold) => {
      const flagged = labels.filter((_, index) => probabilities[index]! >= threshold);
      const truePositives = flagged.filter(Boolean).length;
      return { threshold, flaggedShare: flagged.length / labels.length, precision: truePositives / flagged.length, recall: truePositives / positives };
    }),
  };
}

const chunks = <T>(items: readonly T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));

async function post(baseUrl: string, path: string, body: unknown) {
  const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface ModelPerformance {
  model_version: string;
  predictions: number;
  labeled: number;
  label_coverage: number | null;
  measured: {
    roc_auc: Interval;
    log_loss: { value: number | null };
    brier: { value: number | null };
    thresholds: { threshold: number; flagged_share: { value: number | null }; precision: Interval; recall: Interval }[];
  };
  estimated: { rows: number; calibration: string; roc_auc: number | null; thresholds: { threshold: number; precision: number | null; recall: number | null }[] };
}

async function performance(baseUrl: string): Promise<ModelPerformance> {
  const response = await fetch(`${baseUrl}/monitoring/performance`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { models: ModelPerformance[] };
  expect(body.models.map((model) => model.model_version)).toEqual(['1.2.0']);
  return body.models[0]!;
}

/** Scores every customer, spreading the batches over the servers; checks each answer is the probability computed here. */
async function scoreEveryone(baseUrls: string[]) {
  const batches = chunks(customers.map((customer, index) => ({ customer, index })), 100);
  await Promise.all(
    baseUrls.map(async (baseUrl, server) => {
      for (const batch of batches.filter((_, index) => index % baseUrls.length === server)) {
        const answer = await post(baseUrl, '/predict/batch', { customers: batch.map(({ customer }) => ({ customer_id: customer.customerId, ...customer.features })) });
        expect(answer.status).toBe(200);
        const served = (answer.body.predictions as { churn_probability: number }[]).map((prediction) => prediction.churn_probability);
        expect(served).toEqual(batch.map(({ index }) => Math.round(probabilities[index]! * 10_000) / 10_000));
      }
    }),
  );
}

async function replay(baseUrls: string[]) {
  await scoreEveryone(baseUrls);
  // The log is written off the request path: wait until every server sees all of it.
  for (const baseUrl of baseUrls) {
    await vi.waitFor(async () => expect((await performance(baseUrl)).predictions).toBe(customers.length), { timeout: 30_000, interval: 250 });
  }

  const beforeLabels = await performance(baseUrls[0]!);
  expect(beforeLabels).toMatchObject({ predictions: customers.length, labeled: 0, label_coverage: 0 });
  const estimated = beforeLabels.estimated!;
  expect(estimated.rows).toBe(customers.length);

  // The outcomes are observed after every prediction was made.
  const observedAt = new Date(Date.now() + 1_000).toISOString();
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const outcomes = customers.map((customer) => ({ customer_id: customer.customerId, churned: customer.churned, observed_at: observedAt }));
  const answers = await Promise.all(chunks(outcomes, 1_000).map((chunk, index) => post(baseUrls[index % baseUrls.length]!, '/outcomes', { outcomes: chunk })));
  expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
  const total = (key: string) => answers.reduce((sum, answer) => sum + Number(answer.body[key]), 0);
  expect({ accepted: total('accepted'), matched: total('matched'), unmatched: total('unmatched'), duplicates: total('duplicates') }).toEqual({
    accepted: customers.length,
    matched: customers.length,
    unmatched: 0,
    duplicates: 0,
  });
  // A retried call changes nothing.
  const retried = await post(baseUrls.at(-1)!, '/outcomes', { outcomes: outcomes.slice(0, 1_000) });
  expect(retried.body).toMatchObject({ duplicates: 1_000 });

  const offline = offlineFigures();
  const measured = await Promise.all(baseUrls.map(performance));
  // Every server reads the one log: the same figures, whichever is asked.
  for (const other of measured.slice(1)) expect(other).toEqual(measured[0]);
  const live = measured[0]!;
  expect(live).toMatchObject({ predictions: customers.length, labeled: customers.length, label_coverage: 1 });
  expect(Math.abs(live.measured.roc_auc.value! - offline.rocAuc)).toBeLessThan(1e-6);
  expect(live.measured.brier.value).toBeCloseTo(offline.brier, 9);
  expect(live.measured.log_loss.value).toBeCloseTo(offline.logLoss, 9);
  expect(live.measured.thresholds.map((entry) => ({ threshold: entry.threshold, flaggedShare: entry.flagged_share.value, precision: entry.precision.value, recall: entry.recall.value }))).toEqual(offline.thresholds);

  // Estimated before the labels came, measured after: each estimate inside the measured 95 % interval.
  const inside = (estimate: number | null, interval: Interval) => estimate !== null && estimate >= interval.ci_low! && estimate <= interval.ci_high!;
  expect(estimated.calibration).toBe('isotonic on 1,409 hold-out rows');
  expect(inside(estimated.roc_auc, live.measured.roc_auc), `AUC estimate ${estimated.roc_auc} vs ${JSON.stringify(live.measured.roc_auc)}`).toBe(true);
  for (const entry of live.measured.thresholds) {
    const estimate = estimated.thresholds.find((candidate) => candidate.threshold === entry.threshold)!;
    expect(inside(estimate.precision, entry.precision), `precision at ${entry.threshold}: ${estimate.precision} vs ${JSON.stringify(entry.precision)}`).toBe(true);
    expect(inside(estimate.recall, entry.recall), `recall at ${entry.threshold}: ${estimate.recall} vs ${JSON.stringify(entry.recall)}`).toBe(true);
  }
  return live;
}

const servers: ServerProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => Promise.all(servers.map((server) => server.stop())));

async function start(env: Record<string, string>) {
  const server = startServer({ LOG_LEVEL: 'warn', PREDICTION_LOG: 'true', ...env }, await freePort());
  servers.push(server);
  await waitUntilHealthy(server);
  return server;
}

describe.skipIf(!REQUIRE_DATA && !HAS_DATA)('the outcome loop, replayed on the 7,043 Telco customers', () => {
  it('reports the performance computed offline from the same probabilities, on the embedded SQLite log, and keeps it across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outcome-loop-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await start({ DATA_DIR: dataDir });
    const live = await replay([server.baseUrl]);

    expect(await server.stop()).toBe(0);
    servers.splice(servers.indexOf(server), 1);
    const restarted = await start({ DATA_DIR: dataDir });
    expect(await performance(restarted.baseUrl)).toEqual(live);
  }, 180_000);

  it('reports the same from two servers sharing one PostgreSQL database, and keeps it across their restart', async () => {
    const database = `outcome_loop_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    });
    const env = { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`, DATA_DIR: join(tmpdir(), 'outcome-loop-unused') };
    const pair = [await start(env), await start(env)];
    const live = await replay(pair.map((server) => server.baseUrl));

    await Promise.all(pair.map((server) => server.stop()));
    servers.splice(0);
    const restarted = await start(env);
    expect(await performance(restarted.baseUrl)).toEqual(live);
  }, 180_000);

  it('compares a shadow challenger with the champion on all 7,043 rows as the Python reference does, while callers get the champion alone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outcome-loop-challenger-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await start({ DATA_DIR: dataDir, CHALLENGER_MODEL_PATH: CHALLENGER_PATH, CHALLENGER_MODE: 'shadow', CHALLENGER_SHARE: '1' });
    const reference = COMPARISON_FIXTURE.cases.find((candidate) => candidate.name === 'telco')!;
    // The reference scored the same customers in the same order, bit for bit as served.
    expect(reference.rows.champion).toEqual(Array.from(probabilities));
    expect(reference.rows.churned).toEqual(customers.map((customer) => customer.churned));

    // Every answer is the champion's (scoreEveryone checks each probability); the performance
    // report counts served predictions only, so the live loop reads as without a challenger.
    const live = await replay([server.baseUrl]);
    expect(live.model_version).toBe('1.2.0');

    const comparison = await vi.waitFor(
      async () => {
        const response = await fetch(`${server.baseUrl}/monitoring/comparison`);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { comparisons: Record<string, any>[] };
        expect(body.comparisons.map((entry) => [entry.champion_version, entry.challenger_version, entry.rows])).toEqual([['1.2.0', '2.0.0-rc.1', customers.length]]);
        return body.comparisons[0]!;
      },
      { timeout: 30_000, interval: 250 },
    );
    const expected = reference.expected;
    expect(comparison.labeled.rows).toBe(customers.length);
    expect(Math.abs(comparison.labeled.champion.roc_auc.value - expected.champion.roc_auc)).toBeLessThan(1e-6);
    expect(Math.abs(comparison.labeled.challenger.roc_auc.value - expected.challenger.roc_auc)).toBeLessThan(1e-6);
    expect(Math.abs(comparison.labeled.champion.roc_auc.value - offlineFigures().rocAuc)).toBeLessThan(1e-6);
    const difference = comparison.labeled.auc_difference;
    expect(difference.value).toBeCloseTo(expected.paired_delong.difference, 9);
    expect(difference.ci_low).toBeCloseTo(expected.paired_delong.ci[0], 9);
    expect(difference.ci_high).toBeCloseTo(expected.paired_delong.ci[1], 9);
    expect(Math.abs(difference.p_value - expected.paired_delong.p_value)).toBeLessThan(1e-6);
    expect(comparison.agreement.prediction.share).toBeCloseTo(expected.agreement.share, 12);
    expect(comparison.agreement.risk_tier.share).toBeCloseTo(expected.tiers.share, 12);
    expect(comparison.spearman).toBeCloseTo(expected.spearman, 9);
    expect(comparison.psi.value).toBeCloseTo(expected.psi.value, 9);
    expect(comparison.verdict).toBe('challenger_worse');
  }, 180_000);
});
