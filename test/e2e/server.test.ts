import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VALID_CUSTOMER } from '../helpers.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from './server-process.js';

const post = (server: ServerProcess, path: string, body: unknown) =>
  fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the real server over HTTP', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = startServer({ LOG_LEVEL: 'info' }, await freePort());
    await waitUntilHealthy(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is healthy with the model loaded', async () => {
    const response = await fetch(`${server.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'healthy', model_loaded: true });
  });

  it('predicts for a valid customer', async () => {
    const response = await post(server, '/predict', { ...VALID_CUSTOMER, customer_id: 'e2e-1' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ customer_id: 'e2e-1', risk_tier: expect.stringMatching(/^(HIGH|MEDIUM|LOW)$/) });
    expect(typeof body.churn_probability).toBe('number');
    expect(typeof body.churn_prediction).toBe('boolean');
  });

  it('answers tenure 999 with 422', async () => {
    const response = await post(server, '/predict', { ...VALID_CUSTOMER, tenure_months: 999 });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { detail: { loc: unknown }[] }).detail[0]!.loc).toEqual(['body', 'tenure_months']);
  });

  it('answers a batch of two with batch_size 2', async () => {
    const response = await post(server, '/predict/batch', { customers: [VALID_CUSTOMER, { ...VALID_CUSTOMER, tenure_months: 60 }] });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { batch_size: number }).batch_size).toBe(2);
  });

  it('serves the ReDoc bundle copied at build time, which loads nothing from another host', async () => {
    const response = await fetch(`${server.baseUrl}/redoc/redoc.standalone.js`);
    expect(response.status).toBe(200);
    const bundle = await response.text();
    expect(bundle.length).toBeGreaterThan(500_000);
    expect(bundle).not.toContain('cdn.redoc.ly');
    expect(bundle).toContain('data:image/svg+xml;base64,');
  });

  it('logs one JSON line per request with the request id', async () => {
    await fetch(`${server.baseUrl}/health`, { headers: { 'x-request-id': 'e2e-log-check' } });
    // The line is written after the response is sent, so it may trail the answer a little.
    const linesFor = () => server.output().split('\n').filter((line) => line.includes('"e2e-log-check"'));
    await vi.waitFor(() => expect(linesFor()).not.toHaveLength(0), { timeout: 5000, interval: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = linesFor();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ method: 'GET', path: '/health', statusCode: 200, reqId: 'e2e-log-check' });
  });

  it('drains and exits 0 on SIGTERM, having written a log line for every request', async () => {
    const ids = Array.from({ length: 300 }, (_, index) => `e2e-drain-${index}`);
    const responses = await Promise.all(
      ids.map((id) => fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: JSON.stringify(VALID_CUSTOMER) })),
    );
    expect(responses.map((response) => response.status)).toEqual(ids.map(() => 200));
    expect(await server.stop('SIGTERM')).toBe(0);
    const lines = server.output().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { reqId?: string; msg: string });
    const logged = new Set(lines.filter((line) => line.msg === 'request completed').map((line) => line.reqId));
    expect(ids.filter((id) => !logged.has(id))).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('shutdown complete');
  });
});

describe('start-up failures of the real process', () => {
  it('exits non-zero with one clear line when the model is missing', async () => {
    const server = startServer({ MODEL_PATH: '/nonexistent/model.onnx' }, await freePort());
    expect(await server.exited).not.toBe(0);
    const fatal = server.output().split('\n').filter((line) => line.includes('"level":60'));
    expect(fatal).toHaveLength(1);
    expect(JSON.parse(fatal[0]!).msg).toBe('Model not found at /nonexistent/model.onnx');
  });

  it('reports a failed start on standard error even with LOG_LEVEL=silent', async () => {
    const server = startServer({ MODEL_PATH: '/nonexistent/model.onnx', LOG_LEVEL: 'silent' }, await freePort());
    expect(await server.exited).toBe(1);
    const lines = server.stderr().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: 'Model not found at /nonexistent/model.onnx' });
  });

  it('exits non-zero naming the variable when the config is invalid', async () => {
    const server = startServer({ PREDICTION_THRESHOLD: 'high' }, await freePort());
    expect(await server.exited).not.toBe(0);
    expect(server.output()).toContain('PREDICTION_THRESHOLD must be a number from 0 to 1, got \\"high\\"');
  });
});

describe('worker processes', () => {
  it('serves from WORKERS=2 processes, replaces a crashed one, and drains all on SIGTERM', async () => {
    const server = startServer({ WORKERS: '2', LOG_LEVEL: 'info' }, await freePort());
    try {
      await waitUntilHealthy(server);
      const workerPids = () =>
        [...server.output().matchAll(/"pid":(\d+),[^\n]*"msg":"model loaded"/g)].map((match) => Number(match[1]));
      // Up to the test's own timeout, as long as the workers take to load.
      await vi.waitFor(() => expect(workerPids()).toHaveLength(2), { timeout: 30_000, interval: 50 });
      const [first, second] = workerPids();
      expect(first).not.toBe(second);
      expect(first).not.toBe(server.child.pid);

      process.kill(first!, 'SIGKILL');
      await vi.waitFor(() => expect(workerPids()).toHaveLength(3), { timeout: 30_000, interval: 50 });
      expect(server.output()).toMatch(new RegExp(`"pid":${first},[^\\n]*worker died; starting a replacement`));
      await waitUntilHealthy(server);
      const response = await post(server, '/predict', VALID_CUSTOMER);
      expect(response.status).toBe(200);
      // Every protocol is served by every worker.
      const inferred = await post(server, '/v2/models/churn/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: Object.values(VALID_CUSTOMER) }] });
      expect(inferred.status).toBe(200);
      expect(((await inferred.json()) as { outputs: unknown[] }).outputs).toHaveLength(2);

      expect(await server.stop('SIGTERM')).toBe(0);
      expect(server.output().match(/"msg":"shutdown complete"/g)).toHaveLength(2);
      expect(server.output()).toContain('all workers drained; shutdown complete');
    } finally {
      await server.stop('SIGKILL');
    }
  });

  it('stops instead of restarting workers in a loop when they cannot start', async () => {
    const server = startServer({ WORKERS: '2', MODEL_PATH: '/nonexistent/model.onnx' }, await freePort());
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('Model not found at /nonexistent/model.onnx');
    expect(server.output()).toContain('a worker failed to start; stopping the service');
  });
});
