import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { ComparisonReport } from '../schemas/comparison.js';
import { PerformanceQuery, WINDOW_422 } from '../schemas/performance.js';
import { sharedRef } from '../schemas/shared-ref.js';

/**
 * GET /monitoring/comparison: the champion against the challenger on the rows both scored in a
 * window of the prediction log. Only where the app has a paired-score source (the prediction
 * log); same window, 422s and access as GET /monitoring/performance.
 */
const comparisonRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const monitor = app.comparisonMonitor;
  if (!monitor) return;
  app.get(
    '/monitoring/comparison',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getComparison',
        summary: 'Champion against challenger on the same rows: agreement, rank correlation, score PSI, flagged overlap, and on labeled rows the paired ROC AUC difference (DeLong)',
        querystring: PerformanceQuery,
        response: {
          200: { ...sharedRef(ComparisonReport), description: 'One entry per champion and challenger version that scored rows together in the window; an empty list, with a note, when no challenger did.' },
          422: WINDOW_422,
        },
      },
    },
    async (request) => monitor.report(request.query),
  );
};

export default fp(comparisonRoutes, { name: 'comparison-routes', dependencies: ['comparison-monitoring'], encapsulate: true });
