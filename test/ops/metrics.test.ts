import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MetricsSnapshot } from '../../src/metrics/service-metrics.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';
import { metricTypes, parsePrometheus, sampleValue } from '../prometheus-text.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp({ MICRO_BATCH_MAX_DELAY_MS: '5' });
});
afterAll(async () => testApp.app.close());
afterEach(() => vi.restoreAllMocks());

const scrape = async () => {
  const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return response;
};

describe('GET /metrics', () => {
  it('answers the Prometheus text format with process and Node.js defaults', async () => {
    const response = await scrape();
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const types = metricTypes(response.body);
    expect(types).toMatchObject({
      process_cpu_user_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      http_requests_total: 'counter',
      http_request_duration_seconds: 'histogram',
      churn_inference_runs_total: 'counter',
      churn_inference_rows_total: 'counter',
      churn_inference_batch_size: 'histogram',
      churn_inference_run_duration_seconds: 'histogram',
      churn_inference_queue_wait_seconds: 'histogram',
      churn_request_stage_duration_seconds: 'histogram',
      churn_log_lines_dropped_total: 'counter',
      churn_inference_failures_total: 'counter',
      churn_predictions_total: 'counter',
      churn_prediction_probability: 'histogram',
      churn_predictions_by_risk_tier_total: 'counter',
      churn_model_info: 'gauge',
      churn_model_loads_total: 'counter',
    });
    expect(parsePrometheus(response.body).length).toBeGreaterThan(50);
  });

  it('reports the model served and its start-up load', async () => {
    const { body } = await scrape();
    expect(sampleValue(body, 'churn_model_info', { model_name: 'churn', model_version: '1.2.0' })).toBe(1);
    expect(parsePrometheus(body).filter((sample) => sample.name === 'churn_model_info')).toHaveLength(1);
    expect(sampleValue(body, 'churn_model_loads_total', { model_name: 'churn', trigger: 'startup', outcome: 'success' })).toBe(1);
  });

  it('counts requests by method, route pattern and status, with their latency in seconds', async () => {
    const before = await scrape();
    const labels = { method: 'POST', route: '/predict', status_code: '200' };
    const count = (text: string) => sampleValue(text, 'http_requests_total', labels) ?? 0;
    for (let index = 0; index < 3; index += 1) await postJson(testApp.app, '/predict', VALID_CUSTOMER);
    await postJson(testApp.app, '/predict', { ...VALID_CUSTOMER, tenure_months: 999 });
    await testApp.app.inject({ method: 'GET', url: '/no/such/route/12345' });
    const after = (await scrape()).body;
    expect(count(after) - count(before.body)).toBe(3);
    expect(sampleValue(after, 'http_requests_total', { route: '/predict', status_code: '422' })).toBeGreaterThanOrEqual(1);
    // Unknown URLs share one label value, so they cannot grow the series without bound.
    expect(sampleValue(after, 'http_requests_total', { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(after).not.toContain('12345');
    const durations = parsePrometheus(after).filter((sample) => sample.name === 'http_request_duration_seconds_bucket' && sample.labels.route === '/predict' && sample.labels.status_code === '200');
    expect(durations.find((sample) => sample.labels.le === '+Inf')?.value).toBe(count(after));
    const sum = sampleValue(after, 'http_request_duration_seconds_sum', labels)!;
    expect(sum).toBeGreaterThan(0);
    // Seconds, not milliseconds: a few requests on a local app take well under a second each.
    expect(sum / count(after)).toBeLessThan(1);
  });

  it('splits the time of each request that reached the model by stage, route and model version; refused requests and probes are not counted', async () => {
    const stage = (text: string, route: string, name: string) => sampleValue(text, 'churn_request_stage_duration_seconds_count', { route, model_version: '1.2.0', stage: name }) ?? 0;
    const before = (await scrape()).body;
    await postJson(testApp.app, '/predict?explain=true', VALID_CUSTOMER);
    await postJson(testApp.app, '/predict', VALID_CUSTOMER);
    await postJson(testApp.app, '/predict/batch', { customers: [VALID_CUSTOMER, VALID_CUSTOMER] });
    await postJson(testApp.app, '/predict', { ...VALID_CUSTOMER, tenure_months: 999 });
    await testApp.app.inject({ method: 'GET', url: '/health/ready' });
    const after = (await scrape()).body;
    const added = (route: string, name: string) => stage(after, route, name) - stage(before, route, name);
    expect(['queue', 'model', 'explain', 'request'].map((name) => added('/predict', name))).toEqual([2, 2, 1, 2]);
    expect(['queue', 'model', 'explain', 'request'].map((name) => added('/predict/batch', name))).toEqual([1, 1, 0, 1]);
    const series = parsePrometheus(after).filter((sample) => sample.name === 'churn_request_stage_duration_seconds_count');
    expect(series.every((sample) => sample.labels.route?.startsWith('/predict') || sample.labels.route?.startsWith('/v2/models'))).toBe(true);
    // Seconds: the model's part of a request is within the whole request.
    const sum = (name: string) => sampleValue(after, 'churn_request_stage_duration_seconds_sum', { route: '/predict', model_version: '1.2.0', stage: name })!;
    expect(sum('model')).toBeGreaterThan(0);
    expect(sum('model')).toBeLessThan(sum('request'));
  });

  it('counts model runs, rows, rows per run, run time and queue wait', async () => {
    const before = (await scrape()).body;
    const model = { model_name: 'churn', model_version: '1.2.0' };
    const value = (text: string, name: string, labels: Record<string, string> = model) => sampleValue(text, name, labels) ?? 0;
    await Promise.all(Array.from({ length: 4 }, () => postJson(testApp.app, '/predict', VALID_CUSTOMER)));
    await postJson(testApp.app, '/predict/batch', { customers: Array.from({ length: 7 }, () => VALID_CUSTOMER) });
    const after = (await scrape()).body;
    expect(value(after, 'churn_inference_runs_total') - value(before, 'churn_inference_runs_total')).toBe(2);
    expect(value(after, 'churn_inference_rows_total') - value(before, 'churn_inference_rows_total')).toBe(11);
    const bucket = (text: string, le: string) => value(text, 'churn_inference_batch_size_bucket', { ...model, le });
    expect(bucket(after, '4') - bucket(before, '4')).toBe(1);
    expect(bucket(after, '8') - bucket(before, '8')).toBe(2);
    const runSeconds = value(after, 'churn_inference_run_duration_seconds_sum') - value(before, 'churn_inference_run_duration_seconds_sum');
    expect(runSeconds).toBeGreaterThan(0);
    expect(runSeconds).toBeLessThan(1);
    // The four coalesced calls each waited the 5 ms delay; the batch request did not queue.
    expect(value(after, 'churn_inference_queue_wait_seconds_count', {}) - value(before, 'churn_inference_queue_wait_seconds_count', {})).toBe(4);
    const waited = value(after, 'churn_inference_queue_wait_seconds_sum', {}) - value(before, 'churn_inference_queue_wait_seconds_sum', {});
    expect(waited).toBeGreaterThanOrEqual(4 * 0.004);
    expect(waited).toBeLessThan(4);
  });

  it('counts failed runs', async () => {
    const before = sampleValue((await scrape()).body, 'churn_inference_failures_total', { model_version: '1.2.0' }) ?? 0;
    testApp.predict.mockRejectedValueOnce(new Error('boom'));
    expect((await postJson(testApp.app, '/predict/batch', { customers: [VALID_CUSTOMER] })).statusCode).toBe(500);
    expect(sampleValue((await scrape()).body, 'churn_inference_failures_total', { model_version: '1.2.0' })).toBe(before + 1);
  });

  it('records every probability served and each prediction by risk tier', async () => {
    const before = (await scrape()).body;
    const customers = [VALID_CUSTOMER, { ...VALID_CUSTOMER, tenure_months: 60, has_support_calls: 1 }, { ...VALID_CUSTOMER, tenure_months: 1, monthly_charges: 100 }];
    const { predictions } = (await postJson(testApp.app, '/predict/batch', { customers })).json() as { predictions: { churn_probability: number; risk_tier: string }[] };
    const after = (await scrape()).body;
    const delta = (name: string, labels: Record<string, string>) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    expect(delta('churn_predictions_total', { protocol: 'churn', model_name: 'churn', model_version: '1.2.0' })).toBe(3);
    expect(delta('churn_prediction_probability_count', { protocol: 'churn' })).toBe(3);
    const sum = delta('churn_prediction_probability_sum', { protocol: 'churn' });
    expect(sum).toBeCloseTo(predictions.reduce((total, prediction) => total + prediction.churn_probability, 0), 3);
    for (const le of ['0.2', '0.5', '0.8']) {
      expect(delta('churn_prediction_probability_bucket', { protocol: 'churn', le })).toBe(predictions.filter((prediction) => prediction.churn_probability <= Number(le)).length);
    }
    for (const tier of ['LOW', 'MEDIUM', 'HIGH']) {
      expect(delta('churn_predictions_by_risk_tier_total', { risk_tier: tier }), tier).toBe(predictions.filter((prediction) => prediction.risk_tier === tier).length);
    }
  });

  it('answers 503, not a partial sum, when a worker does not answer the gather', async () => {
    const [own] = await testApp.app.workers.gather('metrics', undefined, 1000);
    vi.spyOn(testApp.app.workers, 'gather').mockResolvedValueOnce([own!, { pid: 4242, error: 'no answer in 3000 ms' }]);
    const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });
    expect([response.statusCode, response.headers['content-type'], response.body]).toEqual([
      503,
      'text/plain; charset=utf-8',
      '# metrics incomplete: 1 of 2 workers did not answer\n',
    ]);
    expect(testApp.logs.some((line) => line.level === 50 && line.msg === 'metrics scrape incomplete')).toBe(true);
    // The next scrape, with every worker answering, is whole again.
    expect((await scrape()).body).toContain('churn_inference_runs_total');
  });

  it("adds the primary's own outcome, the counts of workers that have exited, and counts only workers as missing", async () => {
    const [own] = await testApp.app.workers.gather('metrics', undefined, 1000);
    const labels = { method: 'GET', route: '/exited', status_code: '200' };
    const retired = [{ name: 'http_requests_total', help: 'HTTP requests answered.', type: 'counter', aggregator: 'sum', values: [{ labels, value: 40 }] }] as unknown as MetricsSnapshot;
    const primary = { pid: 1, result: retired, fromPrimary: true as const };
    vi.spyOn(testApp.app.workers, 'gather').mockResolvedValueOnce([own!, primary]);
    expect(sampleValue((await scrape()).body, 'http_requests_total', labels)).toBe(40);

    vi.spyOn(testApp.app.workers, 'gather').mockResolvedValueOnce([own!, { pid: 4242, error: 'no answer in 3000 ms' }, primary]);
    const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });
    expect([response.statusCode, response.body]).toEqual([503, '# metrics incomplete: 1 of 2 workers did not answer\n']);
  });

  it('is in the OpenAPI document as plain text', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/metrics'].get.responses['200'].content).toHaveProperty('text/plain');
  });
});
