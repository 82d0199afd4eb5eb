import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { PredictionLogOffError, PredictionLogUnavailableError } from '../errors.js';
import { errorBody } from '../fastapi-error-renderer.js';
import { ErrorResponse, ValidationErrorResponse } from '../schemas/errors.js';
import { EXAMPLE_ERRORS } from '../schemas/examples.js';
import { EXAMPLE_OUTCOMES_RESPONSE, OUTCOMES_MAX_ITEMS, OutcomesRequest, OutcomesResponse } from '../schemas/outcomes.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';
import { tooManyItems } from './list-limit.js';
import { checkObservedAt, parseObservedAt, refuseObservedAt } from './observed-at.js';

const WHAT = 'POST /outcomes';

/** The error bodies the tests send requests for (test/app/outcomes.test.ts). */
export const EXAMPLE_OUTCOME_ERRORS = {
  404: errorBody(404, new PredictionLogOffError(WHAT).publicMessage),
  422: {
    statusCode: 422 as const,
    error: 'Unprocessable Entity' as const,
    message: 'outcomes[0].observed_at must have timezone info.',
    detail: [{ type: 'timezone_aware', loc: ['body', 'outcomes', 0, 'observed_at'], msg: 'Input should have timezone info', input: '2026-11-30T00:00:00' }],
  },
  503: errorBody(503, new PredictionLogUnavailableError({ cause: undefined }).publicMessage),
};

/**
 * With PREDICTION_LOG=false there is nothing to join outcomes to: refused first, before the body
 * is validated, so a CRM pointed at such a server learns that whatever it sends.
 */
function needsPredictionLog(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  done(request.server.predictionLog.enabled ? undefined : new PredictionLogOffError(WHAT));
}

/**
 * POST /outcomes: what became of customers (churned or stayed, and when), posted by the CRM once
 * it is known. Stored in the prediction log beside the predictions; the matching rule is in
 * src/prediction-log/outcomes.ts. A thin adapter: the body to Outcome records, the store's counts back.
 */
const outcomeRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post(
    '/outcomes',
    {
      config: { access: 'inference' },
      preValidation: [needsPredictionLog, tooManyItems('outcomes', OUTCOMES_MAX_ITEMS), checkObservedAt],
      preHandler: refuseObservedAt,
      schema: {
        tags: ['outcomes'],
        operationId: 'postOutcomes',
        summary: `Post 1 to ${OUTCOMES_MAX_ITEMS} outcomes (churned or stayed) to be joined to the predictions`,
        description:
          'Each outcome labels the latest prediction for its customer made before observed_at, if that prediction is at most OUTCOME_HORIZON_DAYS (default 90) older; ' +
          'a prediction is labeled once, by the earliest outcome after it. Unmatched outcomes are kept and matched when such a prediction is recorded later. ' +
          'Idempotent: the same outcome again is a duplicate; a different churned for the same customer_id and observed_at replaces the stored one. Needs PREDICTION_LOG=true.',
        body: sharedRef(OutcomesRequest),
        response: {
          200: jsonResponse(OutcomesResponse, 'What the post did.', EXAMPLE_OUTCOMES_RESPONSE),
          400: jsonResponse(ErrorResponse, 'The body is not valid JSON, is empty, is nested deeper than 32 levels, or contains __proto__ or constructor.prototype.', EXAMPLE_ERRORS[400]),
          401: jsonResponse(ErrorResponse, 'No valid API key (only when API_KEYS is set).', EXAMPLE_ERRORS[401]),
          404: jsonResponse(ErrorResponse, 'The prediction log is off on this server (PREDICTION_LOG=false): nothing is stored; retrying does not help.', EXAMPLE_OUTCOME_ERRORS[404]),
          413: jsonResponse(ErrorResponse, 'Body larger than BODY_LIMIT_BYTES.', EXAMPLE_ERRORS[413]),
          415: jsonResponse(ErrorResponse, 'Not UTF-8 JSON: another content type or charset, or a Content-Encoding.', EXAMPLE_ERRORS[415]),
          422: jsonResponse(
            ValidationErrorResponse,
            `The body breaks the schema (0 or more than ${OUTCOMES_MAX_ITEMS} outcomes, a customer_id out of 1..128 characters, a churned that is no boolean), or an observed_at is no date-time with a timezone or lies more than a day ahead of the server's clock. Nothing is stored.`,
            EXAMPLE_OUTCOME_ERRORS[422],
          ),
          429: jsonResponse(ErrorResponse, 'Over RATE_LIMIT_PER_MINUTE (only when it is set); retry after retry-after seconds.', EXAMPLE_ERRORS[429]),
          500: jsonResponse(ErrorResponse, 'Server fault; never carries internals.', EXAMPLE_ERRORS[500]),
          503: jsonResponse(ErrorResponse, 'The prediction log\'s store failed or is not open yet: nothing is known to be stored; retry after retry-after seconds (the same request again is safe).', EXAMPLE_OUTCOME_ERRORS[503]),
        },
      },
    },
    async (request) => {
      const receivedAt = new Date();
      const outcomes = request.body.outcomes.map((item) => {
        const observedAt = parseObservedAt(item.observed_at);
        // refuseObservedAt answered every refused time already (and checked how far ahead each is).
        if (!observedAt.ok) throw new Error(`observed_at ${item.observed_at} passed refuseObservedAt`);
        return { customerId: item.customer_id, churned: item.churned, observedAt: new Date(observedAt.ms) };
      });
      const store = app.predictionLog.store;
      if (store === undefined) throw new PredictionLogUnavailableError({ cause: new Error('the prediction log store is not open yet') });
      try {
        return await store.recordOutcomes(outcomes, { horizonDays: config.OUTCOME_HORIZON_DAYS, receivedAt });
      } catch (error) {
        throw new PredictionLogUnavailableError({ cause: error });
      }
    },
  );
};

export default fp(outcomeRoutes, { name: 'outcome-routes', dependencies: ['prediction-log', 'error-handler'], encapsulate: true });
