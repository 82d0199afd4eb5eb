import { describe, expect, it } from 'vitest';
import type { WorkerCounts } from '../../src/cluster/messages.js';
import { ClusterMetrics } from '../../src/metrics/cluster-metrics.js';
import { ServiceMetrics, type MetricsSnapshot } from '../../src/metrics/service-metrics.js';
import { parsePrometheus, sampleValue } from '../prometheus-text.js';

const ALL_SERVING: WorkerCounts = { expected: 2, serving: 2, starting: 0, failed: 0 };
const PREDICT = { method: 'POST', route: '/predict', status_code: '200' };

/** A snapshot as the primary receives it: through IPC, as JSON. */
const overIpc = async (metrics: ServiceMetrics): Promise<MetricsSnapshot> => JSON.parse(JSON.stringify(await metrics.snapshot())) as MetricsSnapshot;

function worker(requests: number, version = '1.0.0') {
  const metrics = new ServiceMetrics('churn');
  metrics.modelLoaded('startup', 'success', { path: '/models/churn_model.onnx', version });
  for (let index = 0; index < requests; index += 1) {
    metrics.httpRequest('POST', '/predict', 200, 0.002);
    metrics.requestStages('/predict', version, { queue: 0.0002, model: 0.0004, explain: undefined, request: 0.002 });
  }
  return metrics;
}

/** One server-wide scrape as a worker renders it: every live worker's answer, then the primary's own. */
async function scrape(keeper: ClusterMetrics, live: Map<number, ServiceMetrics>, counts = ALL_SERVING): Promise<string> {
  const snapshots: MetricsSnapshot[] = [];
  for (const [pid, metrics] of live) {
    const snapshot = await overIpc(metrics);
    keeper.answered(pid, snapshot);
    snapshots.push(snapshot);
  }
  return ServiceMetrics.render([...snapshots, keeper.result(counts)]);
}

describe('ClusterMetrics', () => {
  it('keeps the counters and histograms of a worker that exited, so the server-wide totals never fall', async () => {
    const keeper = new ClusterMetrics();
    const [first, second] = [worker(5), worker(3)];
    const before = await scrape(keeper, new Map([[101, first], [102, second]]));
    expect(sampleValue(before, 'http_requests_total', PREDICT)).toBe(8);

    keeper.workerExited(101);
    const replacement = worker(1);
    second.httpRequest('POST', '/predict', 200, 0.002);
    const after = await scrape(keeper, new Map([[102, second], [103, replacement]]));
    // 5 from the worker that exited, 4 from the second, 1 from its replacement.
    expect(sampleValue(after, 'http_requests_total', PREDICT)).toBe(10);
    expect(sampleValue(after, 'http_request_duration_seconds_count', PREDICT)).toBe(10);
    expect(sampleValue(after, 'http_request_duration_seconds_bucket', { ...PREDICT, le: '+Inf' })).toBe(10);
    expect(sampleValue(after, 'http_request_duration_seconds_bucket', { ...PREDICT, le: '0.0025' })).toBe(10);
    expect(sampleValue(after, 'http_request_duration_seconds_sum', PREDICT)).toBeCloseTo(0.02, 6);
    expect(sampleValue(after, 'churn_model_loads_total', { trigger: 'startup', outcome: 'success' })).toBe(3);
    // The per-stage histogram adds up over the workers, the one that exited included.
    expect(sampleValue(after, 'churn_request_stage_duration_seconds_count', { route: '/predict', model_version: '1.0.0', stage: 'model' })).toBe(9);
    expect(sampleValue(after, 'churn_request_stage_duration_seconds_bucket', { route: '/predict', model_version: '1.0.0', stage: 'queue', le: '0.00025' })).toBe(9);
    // Every counter of the whole server is at least what it was.
    const counters = (text: string) => parsePrometheus(text).filter((sample) => /(_total|_count|_bucket|_sum)$/.test(sample.name) && !sample.name.startsWith('nodejs_gc'));
    for (const sample of counters(before)) {
      const now = sampleValue(after, sample.name, sample.labels);
      expect(now, `${sample.name} ${JSON.stringify(sample.labels)}`).toBeGreaterThanOrEqual(sample.value);
    }
  });

  it('adds up the counts of every worker that exited, each once', async () => {
    const keeper = new ClusterMetrics();
    const live = new Map([[1, worker(2)], [2, worker(3)]]);
    await scrape(keeper, live);
    keeper.workerExited(1);
    keeper.workerExited(1);
    live.delete(1);
    live.set(3, worker(4));
    await scrape(keeper, live);
    keeper.workerExited(2);
    // A worker that exited before it ever answered a scrape leaves nothing to keep.
    keeper.workerExited(99);
    live.delete(2);
    expect(sampleValue(await scrape(keeper, live), 'http_requests_total', PREDICT)).toBe(9);
  });

  it('drops the gauges of a worker that exited: they describe a live process', async () => {
    const keeper = new ClusterMetrics();
    const live = new Map([[1, worker(1, '1.0.0')], [2, worker(1, '2.0.0')]]);
    const before = await scrape(keeper, live);
    expect(sampleValue(before, 'churn_model_info', { model_version: '1.0.0' })).toBe(1);
    keeper.workerExited(1);
    live.delete(1);
    const after = await scrape(keeper, live);
    expect(sampleValue(after, 'churn_model_info', { model_version: '1.0.0' })).toBeUndefined();
    expect(sampleValue(after, 'churn_model_info', { model_version: '2.0.0' })).toBe(1);
    const kept = keeper.result(ALL_SERVING).map((metric) => metric.name);
    expect(kept).toEqual(expect.arrayContaining(['http_requests_total', 'process_cpu_seconds_total', 'churn_model_loads_total']));
    for (const gauge of ['churn_model_info', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_version_info']) expect(kept).not.toContain(gauge);
  });

  it('reports the workers by state, and degraded while fewer serve than expected', async () => {
    const keeper = new ClusterMetrics();
    const whole = await scrape(keeper, new Map([[1, worker(0)]]));
    expect(sampleValue(whole, 'churn_workers', { state: 'serving' })).toBe(2);
    expect(sampleValue(whole, 'churn_cluster_degraded')).toBe(0);
    const degraded = await scrape(keeper, new Map([[1, worker(0)]]), { expected: 3, serving: 1, starting: 1, failed: 1 });
    expect([sampleValue(degraded, 'churn_workers', { state: 'serving' }), sampleValue(degraded, 'churn_workers', { state: 'starting' }), sampleValue(degraded, 'churn_workers', { state: 'failed' })]).toEqual([1, 1, 1]);
    expect(sampleValue(degraded, 'churn_cluster_degraded')).toBe(1);
  });
});
