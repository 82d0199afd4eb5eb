import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { droppedLogLines } from '../logger.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { UNMATCHED_ROUTE } from './request-logging.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}


/** Records every answered request (and, for those that reached the model, where their time went) and lets a server-wide scrape collect this worker's metrics. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const metrics = new ServiceMetrics(config.MODEL_NAME, droppedLogLines);
    app.decorate('metrics', metrics);
    app.workers.onCollect('metrics', () => metrics.snapshot());
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const seconds = reply.elapsedTime / 1000;
      metrics.httpRequest(request.method, route, reply.statusCode, seconds);
      // The same stage record the request's log line reads: the histogram and the line always agree.
      const { stages } = request;
      if (stages.runIds.length > 0) {
        metrics.requestStages(route, stages.modelVersion ?? '', {
          queue: stages.queueMs! / 1000,
          model: stages.modelMs! / 1000,
          explain: stages.explainMs === undefined ? undefined : stages.explainMs / 1000,
          request: seconds,
        });
      }
      done();
    });
  },
  { name: 'metrics', dependencies: ['worker-group', 'request-stages'] },
);
