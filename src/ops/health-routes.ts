import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { HealthResponse, LiveResponse, ReadyResponse } from '../schemas/health.js';
import { sharedRef } from '../schemas/shared-ref.js';

/** Probes for orchestrators and load balancers: never behind an API key, since they send none. */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      config: { access: 'probe', rateLimited: false },
      schema: {
        tags: ['operations'],
        operationId: 'health',
        summary: 'Service health, as the FastAPI service answered it: 200 when the model is loaded, 503 when not',
        response: {
          200: sharedRef(HealthResponse, { description: 'A model is loaded.' }),
          503: sharedRef(HealthResponse, { description: 'No model is loaded.' }),
        },
      },
    },
    async (_request, reply) => {
      const model = app.dataPlane.model;
      return reply.code(model ? 200 : 503).send({
        status: model ? 'healthy' : 'unhealthy',
        model_loaded: model !== undefined,
        model_version: model?.version ?? null,
        uptime_seconds: Math.round(process.uptime() * 10) / 10,
      });
    },
  );

  app.get(
    '/health/live',
    {
      config: { access: 'probe', rateLimited: false },
      schema: {
        tags: ['operations'],
        operationId: 'healthLive',
        summary: 'Liveness: 200 whenever the process answers (restart it if it does not)',
        response: { 200: sharedRef(LiveResponse, { description: 'The process answers.' }) },
      },
    },
    async () => ({ status: 'alive' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'probe', rateLimited: false },
      schema: {
        tags: ['operations'],
        operationId: 'healthReady',
        summary: 'Readiness: 200 when a model is loaded and the service is not draining; 503 otherwise (send it no traffic). Says when the service is degraded',
        response: {
          200: sharedRef(ReadyResponse, { description: 'Ready for traffic.' }),
          503: sharedRef(ReadyResponse, { description: 'Not ready: no model yet, or draining.' }),
        },
      },
    },
    async (_request, reply) => {
      const model = app.dataPlane.model;
      const { draining } = app.lifecycle;
      const ready = app.dataPlane.ready && !draining;
      const workers = app.workers.counts;
      // A worker that serves stays ready while siblings are down: taking it out of rotation would
      // only take more capacity away. `degraded` is for dashboards and alerts.
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not_ready',
        model_loaded: model !== undefined,
        draining,
        model_version: model?.version ?? null,
        degraded: workers !== undefined && workers.serving < workers.expected,
        ...(workers ? { workers } : {}),
        // Never part of `ready`: a prediction only appends to the log's buffer, whatever the store does.
        prediction_log: { state: app.predictionLog.state, store: app.predictionLog.storeKind ?? null, buffered: app.predictionLog.buffered },
      });
    },
  );
};

export default fp(healthRoutes, { name: 'health-routes', dependencies: ['data-plane', 'lifecycle', 'worker-group', 'prediction-log'], encapsulate: true });
