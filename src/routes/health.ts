import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { HealthResponse } from '../schemas/health.js';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Service health: 200 when the model is loaded, 503 when not',
        response: { 200: Type.Ref(HealthResponse), 503: Type.Ref(HealthResponse) },
      },
    },
    async (_request, reply) => {
      const model = app.model.current;
      const body: HealthResponse = {
        status: model ? 'healthy' : 'unhealthy',
        model_loaded: model !== undefined,
        model_version: model?.version ?? null,
        uptime_seconds: Math.round(process.uptime() * 10) / 10,
      };
      return reply.code(model ? 200 : 503).send(body);
    },
  );
};
