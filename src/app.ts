import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { corsOrigins, type Config } from './config.js';
import { createLogger } from './logger.js';
import docs from './plugins/docs.js';
import errorHandler from './plugins/error-handler.js';
import eventLoopMonitor from './plugins/event-loop-monitor.js';
import requestLogging from './plugins/request-logging.js';
import dataPlane from './plugins/data-plane.js';
import churnApi from './churn-api/routes.js';
import healthRoutes from './ops/health-routes.js';
import { CustomerFeatures } from './schemas/customer-features.js';
import { ErrorResponse, ValidationErrorResponse } from './schemas/errors.js';
import { HealthResponse } from './schemas/health.js';
import { PredictionResponse } from './schemas/prediction.js';
import { BatchPredictionResponse } from './schemas/batch.js';

const { version: SERVICE_VERSION } = createRequire(import.meta.url)('../package.json') as { version: string };
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Honour a caller's x-request-id when it is a plausible id; anything else could forge log lines. */
function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export interface AppOptions {
  config: Config;
  /** The service's logger; one is made from the config when not given. */
  logger?: Logger;
  /** Where log lines go when the app makes its own logger; tests capture them here. */
  logStream?: DestinationStream;
}

/** Fastify's own options; the benchmark's constant-answer floor is built with the same ones. */
export function serverOptions({ config, logger, logStream }: AppOptions) {
  const loggerInstance: FastifyBaseLogger = logger ?? createLogger({ level: config.LOG_LEVEL, ...(logStream ? { destination: logStream } : {}) });
  return {
    loggerInstance,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestId,
    // One line per finished request (the request-logging plugin) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: {
        // A drop-in for the FastAPI service: null, booleans and strings are never numbers,
        // and every problem in a body is reported at once.
        coerceTypes: false,
        allErrors: true,
        removeAdditional: false,
        useDefaults: false,
      },
    },
  };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify(serverOptions(options)).withTypeProvider<TypeBoxTypeProvider>();

  for (const schema of [CustomerFeatures, PredictionResponse, BatchPredictionResponse, HealthResponse, ValidationErrorResponse, ErrorResponse]) {
    app.addSchema(schema);
  }

  await app.register(requestLogging);
  await app.register(errorHandler);
  await app.register(eventLoopMonitor);
  await app.register(cors, { origin: corsOrigins(config), exposedHeaders: ['x-request-id'] });
  await app.register(dataPlane, { config });
  await app.register(docs, { version: SERVICE_VERSION });
  await app.register(healthRoutes);
  await app.register(churnApi, { config });

  return app;
}
