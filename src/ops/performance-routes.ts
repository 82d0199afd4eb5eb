import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { ValidationErrorResponse } from '../schemas/errors.js';
import { PerformanceQuery, PerformanceReport } from '../schemas/performance.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';

/**
 * GET /monitoring/performance: measured and estimated performance of each model version over a
 * window of the prediction log, beside the model card's hold-out figures. Only where the app has
 * an outcome source (see plugins/performance-monitoring.ts); same access as GET /monitoring/drift.
 */
const performanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const monitor = app.performanceMonitor;
  if (!monitor) return;
  app.get(
    '/monitoring/performance',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getPerformance',
        summary: 'Model performance: measured on predictions with a CRM outcome (95 % intervals), estimated (CBPE) on the rest, beside the hold-out figures',
        querystring: PerformanceQuery,
        response: {
          200: { ...sharedRef(PerformanceReport), description: 'One entry per model version that made predictions in the window.' },
          422: jsonResponse(ValidationErrorResponse, 'since or until is not an ISO 8601 date-time, or the window does not end after it starts.', {
            statusCode: 422,
            error: 'Unprocessable Entity',
            message: 'since: Value error, since must be before until (2026-11-01T00:00:00.000Z).',
            detail: [{ type: 'value_error', loc: ['querystring', 'since'], msg: 'Value error, since must be before until (2026-11-01T00:00:00.000Z)', input: '2026-12-01T00:00:00Z' }],
          }),
        },
      },
    },
    async (request) => monitor.report(request.query),
  );
};

export default fp(performanceRoutes, { name: 'performance-routes', dependencies: ['performance-monitoring'], encapsulate: true });
