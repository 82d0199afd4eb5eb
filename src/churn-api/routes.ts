import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { batchRequestSchema, BatchPredictionResponse } from '../schemas/batch.js';
import { CustomerFeatures } from '../schemas/customer-features.js';
import { ErrorResponse, ValidationErrorResponse } from '../schemas/errors.js';
import { EXAMPLE_BATCH_RESPONSE, EXAMPLE_ERRORS, EXAMPLE_PREDICTION, EXAMPLE_VALIDATION_ERROR } from '../schemas/examples.js';
import { PredictionResponse } from '../schemas/prediction.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';
import { explainQuery } from '../schemas/explanation.js';
import { noteScores, timeExplanation } from '../plugins/request-stages.js';
import { explainScores } from './explanations.js';
import { convertLaxInput } from './lax-input.js';
import { tooManyItems } from './list-limit.js';
import { roundLatency, thresholdsFrom, toPrediction } from './prediction-mapping.js';

/** How this API's predictions are labelled in the metrics. */
const PROTOCOL = 'churn';

const errorResponses = {
  400: jsonResponse(
    ErrorResponse,
    'The body is not valid JSON, is empty, is nested deeper than 32 levels, or contains __proto__ or constructor.prototype; or explain=true for a model that cannot be explained.',
    EXAMPLE_ERRORS[400],
  ),
  401: jsonResponse(ErrorResponse, 'No valid API key (only when API_KEYS is set).', EXAMPLE_ERRORS[401]),
  413: jsonResponse(ErrorResponse, 'Body larger than BODY_LIMIT_BYTES.', EXAMPLE_ERRORS[413]),
  415: jsonResponse(ErrorResponse, 'Not UTF-8 JSON: another content type or charset, or a Content-Encoding.', EXAMPLE_ERRORS[415]),
  422: jsonResponse(ValidationErrorResponse, 'The body breaks the schema: one detail entry per problem, at most 20.', EXAMPLE_VALIDATION_ERROR),
  429: jsonResponse(ErrorResponse, 'Over RATE_LIMIT_PER_MINUTE (only when it is set); retry after retry-after seconds.', EXAMPLE_ERRORS[429]),
  500: jsonResponse(ErrorResponse, 'Server fault; never carries internals.', EXAMPLE_ERRORS[500]),
  503: jsonResponse(ErrorResponse, 'Model not loaded yet, or the service is shutting down; retry after retry-after seconds.', EXAMPLE_ERRORS[503]),
};

/** What the route descriptions say of the conversion, when it is on. */
const LAX_TYPES_NOTE =
  ' As in the FastAPI service (pydantic v2 lax mode), the features may also be sent as strings ("2", "70.7") or booleans (true is 1, false 0): they are converted first, then checked against their ranges; "2.5" or 2.5 is no integer.';

/** `explain` as the query schema gives it: a boolean, or with STRICT_TYPES the string 'true' or 'false'. */
const explained = (explain: boolean | 'true' | 'false' | undefined) => explain === true || explain === 'true';

/** The churn REST API, FastAPI-compatible: a thin adapter from its JSON bodies to the data plane and back. */
const churnApi: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const thresholds = thresholdsFrom(config);
  const laxTypes = !config.STRICT_TYPES;
  const typesNote = laxTypes ? LAX_TYPES_NOTE : '';
  const querystring = explainQuery(config.STRICT_TYPES);

  /** Scores the customers and maps the scores to the API's predictions (explained when asked), counting their risk tiers. */
  const predict = async (customers: CustomerFeatures[], request: FastifyRequest, explained: boolean) => {
    const customerIds = customers.map((customer) => customer.customer_id);
    // With explain, a model that cannot explain never answers (nor counts as served).
    const { scores } = await app.dataPlane.predict({ rows: customers, protocol: PROTOCOL, requestId: request.id, customerIds, explain: explained });
    noteScores(request.stages, scores);
    const predictions = scores.map((score, row) => toPrediction(score, customers[row]!, thresholds));
    if (explained) {
      const explanations = timeExplanation(request.stages, () => explainScores(scores, customers));
      for (let row = 0; row < predictions.length; row += 1) predictions[row]!.explanation = explanations[row];
    }
    const tiers = { HIGH: 0, MEDIUM: 0, LOW: 0 };
    for (const prediction of predictions) tiers[prediction.risk_tier] += 1;
    for (const [tier, count] of Object.entries(tiers)) if (count > 0) app.metrics.riskTierServed(tier, count);
    return { predictions, scores };
  };

  app.post(
    '/predict',
    {
      config: { access: 'inference' },
      ...(laxTypes ? { preValidation: convertLaxInput } : {}),
      schema: {
        tags: ['predictions'],
        operationId: 'predict',
        summary: 'Predict churn for one customer',
        description: `With ?explain=true, the prediction also carries why: exact SHAP values per feature and the top reasons.${typesNote}`,
        querystring,
        body: sharedRef(CustomerFeatures),
        response: { 200: jsonResponse(PredictionResponse, 'The prediction for the customer.', EXAMPLE_PREDICTION), ...errorResponses },
      },
    },
    async (request) => (await predict([request.body], request, explained(request.query.explain))).predictions[0]!,
  );

  app.post(
    '/predict/batch',
    {
      config: { access: 'inference', rowsAt: 'customers' },
      preValidation: laxTypes ? [tooManyItems('customers', config.BATCH_MAX_SIZE), convertLaxInput] : tooManyItems('customers', config.BATCH_MAX_SIZE),
      schema: {
        tags: ['predictions'],
        operationId: 'predictBatch',
        summary: `Predict churn for 1 to ${config.BATCH_MAX_SIZE} customers in one model run`,
        description: `With ?explain=true, each prediction also carries why: exact SHAP values per feature and the top reasons.${typesNote}`,
        querystring,
        body: batchRequestSchema(config.BATCH_MAX_SIZE),
        response: { 200: jsonResponse(BatchPredictionResponse, 'One prediction per customer, in the order sent.', EXAMPLE_BATCH_RESPONSE), ...errorResponses },
      },
    },
    async (request) => {
      const { predictions, scores } = await predict(request.body.customers, request, explained(request.query.explain));
      return {
        predictions,
        batch_size: scores.length,
        latency_ms: roundLatency(scores[0]!.inferenceMs),
      };
    },
  );
};

export default fp(churnApi, { name: 'churn-api', dependencies: ['data-plane', 'error-handler', 'metrics', 'request-stages'], encapsulate: true });
