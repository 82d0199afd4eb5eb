import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { droppedLogLines } from '../logger.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

/** Route label for requests no route matched, so unknown URLs cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Records every answered request and lets a server-wide scrape collect this worker's metrics. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const metrics = new ServiceMetrics(config.MODEL_NAME, droppedLogLines);
    app.decorate('metrics', metrics);
    app.workers.onCollect('metrics', () => metrics.snapshot());
    app.addHook('onResponse', (request, reply, done) => {
      metrics.httpRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  },
  { name: 'metrics', dependencies: ['worker-group'] },
);
