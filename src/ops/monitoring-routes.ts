import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { DriftReport } from '../schemas/drift.js';
import { ErrorResponse } from '../schemas/errors.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';

/**
 * GET /monitoring/drift: each feature's and the score's distribution over the last
 * DRIFT_WINDOW_ROWS scored rows of the whole server, against the training data, with the PSI and
 * a status.
 */
const monitoringRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/monitoring/drift',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getDrift',
        summary: 'Drift: live feature and score distributions of the whole server against the training data (PSI)',
        response: {
          200: { ...sharedRef(DriftReport), description: 'The drift of the window, per feature and for the score.' },
          503: jsonResponse(ErrorResponse, 'A worker did not answer in time; no partial window is served. Retry after retry-after seconds.', {
            statusCode: 503,
            error: 'Service Unavailable',
            message: 'drift incomplete: 1 of 2 workers did not answer; retry shortly.',
            detail: 'drift incomplete: 1 of 2 workers did not answer; retry shortly.',
          }),
        },
      },
    },
    async () => app.driftReport(),
  );
};

export default fp(monitoringRoutes, { name: 'monitoring-routes', dependencies: ['drift-monitoring'], encapsulate: true });
