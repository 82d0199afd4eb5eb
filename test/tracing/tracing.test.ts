import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, otlpHeaders, otlpTracesUrl, readConfig } from '../../src/config.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const traceparent = (flags = '01') => `00-${CALLER_TRACE}-${CALLER_SPAN}-${flags}`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;

let receiver: OtlpReceiver;
let testApp: TestApp | undefined;
beforeAll(async () => (receiver = await OtlpReceiver.start()));
afterAll(async () => receiver.close());
beforeEach(() => void receiver.spans.splice(0));
afterEach(async () => {
  await testApp?.app.close();
  testApp = undefined;
});

/** An app exporting JSON to the test's receiver; closing it flushes every span. */
async function tracedApp(env: Record<string, string> = {}): Promise<TestApp> {
  testApp = await buildTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', ...env });
  return testApp;
}

async function closeAndCollect(): Promise<ReceivedSpan[]> {
  await testApp!.app.close();
  testApp = undefined;
  return receiver.spans;
}

const named = (spans: ReceivedSpan[], name: string) => spans.filter((span) => span.name === name);

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it("continues the caller's trace: the request span, its stages as children, traceparent back, the trace id in the request line", async () => {
    const { app, logs } = await tracedApp();
    const response = await postJson(app, '/predict?explain=true', VALID_CUSTOMER, { traceparent: traceparent() });
    expect(response.statusCode).toBe(200);
    const spans = await closeAndCollect();

    const [request] = named(spans, 'POST /predict');
    expect(request).toBeDefined();
    expect(request!.traceId).toBe(CALLER_TRACE);
    expect(request!.parentSpanId).toBe(CALLER_SPAN);
    expect(request!.kind).toBe(SPAN_KIND_SERVER);
    expect(request!.attributes).toMatchObject({ 'http.route': '/predict', 'http.request.method': 'POST', 'http.response.status_code': 200, 'churn.request.id': response.headers['x-request-id'] });
    expect(request!.status.code ?? 0).toBe(0);
    expect(request!.resource).toMatchObject({ 'service.name': 'churn-service' });

    expect(response.headers.traceparent).toBe(`00-${CALLER_TRACE}-${request!.spanId}-01`);
    const line = logs.find((entry) => entry.msg === 'request completed' && entry.path === '/predict');
    expect(line?.traceId).toBe(CALLER_TRACE);

    for (const stage of ['validation', 'queue_wait', 'model_run', 'explanation', 'serialization']) {
      const [span] = named(spans, stage);
      expect(span, stage).toBeDefined();
      expect(span!.traceId, stage).toBe(CALLER_TRACE);
      expect(span!.parentSpanId, stage).toBe(request!.spanId);
      expect(span!.startNs <= span!.endNs, stage).toBe(true);
      // Within the request (its start is read from a millisecond clock).
      expect(span!.startNs >= request!.startNs - 1_000_000n && span!.endNs <= request!.endNs + 1_000_000n, stage).toBe(true);
    }
    // Ordered as the request went: validated, queued, scored, explained, serialized.
    const start = (name: string) => named(spans, name)[0]!.startNs;
    expect(start('validation') <= start('queue_wait') && start('queue_wait') <= start('model_run') && start('model_run') <= start('explanation') && start('explanation') <= start('serialization')).toBe(true);
  });

  it('makes one span per model run, with its model and rows, linked to every request it served', async () => {
    const { app, predict } = await tracedApp();
    const responses = await Promise.all(Array.from({ length: 5 }, () => postJson(app, '/predict', VALID_CUSTOMER)));
    expect(predict).toHaveBeenCalledTimes(1); // one micro-batch served the five
    const spans = await closeAndCollect();

    const requests = named(spans, 'POST /predict');
    expect(requests).toHaveLength(5);
    // Five requests without a caller's trace: five traces.
    expect(new Set(requests.map((span) => span.traceId)).size).toBe(5);
    const runs = named(spans, 'model_run');
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run!.attributes).toMatchObject({ 'churn.model.name': 'churn', 'churn.model.version': '1.2.0', 'churn.model.role': 'champion', 'churn.run.rows': 5, 'churn.run.requests': 5, 'churn.run.served': true });
    expect(run!.links.map((link) => link.spanId).sort()).toEqual(requests.map((span) => span.spanId).sort());
    expect(run!.links.map((link) => link.traceId).sort()).toEqual(requests.map((span) => span.traceId).sort());
    // Its parent is one of the requests it served; each request has its own queue wait.
    expect(requests.map((span) => span.spanId)).toContain(run!.parentSpanId);
    const waits = named(spans, 'queue_wait');
    expect(waits.map((span) => span.parentSpanId).sort()).toEqual(requests.map((span) => span.spanId).sort());
    for (const response of responses) expect(response.headers.traceparent).toMatch(TRACEPARENT);
  });

  it('keeps requests that share an x-request-id apart: a queue wait each, both linked from the run', async () => {
    const { app } = await tracedApp();
    await Promise.all([1, 2].map(() => postJson(app, '/predict', VALID_CUSTOMER, { 'x-request-id': 'same-id' })));
    const spans = await closeAndCollect();
    const requests = named(spans, 'POST /predict');
    expect(requests).toHaveLength(2);
    expect(named(spans, 'queue_wait').map((span) => span.parentSpanId).sort()).toEqual(requests.map((span) => span.spanId).sort());
    expect(named(spans, 'model_run')[0]!.links).toHaveLength(2);
  });

  it('marks a 5xx request span, and the failed model run, as errors', async () => {
    const { app, predict } = await tracedApp();
    predict.mockRejectedValueOnce(new Error('onnxruntime exploded'));
    const response = await postJson(app, '/predict', VALID_CUSTOMER);
    expect(response.statusCode).toBe(500);
    const spans = await closeAndCollect();
    const [request] = named(spans, 'POST /predict');
    expect(request!.status.code).toBe(STATUS_ERROR);
    expect(request!.attributes['http.response.status_code']).toBe(500);
    const [run] = named(spans, 'model_run');
    expect(run!.status).toMatchObject({ code: STATUS_ERROR, message: 'onnxruntime exploded' });
    expect(run!.links.map((link) => link.spanId)).toEqual([request!.spanId]);
  });

  it('leaves a 4xx request span unset, and marks the validation that turned it away', async () => {
    const { app } = await tracedApp();
    const response = await postJson(app, '/predict', { ...VALID_CUSTOMER, tenure_months: 'many' });
    expect(response.statusCode).toBe(422);
    const spans = await closeAndCollect();
    const [request] = named(spans, 'POST /predict');
    expect(request!.status.code ?? 0).toBe(0);
    const [validation] = named(spans, 'validation');
    expect(validation!.status.code).toBe(STATUS_ERROR);
    expect(validation!.parentSpanId).toBe(request!.spanId);
    expect(named(spans, 'model_run')).toHaveLength(0);
  });

  it('traces the Open Inference Protocol too', async () => {
    const { app } = await tracedApp();
    const infer = { inputs: [{ name: 'tenure_months', shape: [1], datatype: 'FP32', data: [VALID_CUSTOMER.tenure_months] }] };
    await postJson(app, '/v2/models/churn/infer', infer, { traceparent: traceparent() });
    const spans = await closeAndCollect();
    const [request] = named(spans, 'POST /v2/models/:model_name/infer');
    expect(request?.traceId).toBe(CALLER_TRACE);
  });

  it('traces neither the probes nor /metrics, and gives their answers no traceparent', async () => {
    const { app } = await tracedApp();
    for (const url of ['/health', '/health/live', '/health/ready', '/v2/health/live', '/v2/health/ready', '/v2/models/churn/ready', '/metrics']) {
      const response = await app.inject({ url, headers: { traceparent: traceparent() } });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers.traceparent, url).toBeUndefined();
    }
    await app.inject({ url: '/model' });
    const spans = await closeAndCollect();
    const [model] = named(spans, 'GET /model');
    expect(spans.map((span) => span.name).sort()).toEqual(['GET /model', 'serialization', 'validation']);
    for (const span of spans) expect(span.traceId).toBe(model!.traceId);
  });

  it("follows the caller's decision not to sample: nothing exported, traceparent still answered", async () => {
    const { app } = await tracedApp();
    const response = await postJson(app, '/predict', VALID_CUSTOMER, { traceparent: traceparent('00') });
    expect(response.headers.traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-00$`));
    expect(await closeAndCollect()).toEqual([]);
  });

  it('samples the share OTEL_TRACES_SAMPLER_ARG asks (0 keeps none)', async () => {
    const { app } = await tracedApp({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    const response = await postJson(app, '/predict', VALID_CUSTOMER);
    expect(response.headers.traceparent).toMatch(/-00$/);
    expect(await closeAndCollect()).toEqual([]);
  });

  it('counts the spans dropped because the export queue was full', async () => {
    const { app } = await tracedApp({ OTEL_BSP_MAX_QUEUE_SIZE: '1', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1', OTEL_BSP_SCHEDULE_DELAY: '60000' });
    await postJson(app, '/predict?explain=true', VALID_CUSTOMER);
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(sampleValue(metrics, 'churn_trace_spans_dropped_total', { reason: 'queue_full' })).toBeGreaterThan(0);
  });

  it('counts the spans whose export failed', async () => {
    const unreachable = await OtlpReceiver.start();
    const url = unreachable.url;
    await unreachable.close();
    // The exporter retries a refused connection until its timeout: a short one ends the retries soon.
    const { app } = await tracedApp({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_BSP_EXPORT_TIMEOUT: '300' });
    await postJson(app, '/predict', VALID_CUSTOMER);
    const deadline = Date.now() + 10_000;
    let dropped: number | undefined = 0;
    while (!dropped && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      dropped = sampleValue((await app.inject({ url: '/metrics' })).body, 'churn_trace_spans_dropped_total', { reason: 'export_failed' });
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it('exports protobuf by default, to <endpoint>/v1/traces, with OTEL_EXPORTER_OTLP_HEADERS', async () => {
    receiver.posts.splice(0);
    testApp = await buildTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20key' });
    await postJson(testApp.app, '/predict', VALID_CUSTOMER);
    await closeAndCollect();
    expect(receiver.posts.length).toBeGreaterThan(0);
    expect(receiver.posts[0]).toMatchObject({ path: '/v1/traces', contentType: 'application/x-protobuf' });
    expect(receiver.posts[0]!.headers['x-api-key']).toBe('secret key');
  });
});

describe('tracing off', () => {
  it.each([
    ['no endpoint', {}],
    ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true' }],
    ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none' }],
  ])('with %s: nothing exported, no traceparent, no trace id in the log', async (_case, env: Record<string, string>) => {
    receiver.posts.splice(0);
    const endpoint: Record<string, string> = _case === 'no endpoint' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    testApp = await buildTestApp({ ...endpoint, OTEL_BSP_SCHEDULE_DELAY: '10', ...env });
    const { app, logs } = testApp;
    expect(app.tracer).toBeNull();
    const response = await postJson(app, '/predict', VALID_CUSTOMER, { traceparent: traceparent() });
    expect(response.statusCode).toBe(200);
    expect(response.headers.traceparent).toBeUndefined();
    expect(logs.find((entry) => entry.msg === 'request completed')).not.toHaveProperty('traceId');
    await closeAndCollect();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.posts).toEqual([]);
  });
});

describe('the OTEL_* configuration', () => {
  it('turns tracing on only with an endpoint, and off with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    expect(otlpTracesUrl(loadConfig({}))).toBeUndefined();
    expect(otlpTracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }))).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/in' }))).toBe('https://traces.example/in');
    expect(otlpTracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }))).toBeUndefined();
    expect(otlpTracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }))).toBeUndefined();
  });

  it('refuses what the SDK could not use, naming the variable', () => {
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must be an http/);
    expect(() => readConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => readConfig({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => readConfig({ OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' })).toThrow(/OTEL_BSP_MAX_EXPORT_BATCH_SIZE \(20\) must not exceed OTEL_BSP_MAX_QUEUE_SIZE \(10\)/);
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' })).toThrow(/OTEL_EXPORTER_OTLP_HEADERS must be comma-separated key=value pairs, got a value of 14 characters/);
  });

  it('reads OTEL_EXPORTER_OTLP_HEADERS as key=value pairs, percent-decoded', () => {
    expect(otlpHeaders(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db, x-tenant = blue ,raw=50%' }))).toEqual({ 'api-key': 'a=b', 'x-tenant': 'blue', raw: '50%' });
  });
});
