import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VALID_CUSTOMER } from '../helpers.js';
import { OtlpReceiver } from '../tracing/otlp-receiver.js';
import { freePort, startServer, waitUntilEveryWorkerServes } from './server-process.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

/** POST /predict on a connection of its own, so a cluster's primary hands each to the next worker. */
function predict(baseUrl: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(VALID_CUSTOMER);
    const request = httpRequest(`${baseUrl}/predict`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close', ...headers } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

let receiver: OtlpReceiver;
beforeAll(async () => (receiver = await OtlpReceiver.start()));
afterAll(async () => receiver.close());
beforeEach(() => void receiver.spans.splice(0));

describe('tracing of the built server', () => {
  it("exports the caller's trace over OTLP/HTTP, and flushes it on SIGTERM (no export was due yet)", async () => {
    const port = await freePort();
    // The batch is due only after a minute: spans that arrive were flushed by the drain.
    const server = startServer({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_SERVICE_NAME: 'churn-e2e', LOG_LEVEL: 'info' }, port);
    await waitUntilEveryWorkerServes(server);
    const response = await predict(server.baseUrl, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
    expect(response.status).toBe(200);
    expect(response.headers.traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.spans).toEqual([]);

    expect(await server.stop('SIGTERM'), server.output()).toBe(0);
    const spans = receiver.spans;
    const request = spans.find((span) => span.name === 'POST /predict');
    expect(request, server.output()).toBeDefined();
    expect(request!).toMatchObject({ traceId: CALLER_TRACE, parentSpanId: CALLER_SPAN });
    expect(request!.resource['service.name']).toBe('churn-e2e');
    expect(response.headers.traceparent).toBe(`00-${CALLER_TRACE}-${request!.spanId}-01`);
    const run = spans.find((span) => span.name === 'model_run');
    expect(run?.links).toEqual([{ traceId: CALLER_TRACE, spanId: request!.spanId }]);
    // Probes were asked while it started: none of them is traced.
    expect(spans.some((span) => String(span.attributes['http.route']).startsWith('/health'))).toBe(false);
    // The request line names the trace.
    const line = server
      .output()
      .split('\n')
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((entry) => entry.msg === 'request completed' && entry.path === '/predict');
    expect(line?.traceId).toBe(CALLER_TRACE);
  });

  it('with WORKERS=2, each worker exports its own spans and flushes them on the drain', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: '2', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '60000' }, port);
    await waitUntilEveryWorkerServes(server);
    for (let index = 0; index < 8; index += 1) expect((await predict(server.baseUrl)).status).toBe(200);
    expect(await server.stop('SIGTERM'), server.output()).toBe(0);
    const requests = receiver.spans.filter((span) => span.name === 'POST /predict');
    expect(requests).toHaveLength(8);
    expect(new Set(requests.map((span) => span.resource['process.pid'])).size).toBe(2);
  });

  it('exports nothing with OTEL_SDK_DISABLED=true', async () => {
    receiver.posts.splice(0);
    const port = await freePort();
    const server = startServer({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '10' }, port);
    await waitUntilEveryWorkerServes(server);
    const response = await predict(server.baseUrl, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
    expect(response.status).toBe(200);
    expect(response.headers.traceparent).toBeUndefined();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(receiver.posts).toEqual([]);
  });
});
