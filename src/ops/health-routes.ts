import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { HealthResponse } from '../schemas/health.js';
import { sharedRef } from '../schemas/shared-ref.js';

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Service health: 200 when the model is loaded, 503 when not',
        response: { 200: sharedRef(HealthResponse), 503: sharedRef(HealthResponse) },
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
};

export default fp(healthRoutes, { name: 'health-routes', dependencies: ['data-plane'], encapsulate: true });
