import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Config } from '../config.js';
import { batchRequestSchema, BatchPredictionResponse } from '../schemas/batch.js';
import { CustomerFeatures } from '../schemas/customer-features.js';
import { ErrorResponse, ValidationErrorResponse } from '../schemas/errors.js';
import { PredictionResponse } from '../schemas/prediction.js';

const errorResponses = {
  400: Type.Ref(ErrorResponse, { description: 'Malformed JSON.' }),
  413: Type.Ref(ErrorResponse, { description: 'Body larger than BODY_LIMIT_BYTES.' }),
  415: Type.Ref(ErrorResponse, { description: 'Content type other than JSON.' }),
  422: Type.Ref(ValidationErrorResponse, { description: 'The body breaks the schema; one detail entry per problem.' }),
  500: Type.Ref(ErrorResponse, { description: 'Server fault; never carries internals.' }),
  503: Type.Ref(ErrorResponse, { description: 'Model not loaded yet, or the service is shutting down.' }),
};

export const predictionRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post(
    '/predict',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Predict churn for one customer',
        body: Type.Ref(CustomerFeatures),
        response: { 200: Type.Ref(PredictionResponse), ...errorResponses },
      },
    },
    async (request) => app.predictor.predictOne(request.body as CustomerFeatures),
  );

  app.post(
    '/predict/batch',
    {
      schema: {
        tags: ['predictions'],
        summary: `Predict churn for 1 to ${config.BATCH_MAX_SIZE} customers in one model run`,
        body: batchRequestSchema(config.BATCH_MAX_SIZE),
        response: { 200: Type.Ref(BatchPredictionResponse), ...errorResponses },
      },
    },
    async (request) => {
      const { customers } = request.body as { customers: CustomerFeatures[] };
      const { predictions, latencyMs } = await app.predictor.predictMany(customers);
      return { predictions, batch_size: predictions.length, latency_ms: Math.round(latencyMs * 100) / 100 };
    },
  );
};
