import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { DriftReport } from '../schemas/drift.js';
import { ErrorResponse } from '../schemas/errors.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';

/**
 * GET /monitoring/drift: each feature's and the score's distribution over the last
 * DRIFT_WINDOW_ROWS scored rows of the whole server, against the training data, with the PSI and
 * a status; the plausibility checks over the recent rows; and the PSI over the last hour and day.
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
          200: { ...sharedRef(DriftReport), description: 'The drift of the row window per feature and for the score, the plausibility checks, and the time windows.' },
          503: jsonResponse(ErrorResponse, 'A worker did not answer in time; no partial window is served. Retry after retry-after seconds.', {
            statusCode: 503,
            error: 'Service Unavailable',
            message: 'drift incomplete: 1 of 2 workers did not answer; retry shortly.',
            detail: 'drift incomplete: 1 of 2 workers did not answer; retry shortly.',
          }),
        },
      },
    },
    async () => {
      const [drift, plausibility, windows] = await Promise.all([app.driftReport(), app.plausibilityReport(), app.driftTimeWindows()]);
      return { ...drift, plausibility, windows };
    },
  );
};

export default fp(monitoringRoutes, { name: 'monitoring-routes', dependencies: ['drift-monitoring', 'plausibility-monitoring', 'drift-windows'], encapsulate: true });
