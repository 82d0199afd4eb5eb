/**
 * "The service floor": the same Fastify options, request-logging and event-loop plugins and
 * request schemas as the service, answering a constant instead of running the model. Next to the
 * bare floor it shows what those shared per-request features cost.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { serverOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import eventLoopMonitor from '../src/plugins/event-loop-monitor.js';
import requestLogging from '../src/plugins/request-logging.js';
import requestStages from '../src/plugins/request-stages.js';
import { batchRequestSchema, BatchPredictionResponse } from '../src/schemas/batch.js';
import { CustomerFeatures } from '../src/schemas/customer-features.js';
import { PredictionResponse } from '../src/schemas/prediction.js';
import { sharedRef } from '../src/schemas/shared-ref.js';
import { SHARED_SCHEMAS } from '../src/schemas/shared-schemas.js';

const config = loadConfig();
const app = Fastify(serverOptions({ config })).withTypeProvider<TypeBoxTypeProvider>();
for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
await app.register(requestStages);
await app.register(requestLogging);
await app.register(eventLoopMonitor);

const constant = { churn_probability: 0.5, churn_prediction: true, risk_tier: 'MEDIUM', model_version: 'floor' } as const;

app.get('/health', async () => ({ status: 'healthy' }));
app.post('/predict', { schema: { body: sharedRef(CustomerFeatures), response: { 200: sharedRef(PredictionResponse) } } }, async () => constant);
app.post(
  '/predict/batch',
  { schema: { body: batchRequestSchema(config.BATCH_MAX_SIZE), response: { 200: sharedRef(BatchPredictionResponse) } } },
  async (request) => ({ predictions: request.body.customers.map(() => constant), batch_size: request.body.customers.length, latency_ms: 0 }),
);

await app.listen({ port: config.PORT, host: config.HOST });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
