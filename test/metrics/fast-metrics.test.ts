import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../../src/metrics/fast-metrics.js';
import type { Score } from '../../src/data-plane/data-plane.js';
import type { ServedModel } from '../../src/data-plane/model.js';
import { ServiceMetrics } from '../../src/metrics/service-metrics.js';
import { sampleValue } from '../prometheus-text.js';

/** The same updates through prom-client and through fast-metrics must read the same. */
async function exposition(register: (registry: Registry) => void): Promise<string> {
  const registry = new Registry();
  register(registry);
  return registry.metrics();
}

describe('fast-metrics', () => {
  it('format a counter exactly as prom-client does', async () => {
    const values: [string, number, number][] = [['GET', 200, 1], ['POST', 422, 3], ['GET', 200, 2]];
    const reference = await exposition((registry) => {
      const counter = new Counter({ name: 'x_total', help: 'Some help.', labelNames: ['method', 'code'], registers: [registry] });
      for (const [method, code, amount] of values) counter.inc({ method, code }, amount);
    });
    const fast = await exposition((registry) => {
      const counter = new FastCounter<'method' | 'code'>({ name: 'x_total', help: 'Some help.', labelNames: ['method', 'code'] });
      registry.registerMetric(counter as never);
      for (const [method, code, amount] of values) counter.inc([method, code], amount);
    });
    expect(fast).toBe(reference);
  });

  it('format a histogram exactly as prom-client does, bucket edges inclusive', async () => {
    const buckets = [0.1, 0.5, 1];
    const observations: [string, number][] = [['a', 0.1], ['a', 0.3], ['b', 1], ['a', 7], ['b', 0]];
    const reference = await exposition((registry) => {
      const histogram = new Histogram({ name: 'h', help: 'H.', labelNames: ['kind'], buckets, registers: [registry] });
      for (const [kind, value] of observations) histogram.observe({ kind }, value);
    });
    const fast = await exposition((registry) => {
      const histogram = new FastHistogram<'kind'>({ name: 'h', help: 'H.', labelNames: ['kind'], buckets: [1, 0.1, 0.5] });
      registry.registerMetric(histogram as never);
      for (const [kind, value] of observations) histogram.observe([kind], value);
    });
    expect(fast).toBe(reference);
  });

  it('keep one series per label values, and forget them on reset', async () => {
    const counter = new FastCounter<'a' | 'b'>({ name: 'c_total', help: 'C.', labelNames: ['a', 'b'] });
    counter.inc(['x', 'y']);
    counter.inc(['x', 'y'], 2);
    // Values that would collide if joined naively stay apart.
    counter.inc(['x,y', '']);
    expect((await counter.get()).values).toEqual([
      { labels: { a: 'x', b: 'y' }, value: 3 },
      { labels: { a: 'x,y', b: '' }, value: 1 },
    ]);
    counter.reset();
    expect((await counter.get()).values).toEqual([]);
  });

  it('add up across workers with prom-client\'s cluster aggregation', async () => {
    const worker = () => {
      const metrics = new ServiceMetrics('churn');
      metrics.httpRequest('POST', '/predict', 200, 0.002);
      const model = { path: '/m', version: '1.0.0' } as ServedModel;
      const scores = [0.3, 0.9].map((probability) => ({ probability, model, role: 'champion' }) as Score);
      metrics.inference.predictionsServed!({ protocol: 'churn', model, scores, requestId: undefined, rows: [], rowKeys: ['a', 'b'], customerIds: undefined });
      metrics.modelLoaded('startup', 'success', { path: '/m', version: '1.0.0' });
      return metrics.snapshot();
    };
    const text = await ServiceMetrics.render([await worker(), await worker()]);
    expect(sampleValue(text, 'http_requests_total', { route: '/predict' })).toBe(2);
    expect(sampleValue(text, 'churn_predictions_total', { protocol: 'churn' })).toBe(4);
    expect(sampleValue(text, 'churn_prediction_probability_bucket', { le: '0.5' })).toBe(2);
    expect(sampleValue(text, 'churn_model_loads_total', { trigger: 'startup' })).toBe(2);
    // Two workers serving one version are one series of value 1, not 2.
    expect(sampleValue(text, 'churn_model_info', { model_version: '1.0.0' })).toBe(1);
  });
});
