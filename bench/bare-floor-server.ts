/**
 * "The bare floor": Fastify with the service's request and response schemas and nothing else (no
 * logger, request ids, CORS, hooks or docs), answering a constant. What the service adds on top
 * of it is everything it does per request, so the ratio to this floor prices every feature.
 *
 * With TWIN_FLOOR_COST set it is "the twin floor": the same, plus a synchronous busy wait per
 * request as long as the model's work for its rows (see twin-floor.ts), so the ratio to it prices
 * what the service adds besides the model.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyReply } from 'fastify';
import { loadConfig } from '../src/config.js';
import { batchRequestSchema, BatchPredictionResponse } from '../src/schemas/batch.js';
import { CustomerFeatures } from '../src/schemas/customer-features.js';
import { InferenceRequest, InferenceResponse } from '../src/schemas/open-inference.js';
import { PredictionResponse } from '../src/schemas/prediction.js';
import { sharedRef } from '../src/schemas/shared-ref.js';
import { SHARED_SCHEMAS } from '../src/schemas/shared-schemas.js';
import { busyWait, modelCostUs, parseTwinFloorCost, TWIN_FLOOR_ELAPSED_HEADER, TWIN_FLOOR_HEADER } from './twin-floor.js';

const config = loadConfig();
const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

const constant = { churn_probability: 0.5, churn_prediction: true, risk_tier: 'MEDIUM', model_version: 'floor' } as const;
const twin = parseTwinFloorCost(process.env.TWIN_FLOOR_COST);
/** The twin floor's stand-in for the model: nothing on the bare floor. */
const model = (reply: FastifyReply, rows: number, query: unknown) => {
  if (!twin) return;
  const explain = (query as { explain?: string } | undefined)?.explain === 'true';
  const us = modelCostUs(twin, rows, explain);
  reply.header(TWIN_FLOOR_HEADER, String(us)).header(TWIN_FLOOR_ELAPSED_HEADER, busyWait(us).toFixed(1));
};

app.get('/health', async () => ({ status: 'healthy' }));
app.post('/predict', { schema: { body: sharedRef(CustomerFeatures), response: { 200: sharedRef(PredictionResponse) } } }, async (request, reply) => {
  model(reply, 1, request.query);
  return constant;
});
app.post(
  '/predict/batch',
  { schema: { body: batchRequestSchema(config.BATCH_MAX_SIZE), response: { 200: sharedRef(BatchPredictionResponse) } } },
  async (request, reply) => {
    model(reply, request.body.customers.length, request.query);
    return { predictions: request.body.customers.map(() => constant), batch_size: request.body.customers.length, latency_ms: 0 };
  },
);
app.post('/v2/models/churn/infer', { schema: { body: sharedRef(InferenceRequest), response: { 200: sharedRef(InferenceResponse) } } }, async (request, reply) => {
  const rows = request.body.inputs[0]!.shape[0]!;
  model(reply, rows, undefined);
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
