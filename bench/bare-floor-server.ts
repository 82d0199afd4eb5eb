/**
 * "The bare floor": Fastify with the service's request and response schemas and nothing else (no
 * logger, request ids, CORS, hooks or docs), answering a constant. What the service adds on top
 * of it is everything it does per request, so the ratio to this floor prices every feature.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { batchRequestSchema, BatchPredictionResponse } from '../src/schemas/batch.js';
import { CustomerFeatures } from '../src/schemas/customer-features.js';
import { InferenceRequest, InferenceResponse } from '../src/schemas/open-inference.js';
import { PredictionResponse } from '../src/schemas/prediction.js';
import { sharedRef } from '../src/schemas/shared-ref.js';
import { SHARED_SCHEMAS } from '../src/schemas/shared-schemas.js';

const config = loadConfig();
const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

const constant = { churn_probability: 0.5, churn_prediction: true, risk_tier: 'MEDIUM', model_version: 'floor' } as const;

app.get('/health', async () => ({ status: 'healthy' }));
app.post('/predict', { schema: { body: sharedRef(CustomerFeatures), response: { 200: sharedRef(PredictionResponse) } } }, async () => constant);
app.post(
  '/predict/batch',
  { schema: { body: batchRequestSchema(config.BATCH_MAX_SIZE), response: { 200: sharedRef(BatchPredictionResponse) } } },
  async (request) => ({ predictions: request.body.customers.map(() => constant), batch_size: request.body.customers.length, latency_ms: 0 }),
);
app.post('/v2/models/churn/infer', { schema: { body: sharedRef(InferenceRequest), response: { 200: sharedRef(InferenceResponse) } } }, async (request) => {
  const rows = request.body.inputs[0]!.shape[0]!;
  return {
    model_name: 'churn',
    model_version: 'floor',
    outputs: [
      { name: 'label', datatype: 'INT64' as const, shape: [rows], data: new Array<number>(rows).fill(1) },
      { name: 'probabilities', datatype: 'FP32' as const, shape: [rows, 2], data: new Array<number>(rows * 2).fill(0.5) },
    ],
  };
});

await app.listen({ port: config.PORT, host: config.HOST });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
