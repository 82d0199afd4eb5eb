import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionedModels, writeModelVersion, type VersionedModels } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';

const TOKEN = 'admin-token-0123456789';
let models: VersionedModels | undefined;
let MODEL: string;
beforeAll(() => {
  models = versionedModels(['3.0.0']);
  MODEL = models.paths[0]!;
});
afterAll(() => models?.remove());

const reload = (app: Awaited<ReturnType<typeof buildTestApp>>['app'], authorization?: string) =>
  app.inject({ method: 'POST', url: '/admin/reload', headers: authorization ? { authorization } : {} });

describe('POST /admin/reload', () => {
  it('does not exist without ADMIN_TOKEN', async () => {
    const { app } = await buildTestApp();
    try {
      expect((await reload(app, `Bearer ${TOKEN}`)).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/openapi.json' })).json().paths).not.toHaveProperty('/admin/reload');
    } finally {
      await app.close();
    }
  });

  it.each([undefined, 'Bearer wrong-token-0123456789', `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN}x`])('refuses authorization %s with 401', async (authorization) => {
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN });
    try {
      const response = await reload(app, authorization);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="admin"');
      expect(response.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: 'A valid admin bearer token is required.' });
    } finally {
      await app.close();
    }
  });

  it('swaps in the model now at MODEL_PATH, and predictions, health and metrics follow', async () => {
    writeModelVersion(MODEL, '3.0.0');
    const { app } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: MODEL });
    try {
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).json().model_version).toBe('3.0.0');
      writeModelVersion(MODEL, '3.1.0');
      const response = await reload(app, `bearer  ${TOKEN}`);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        status: 'reloaded',
        model_version: '3.1.0',
        message: 'Every worker (1) serves the new model.',
        workers: [{ pid: process.pid, status: 'reloaded', model_version: '3.1.0' }],
      });
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).json().model_version).toBe('3.1.0');
      expect((await app.inject({ method: 'GET', url: '/health' })).json().model_version).toBe('3.1.0');
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sampleValue(metrics, 'churn_model_info', { model_version: '3.1.0' })).toBe(1);
      expect(sampleValue(metrics, 'churn_model_info', { model_version: '3.0.0' })).toBeUndefined();
      expect(sampleValue(metrics, 'churn_model_loads_total', { trigger: 'reload', outcome: 'success' })).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('keeps the current model when the new file is bad, and says why', async () => {
    writeModelVersion(MODEL, '4.0.0');
    const { app, logs } = await buildTestApp({ ADMIN_TOKEN: TOKEN, MODEL_PATH: MODEL });
    try {
      writeFileSync(MODEL, 'not an onnx model');
      const response = await reload(app, `Bearer ${TOKEN}`);
      expect(response.statusCode).toBe(422);
      const body = response.json();
      expect(body).toMatchObject({ status: 'failed', model_version: null, workers: [{ pid: process.pid, status: 'failed' }] });
      expect(body.message).toMatch(/^1 of 1 workers kept their current model: Model at .* is not a valid ONNX model/);
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).json().model_version).toBe('4.0.0');
      expect(sampleValue((await app.inject({ method: 'GET', url: '/metrics' })).body, 'churn_model_loads_total', { trigger: 'reload', outcome: 'failure' })).toBe(1);
      expect(logs.some((line) => line.level === 50 && line.msg === 'model reload failed; the current model keeps serving' && line.servingVersion === '4.0.0')).toBe(true);
    } finally {
      writeModelVersion(MODEL, '4.0.0');
      await app.close();
    }
  });
});
