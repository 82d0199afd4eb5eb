import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());
afterEach(() => vi.restoreAllMocks());

const get = (url: string) => testApp.app.inject({ method: 'GET', url });
/** The prediction log is on by default: SQLite in the test app's own data directory. */
const LOG_UP = { state: 'up', store: 'sqlite', buffered: 0 };

describe('probes', () => {
  it('/health/live answers 200 while the process runs', async () => {
    const response = await get('/health/live');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'alive' });
  });

  it('/health/ready answers 200 with the model loaded', async () => {
    const response = await get('/health/ready');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', model_loaded: true, draining: false, model_version: '1.2.0', degraded: false, prediction_log: LOG_UP });
  });

  it('/health/ready stays 200 whatever the prediction log store does, and says what it does', async () => {
    for (const state of ['connecting', 'down', 'incompatible'] as const) {
      vi.spyOn(testApp.app.predictionLog, 'state', 'get').mockReturnValue(state);
      const response = await get('/health/ready');
      expect(response.statusCode, state).toBe(200);
      expect(response.json()).toMatchObject({ status: 'ready', prediction_log: { state, store: 'sqlite' } });
    }
  });

  it('/health/ready stays 200 from a serving worker while siblings are down, and says the service is degraded', async () => {
    const counts = vi.spyOn(testApp.app.workers, 'counts', 'get');
    counts.mockReturnValue({ expected: 3, serving: 1, starting: 1, failed: 1 });
    const degraded = await get('/health/ready');
    expect(degraded.statusCode).toBe(200);
    expect(degraded.json()).toEqual({ status: 'ready', model_loaded: true, draining: false, model_version: '1.2.0', degraded: true, workers: { expected: 3, serving: 1, starting: 1, failed: 1 }, prediction_log: LOG_UP });
    counts.mockReturnValue({ expected: 3, serving: 3, starting: 0, failed: 0 });
    expect((await get('/health/ready')).json()).toMatchObject({ status: 'ready', degraded: false, workers: { expected: 3, serving: 3, starting: 0, failed: 0 } });
  });

  it('/health/ready answers 503 without a model, /health/live still 200', async () => {
    vi.spyOn(testApp.app.dataPlane, 'model', 'get').mockReturnValue(undefined);
    vi.spyOn(testApp.app.dataPlane, 'ready', 'get').mockReturnValue(false);
    const ready = await get('/health/ready');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'not_ready', model_loaded: false, draining: false, model_version: null, degraded: false, prediction_log: LOG_UP });
    expect((await get('/health/live')).statusCode).toBe(200);
  });

  it('are all in the OpenAPI document', async () => {
    const spec = (await get('/openapi.json')).json();
    for (const path of ['/health', '/health/live', '/health/ready']) expect(spec.paths[path]?.get, path).toBeDefined();
    expect(Object.keys(spec.paths['/health/ready'].get.responses)).toEqual(['200', '503']);
  });
});

describe('draining', () => {
  it('turns readiness 503 at once, keeps serving, and closes every connection after its answer', async () => {
    const { app } = await buildTestApp();
    try {
      const before = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(before.headers.connection).not.toBe('close');
      app.lifecycle.startDraining();
      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not_ready', model_loaded: true, draining: true });
      expect(ready.headers.connection).toBe('close');
      const predict = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(predict.statusCode).toBe(200);
      expect(predict.headers.connection).toBe('close');
      const notFound = await app.inject({ method: 'GET', url: '/nope' });
      expect(notFound.headers.connection).toBe('close');
      expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
