import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { versionedModels, type VersionedModels } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';

const TOKEN = 'admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
let models: VersionedModels;
let CHAMPION: string, CHALLENGER: string, BROKEN: string;
beforeAll(() => {
  models = versionedModels(['4.0.0', '4.1.0', '4.2.0']);
  [CHAMPION, CHALLENGER, BROKEN] = models.paths as [string, string, string];
  writeFileSync(BROKEN, 'not a model');
});
afterAll(() => models?.remove());

const load = (app: FastifyInstance, body: object, headers: Record<string, string> = AUTH) =>
  app.inject({ method: 'PUT', url: '/admin/challenger', payload: body, headers: { ...headers, 'x-request-id': 'put-1' } });
const promote = (app: FastifyInstance) => app.inject({ method: 'POST', url: '/admin/challenger/promote', headers: AUTH });
const modelInfo = async (app: FastifyInstance) => (await app.inject({ method: 'GET', url: '/model' })).json();
const customers = (count: number) => Array.from({ length: count }, (_, index) => ({ ...VALID_CUSTOMER, tenure_months: index % 72, customer_id: `crm-${index}` }));

describe('the challenger admin routes', () => {
  it('need the admin token, and do not exist without one', async () => {
    const open = await buildTestApp();
    const guarded = await buildTestApp({ ADMIN_TOKEN: TOKEN });
    try {
      expect((await load(open.app, { path: CHALLENGER })).statusCode).toBe(404);
      expect((await load(guarded.app, { path: CHALLENGER }, {})).statusCode).toBe(401);
      expect((await guarded.app.inject({ method: 'DELETE', url: '/admin/challenger' })).statusCode).toBe(401);
      expect((await guarded.app.inject({ method: 'POST', url: '/admin/challenger/promote', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode).toBe(401);
      expect(guarded.app.dataPlane.challenger).toBeUndefined();
    } finally {
      await Promise.all([open.app.close(), guarded.app.close()]);
    }
  });

  it('refuses a broken file, the champion\'s own file and a body out of range, and the champion serves as before', async () => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION });
    try {
      const broken = await load(app, { path: BROKEN });
      expect(broken.statusCode).toBe(422);
      expect(broken.json()).toMatchObject({ status: 'failed', action: 'load', challenger: null, workers: [{ pid: process.pid, status: 'failed' }] });
      expect(broken.json().message).toMatch(/is not a valid ONNX model/);
      const same = await load(app, { path: CHAMPION });
      expect(same.statusCode).toBe(422);
      expect(same.json().message).toMatch(/champion's own file/);
      const outOfRange = await load(app, { path: CHALLENGER, share: 1.5 });
      expect(outOfRange.statusCode).toBe(422);
      expect(outOfRange.json().detail).toBeInstanceOf(Array);
      expect((await load(app, { path: CHALLENGER, mode: 'mirror' })).statusCode).toBe(422);
      expect((await modelInfo(app)).challenger).toBeNull();
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).json().model_version).toBe('4.0.0');
      expect((await promote(app)).statusCode).toBe(409);
    } finally {
      await app.close();
    }
  });

  it('in shadow, answers what the champion alone answers while the log keeps both scores of every row under one row key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'challenger-log-'));
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION, PREDICTION_LOG: 'true', DATA_DIR: dataDir });
    try {
      const batch = { customers: customers(20) };
      const alone = await postJson(app, '/predict/batch', batch);
      const loaded = await load(app, { path: CHALLENGER });
      expect(loaded.statusCode).toBe(200);
      const challenger = { version: '4.1.0', sha256: app.dataPlane.challenger!.sha256, mode: 'shadow', share: 1 };
      expect(loaded.json()).toMatchObject({ status: 'done', action: 'load', champion: { version: '4.0.0' }, challenger });
      const shadowed = await postJson(app, '/predict/batch', batch);
      expect(JSON.parse(shadowed.body).predictions).toEqual(JSON.parse(alone.body).predictions);
      expect((await modelInfo(app)).challenger).toEqual(challenger);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await app.close();
      const store = new SqlitePredictionLogStore(dataDir);
      const records = (await store.recent(1000)).filter((record) => record.recordedAt.getTime() >= 0);
      await store.close();
      const served = records.filter((record) => record.served);
      const shadows = records.filter((record) => !record.served);
      expect(served).toHaveLength(40);
      expect(shadows).toHaveLength(20);
      for (const shadow of shadows) {
        const twin = served.find((record) => record.rowKey === shadow.rowKey)!;
        expect(twin.predictionId).toBe(shadow.rowKey);
        expect([twin.role, twin.modelVersion, shadow.role, shadow.modelVersion]).toEqual(['champion', '4.0.0', 'challenger', '4.1.0']);
        expect(shadow.customerId).toBe(twin.customerId);
        expect(shadow.features).toEqual(twin.features);
      }
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('as a 50 % canary, answers about half the customers with the challenger, each always by the same model, the version per row', async () => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION });
    try {
      expect((await load(app, { path: CHALLENGER, mode: 'canary', share: 0.5 })).statusCode).toBe(200);
      const all = customers(100);
      const first = (await postJson(app, '/predict/batch', { customers: all })).json().predictions as { model_version: string; customer_id: string }[];
      const versions = new Set(first.map((prediction) => prediction.model_version));
      expect(versions).toEqual(new Set(['4.0.0', '4.1.0']));
      for (const customer of all.slice(0, 10)) {
        const again = (await postJson(app, '/predict', customer)).json();
        expect(again.model_version).toBe(first.find((prediction) => prediction.customer_id === customer.customer_id)!.model_version);
      }
      // Open Inference keeps a request on one model: its answer names one version.
      const infer = await postJson(app, '/v2/models/churn/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 5], data: Array(3).fill([2, 70.7, 151.65, 2, 0]).flat() }] });
      expect(infer.statusCode).toBe(200);
      expect(['4.0.0', '4.1.0']).toContain(infer.json().model_version);
    } finally {
      await app.close();
    }
  });

  it('promotes, promotes again to roll back, drops, and GET /model lists each change with who asked and when', async () => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION });
    try {
      await load(app, { path: CHALLENGER, mode: 'canary', share: 0.1 });
      const promoted = await promote(app);
      expect(promoted.statusCode).toBe(200);
      expect(promoted.json()).toMatchObject({ status: 'done', action: 'promote', champion: { version: '4.1.0' }, challenger: { version: '4.0.0', mode: 'shadow', share: 0.1 } });
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).json().model_version).toBe('4.1.0');
      expect((await modelInfo(app)).model_version).toBe('4.1.0');
      const rolledBack = await promote(app);
      expect(rolledBack.json()).toMatchObject({ status: 'done', action: 'rollback', champion: { version: '4.0.0' }, challenger: { version: '4.1.0' }, workers: [{ change: 'rollback' }] });
      // Named, the same rollback again changes nothing, and is not reported as a rollback of its own.
      const repeated = await app.inject({ method: 'POST', url: `/admin/challenger/promote?sha256=${(await modelInfo(app)).onnx_sha256}`, headers: AUTH });
      expect(repeated.json()).toMatchObject({ status: 'done', action: 'promote', workers: [{ change: 'none' }] });
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).json().model_version).toBe('4.0.0');
      const dropped = await app.inject({ method: 'DELETE', url: '/admin/challenger', headers: AUTH });
      expect(dropped.json()).toMatchObject({ status: 'done', action: 'drop', challenger: null });
      const info = await modelInfo(app);
      expect(info.challenger).toBeNull();
      expect(info.rollout_history.map((event: { action: string }) => event.action)).toEqual(['load', 'promote', 'rollback', 'drop']);
      expect(info.rollout_history[0]).toMatchObject({ by: { address: '127.0.0.1', request_id: 'put-1' }, champion: { version: '4.0.0' }, challenger: { version: '4.1.0', mode: 'canary', share: 0.1 } });
      expect(Date.parse(info.rollout_history[0].at)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await app.close();
    }
  });

  it('answers rollback when a worker undid its last promotion, though one started since (no history) says promote', async () => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION });
    try {
      await load(app, { path: CHALLENGER, mode: 'shadow', share: 1 });
      const models = { champion: { version: '4.0.0', sha256: 'a'.repeat(64) }, challenger: { version: '4.1.0', sha256: 'b'.repeat(64), mode: 'shadow' as const, share: 1 } };
      vi.spyOn(app.workers, 'gather').mockResolvedValueOnce([
        { pid: 101, result: { ...models, change: 'rollback' } },
        { pid: 102, result: { ...models, change: 'promote' } },
      ]);
      const answer = (await promote(app)).json();
      expect(answer).toMatchObject({ status: 'done', action: 'rollback', message: 'Every worker (2) made the change.', workers: [{ pid: 101, change: 'rollback' }, { pid: 102, change: 'promote' }] });
    } finally {
      await app.close();
    }
  });

  it('promotes the model ?sha256= names once: the same call again changes nothing, and a model the worker holds neither way is refused', async () => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION });
    const promoteNamed = (sha256: string) => app.inject({ method: 'POST', url: `/admin/challenger/promote?sha256=${sha256}`, headers: AUTH });
    try {
      await load(app, { path: CHALLENGER, mode: 'shadow', share: 1 });
      const target: string = (await modelInfo(app)).challenger.sha256;
      const [first, again] = [await promoteNamed(target), await promoteNamed(target)];
      for (const answer of [first, again]) {
        expect(answer.statusCode).toBe(200);
        expect(answer.json()).toMatchObject({ status: 'done', action: 'promote', champion: { version: '4.1.0', sha256: target }, challenger: { version: '4.0.0' } });
      }
      expect(first.json()).toMatchObject({ message: 'Every worker (1) made the change.', workers: [{ status: 'done', change: 'promote' }] });
      // The repeat says that it changed nothing, worker by worker.
      expect(again.json()).toMatchObject({ message: "Nothing changed: the model asked for is every worker's (1) champion already.", workers: [{ status: 'done', change: 'none' }] });
      const refused = await promoteNamed('0'.repeat(64));
      expect(refused.statusCode).toBe(422);
      expect(refused.json()).toMatchObject({ status: 'failed', workers: [{ status: 'failed', error: expect.stringMatching(/neither the champion nor the challenger here \(the challenger is 4\.0\.0/) }] });
      expect((await app.inject({ method: 'POST', url: '/admin/challenger/promote?sha256=not-a-hash', headers: AUTH })).statusCode).toBe(422);
      const info = await modelInfo(app);
      expect([info.model_version, info.challenger.version]).toEqual(['4.1.0', '4.0.0']);
      expect(info.rollout_history.map((event: { action: string }) => event.action)).toEqual(['load', 'promote']);
    } finally {
      await app.close();
    }
  });

  it('loads CHALLENGER_MODEL_PATH at start, and a bad one leaves the champion serving alone', async () => {
    const good = await buildTestApp({ MODEL_PATH: CHAMPION, CHALLENGER_MODEL_PATH: CHALLENGER, CHALLENGER_MODE: 'canary', CHALLENGER_SHARE: '0.25' });
    const bad = await buildTestApp({ MODEL_PATH: CHAMPION, CHALLENGER_MODEL_PATH: BROKEN });
    try {
      expect((await modelInfo(good.app)).challenger).toMatchObject({ version: '4.1.0', mode: 'canary', share: 0.25 });
      expect((await modelInfo(bad.app)).challenger).toBeNull();
      expect(bad.logs.some((line) => line.msg === 'challenger load failed; the champion serves as before')).toBe(true);
      expect((await postJson(bad.app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
    } finally {
      await Promise.all([good.app.close(), bad.app.close()]);
    }
  });

  it('counts per role and version: answers, runs served and in shadow, shadow scores, the queue and its overflow', async () => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: CHAMPION, SHADOW_QUEUE_MAX_ROWS: '5' });
    try {
      await load(app, { path: CHALLENGER });
      expect((await postJson(app, '/predict/batch', { customers: customers(8) })).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      let metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_predictions_total', { model_version: '4.0.0', role: 'champion' })).toBe(8);
      expect(sampleValue(metrics, 'churn_inference_rows_total', { model_version: '4.1.0', role: 'challenger', served: 'false' })).toBe(5);
      expect(sampleValue(metrics, 'churn_shadow_probability_count', { model_version: '4.1.0', role: 'challenger' })).toBe(5);
      expect(sampleValue(metrics, 'churn_shadow_rows_dropped_total', { reason: 'queue_full' })).toBe(3);
      expect(sampleValue(metrics, 'churn_shadow_queue_rows')).toBe(0);
      expect(sampleValue(metrics, 'churn_challenger_info', { model_version: '4.1.0' })).toBe(1);
      await load(app, { path: CHALLENGER, mode: 'canary', share: 1 });
      await postJson(app, '/predict', { ...VALID_CUSTOMER, customer_id: 'crm-1' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_predictions_total', { model_version: '4.1.0', role: 'challenger' })).toBe(1);
      expect(sampleValue(metrics, 'churn_shadow_probability_count', { model_version: '4.0.0', role: 'champion' })).toBe(1);
      await app.inject({ method: 'DELETE', url: '/admin/challenger', headers: AUTH });
      metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_challenger_info', { model_version: '4.1.0' })).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
