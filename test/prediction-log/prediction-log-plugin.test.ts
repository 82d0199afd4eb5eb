import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SQLITE_FILE_NAME, SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { PredictionLogUnavailableError } from '../../src/errors.js';
import { freePort } from '../e2e/server-process.js';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';

const INFER_ONE_ROW = { id: 'oip-1', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: [60, 20.25, 1215, 3, 1] }] };

let dataDir: string | undefined;
afterEach(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function loggedIn(directory: string) {
  const store = new SqlitePredictionLogStore(directory);
  try {
    return await store.recent(100);
  } finally {
    await store.close();
  }
}

describe('prediction log plugin', () => {
  it('records every prediction served by REST single, REST batch and Open Inference, and writes them all on close', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-app-'));
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'true', DATA_DIR: dataDir });
    const single = await postJson(app, '/predict', { ...VALID_CUSTOMER, customer_id: 'crm-1' }, { 'x-request-id': 'single-1' });
    const batch = await postJson(app, '/predict/batch?explain=true', { customers: [{ ...VALID_CUSTOMER, customer_id: 'crm-2' }, { ...VALID_CUSTOMER, tenure_months: 50 }] }, { 'x-request-id': 'batch-1' });
    const infer = await postJson(app, '/v2/models/churn/infer', INFER_ONE_ROW, { 'x-request-id': 'infer-1' });
    expect([single.statusCode, batch.statusCode, infer.statusCode]).toEqual([200, 200, 200]);
    const model = app.dataPlane.model!;
    await app.close();

    const logged = await loggedIn(dataDir);
    expect(logged).toHaveLength(4);
    const byRequest = (requestId: string) => logged.filter((record) => record.requestId === requestId);
    const [singleRecord] = byRequest('single-1');
    expect(singleRecord).toMatchObject({
      protocol: 'churn',
      customerId: 'crm-1',
      modelName: 'churn',
      modelVersion: model.version,
      modelSha256: model.sha256,
      features: { tenure_months: VALID_CUSTOMER.tenure_months, monthly_charges: VALID_CUSTOMER.monthly_charges, total_charges: VALID_CUSTOMER.total_charges, num_products: VALID_CUSTOMER.num_products, has_support_calls: VALID_CUSTOMER.has_support_calls },
      probability: expect.closeTo(single.json().churn_probability, 4),
      prediction: single.json().churn_prediction ? 1 : 0,
      tier: single.json().risk_tier,
    });
    const batchAnswers = batch.json().predictions as { churn_prediction: boolean; risk_tier: string }[];
    expect(byRequest('batch-1').map((record) => [record.customerId, record.features.tenure_months, record.prediction, record.tier]).sort()).toEqual(
      [
        ['crm-2', VALID_CUSTOMER.tenure_months, batchAnswers[0]!.churn_prediction ? 1 : 0, batchAnswers[0]!.risk_tier],
        [undefined, 50, batchAnswers[1]!.churn_prediction ? 1 : 0, batchAnswers[1]!.risk_tier],
      ].sort(),
    );
    expect(byRequest('infer-1')).toEqual([
      expect.objectContaining({ customerId: undefined, features: { tenure_months: 60, monthly_charges: 20.25, total_charges: 1215, num_products: 3, has_support_calls: 1 } }),
    ]);
    expect(byRequest('infer-1')[0]!.protocol).not.toBe('churn');
  });

  it('PREDICTION_LOG=false records nothing and creates no database', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-app-'));
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'false', DATA_DIR: dataDir });
    expect((await postJson(app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
    await app.close();
    expect(existsSync(join(dataDir, SQLITE_FILE_NAME))).toBe(false);
  });

  it('the overflow counter is on /metrics once the log is on', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-app-'));
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'true', DATA_DIR: dataDir });
    try {
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('# TYPE churn_prediction_log_dropped_total counter');
    } finally {
      await app.close();
    }
  });

  it('deletes predictions older than PREDICTION_LOG_RETENTION_DAYS at start, and the outcomes observed before the same cutoff', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-app-'));
    const DAY_MS = 86_400_000;
    const logged = (ageDays: number) => ({
      predictionId: randomUUID(),
      role: 'champion' as const,
      served: true,
      rowKey: randomUUID(),
      recordedAt: new Date(Date.now() - ageDays * DAY_MS),
      requestId: `aged-${ageDays}`,
      customerId: undefined,
      protocol: 'churn',
      modelName: 'churn',
      modelVersion: '1.0.0',
      modelSha256: 'ab'.repeat(32),
      features: VALID_CUSTOMER,
      probability: 0.5,
      prediction: 1 as const,
      tier: 'MEDIUM',
    });
    const seed = new SqlitePredictionLogStore(dataDir);
    await seed.migrate();
    await seed.insert([logged(31), logged(29)]);
    const observed = (ageDays: number) => ({ customerId: `c-${ageDays}`, observedAt: new Date(Date.now() - ageDays * DAY_MS), churned: true });
    const outcomes = [observed(31), observed(29)];
    const post = (store: SqlitePredictionLogStore, posted: typeof outcomes) => store.recordOutcomes(posted, { horizonDays: 90, receivedAt: new Date() });
    await post(seed, outcomes);
    await seed.close();
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'true', DATA_DIR: dataDir, PREDICTION_LOG_RETENTION_DAYS: '30' });
    await app.close();
    expect((await loggedIn(dataDir)).map((record) => record.requestId)).toEqual(['aged-29']);
    // Posted again: the old outcome was deleted (a new one), the recent one kept (a duplicate).
    const reopened = new SqlitePredictionLogStore(dataDir);
    try {
      expect(await post(reopened, [outcomes[0]!])).toMatchObject({ accepted: 1, duplicates: 0 });
      expect(await post(reopened, [outcomes[1]!])).toMatchObject({ accepted: 0, duplicates: 1 });
    } finally {
      await reopened.close();
    }
  });

  it('is on by default, and app.predictionLog hands out the store once it is up', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      expect(app.predictionLog).toMatchObject({ enabled: true, state: 'up', storeKind: 'sqlite' });
      expect(app.predictionLog.store?.kind).toBe('sqlite');
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^churn_prediction_log_store_up 1$/m);
    } finally {
      await app.close();
    }
  });

  it('a DATA_DIR that cannot be created stops the start with the reason (a misconfigured volume is loud, not a silent loss)', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-app-'));
    const aFile = join(dataDir, 'not-a-directory');
    writeFileSync(aFile, '');
    await expect(buildTestApp({ LOG_LEVEL: 'silent', DATA_DIR: join(aFile, 'data') })).rejects.toThrow(/ENOTDIR|not a directory/);
  });

  it('PostgreSQL unreachable at start: the app starts and predicts, says so in readiness and metrics, and routes that need the store get a 503 error', async () => {
    const port = await freePort();
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nowhere` });
    try {
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().prediction_log).toEqual({ state: 'connecting', store: 'postgres', buffered: 1 });
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^churn_prediction_log_buffered 1$/m);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^churn_prediction_log_store_up 0$/m);
      expect(app.predictionLog.store).toBeUndefined();
      // The drift windows' view of the store refuses at once instead of waiting on the database.
      await expect(app.predictionLogStore!.sumDriftMinutes('ab'.repeat(32), Date.now())).rejects.toBeInstanceOf(PredictionLogUnavailableError);
      const outcome = await postJson(app, '/outcomes', { outcomes: [{ customer_id: 'crm-1', churned: true, observed_at: new Date().toISOString() }] });
      expect(outcome.statusCode).toBe(503);
      expect(outcome.headers['retry-after']).toBe('5');
    } finally {
      await app.close();
    }
  });

  it('PREDICTION_LOG=false: readiness says disabled and there is no store', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'false' });
    try {
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).json().prediction_log).toEqual({ state: 'disabled', store: null, buffered: 0 });
      expect(app.predictionLog).toMatchObject({ enabled: false, store: undefined });
      expect(app.predictionLogStore).toBeNull();
    } finally {
      await app.close();
    }
  });

  it('a backup with VACUUM INTO while the service runs holds every record written (docs/operations.md)', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-app-'));
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', DATA_DIR: dataDir });
    try {
      for (let index = 0; index < 3; index += 1) expect((await postJson(app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
      await vi.waitFor(() => expect(app.predictionLog.buffered).toBe(0), { timeout: 5_000, interval: 20 });
      // Another connection, as sqlite3 in a sidecar would open it, while the service holds the file open in WAL mode.
      const live = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
      live.exec(`VACUUM INTO '${join(dataDir, 'backup.sqlite')}'`);
      live.close();
      const backup = new DatabaseSync(join(dataDir, 'backup.sqlite'), { readOnly: true });
      expect(backup.prepare('SELECT count(*) AS count FROM predictions').get()).toEqual({ count: 3 });
      backup.close();
    } finally {
      await app.close();
    }
  });
});
