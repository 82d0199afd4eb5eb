import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { IncompleteAnswerError } from '../errors.js';
import type { RowDriftReport } from '../schemas/drift.js';
import { GATHER_TIMEOUT_MS } from '../cluster/topics.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { noteReason } from '../plugins/request-logging.js';

/** GET /metrics: Prometheus text for the whole server, every worker's numbers added up. */
const metricsRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.get(
    '/metrics',
    {
      // Scrapers (the pods' prometheus.io annotations) send no key; PROTECT_OPS asks them for one.
      config: { access: 'ops' },
      schema: {
        tags: ['operations'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics of the whole server (all workers)',
        response: {
          200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: Type.String() } } },
          503: { description: 'A worker did not answer in time; no partial numbers are served.', content: { 'text/plain': { schema: Type.String() } } },
        },
      },
    },
    async (request, reply) => {
      // With workers, the primary adds an outcome of its own: the counts of workers that have exited.
      const outcomes = await app.workers.gather('metrics', undefined, GATHER_TIMEOUT_MS.metrics);
      const workers = outcomes.filter((outcome) => !outcome.fromPrimary);
      const missing = workers.filter((outcome) => outcome.error !== undefined);
      // A partial sum would make counters fall and rates lie; better one failed scrape.
      if (missing.length > 0 || workers.length === 0) {
        request.log.error({ missing }, 'metrics scrape incomplete');
        noteReason(request, `metrics incomplete: ${missing.length} of ${workers.length} workers did not answer`);
        return reply.code(503).type('text/plain; charset=utf-8').send(`# metrics incomplete: ${missing.length} of ${workers.length} workers did not answer\n`);
      }
      const [text, drift] = await Promise.all([ServiceMetrics.render(outcomes.flatMap((outcome) => (outcome.error === undefined ? [outcome.result] : []))), app.driftReport().catch((error: unknown) => error)]);
      if (drift instanceof IncompleteAnswerError) {
        noteReason(request, `metrics incomplete: ${drift.message}`);
        return reply.code(503).type('text/plain; charset=utf-8').send(`# metrics incomplete: ${drift.message}\n`);
      }
      if (drift instanceof Error) throw drift;
      return reply.type(app.metrics.contentType).send(text + (await ServiceMetrics.renderDrift(drift as RowDriftReport, config.MODEL_NAME)));
    },
  );
};

export default fp(metricsRoutes, { name: 'metrics-routes', dependencies: ['metrics', 'worker-group', 'drift-monitoring'], encapsulate: true });
