import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import outcomeRoutes from './churn-api/outcome-routes.js';
import churnApi from './churn-api/routes.js';
import { answerClientError, replaceNodeAnswers } from './client-errors.js';
import { corsOrigins, trustProxy, type Config } from './config.js';
import type { ModelLoader } from './data-plane/model.js';
import type { PairedScoreSource } from './monitoring/comparison.js';
import type { ScoredOutcomeSource } from './monitoring/performance.js';
import { answerFrameworkError } from './error-handling.js';
import { lazySerializers, lazyValidators } from './lazy-compilers.js';
import { createLogger } from './logger.js';
import adminRoutes from './ops/admin-routes.js';
import healthRoutes from './ops/health-routes.js';
import metricsRoutes from './ops/metrics-routes.js';
import modelRoutes from './ops/model-routes.js';
import monitoringRoutes from './ops/monitoring-routes.js';
import comparisonRoutes from './ops/comparison-routes.js';
import performanceRoutes from './ops/performance-routes.js';
import openInference from './open-inference/routes.js';
import access from './plugins/access.js';
import cors from './plugins/cors.js';
import challenger from './plugins/challenger.js';
import dataPlane from './plugins/data-plane.js';
import driftMonitoring from './plugins/drift-monitoring.js';
import plausibilityMonitoring from './plugins/plausibility-monitoring.js';
import driftWindows from './plugins/drift-windows.js';
import docs from './plugins/docs.js';
import errorHandler from './plugins/error-handler.js';
import eventLoopMonitor from './plugins/event-loop-monitor.js';
import jsonBody from './plugins/json-body.js';
import lifecycle from './plugins/lifecycle.js';
import metrics from './plugins/metrics.js';
import comparisonMonitoring from './plugins/comparison-monitoring.js';
import performanceMonitoring from './plugins/performance-monitoring.js';
import predictionLog, { pairedScoreSource, scoredOutcomeSource } from './plugins/prediction-log.js';
import rateLimit from './plugins/rate-limit.js';
import requestLogging from './plugins/request-logging.js';
import requestStages from './plugins/request-stages.js';
import routeRegistry from './plugins/route-registry.js';
import securityHeaders from './plugins/security-headers.js';
import tracing from './plugins/tracing.js';
import workerGroup from './plugins/worker-group.js';
import { SHARED_SCHEMAS } from './schemas/shared-schemas.js';

const { name: SERVICE_NAME, version: SERVICE_VERSION } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };
const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** How often Node checks the header and request timeouts, so a 408 comes close to its limit. */
const TIMEOUT_CHECK_INTERVAL_MS = 250;

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
  /** Loads model files; the onnxruntime churn model loader unless a test brings its own. */
  modelLoader?: ModelLoader;
  /**
   * The scored outcomes behind GET /monitoring/performance and the performance metrics; by default
   * the prediction log's (PREDICTION_LOG=true). Neither exists without a source.
   */
  performanceSource?: ScoredOutcomeSource;
  /** The paired scores behind GET /monitoring/comparison; by default the prediction log's. No route without a source. */
  comparisonSource?: PairedScoreSource;
}

/** Fastify's own options; the benchmark's service floor is built with the same ones. */
export function serverOptions({ config, logger, logStream }: AppOptions) {
  const loggerInstance: FastifyBaseLogger = logger ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, ...(logStream ? { destination: logStream } : {}) });
  return {
    loggerInstance,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestId,
    // One line per finished request (the request-logging plugin) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Deliberate limits: a client that trickles its headers or body gets 408 and cannot hold a
    // worker or a shutdown. Node enforces a slow body only if the headers' limit is not longer.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.IDLE_TIMEOUT_MS,
    trustProxy: trustProxy(config),
    http: { headersTimeout: config.HEADERS_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    // The drain answers requests already on open connections normally (with Connection: close);
    // server.ts stops new connections itself before closing the app.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    // A URL the router cannot read, answered in the JSON shape of the scope that owns the path.
    frameworkErrors: answerFrameworkError,
    // Validators and response serializers compile on a route's first use (see lazy-compilers.ts).
    schemaController: { compilersFactory: { buildValidator: lazyValidators, buildSerializer: lazySerializers } },
    ajv: {
      customOptions: {
        // A drop-in for the FastAPI service: Ajv never coerces (JavaScript's rules are not
        // pydantic's; the churn API converts as pydantic does before validation, see
        // churn-api/lax-input.ts), and every problem in a body is reported at once.
        coerceTypes: false,
        allErrors: true,
        removeAdditional: false,
        useDefaults: false,
        // Our schemas are TypeBox's and are all compiled by test/app/route-schemas-compile.test.ts;
        // checking each against the JSON Schema meta-schema compiled that too on every start (~45 ms).
        validateSchema: false,
      },
    },
  };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify(serverOptions(options)).withTypeProvider<TypeBoxTypeProvider>();
  replaceNodeAnswers(app);

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  await app.register(requestStages);
  await app.register(requestLogging);
  await app.register(routeRegistry);
  await app.register(errorHandler);
  await app.register(eventLoopMonitor);
  await app.register(lifecycle);
  await app.register(workerGroup);
  await app.register(metrics, { config });
  // Before the plugins that may answer a request early (access, rate limit): their answers are traced too.
  await app.register(tracing, { config, serviceVersion: SERVICE_VERSION });
  await app.register(securityHeaders);
  await app.register(cors, { origin: corsOrigins(config), maxAge: config.CORS_MAX_AGE_SECONDS });
  await app.register(jsonBody);
  // Before access: a wrong or missing key is counted (per address) before it is answered 401.
  await app.register(rateLimit, { config });
  await app.register(access, { config });
  await app.register(dataPlane, { config, loader: options.modelLoader });
  await app.register(challenger, { config });
  await app.register(driftMonitoring, { config });
  await app.register(plausibilityMonitoring, { config });
  await app.register(predictionLog, { config });
  await app.register(driftWindows, { config });
  // The performance report reads the outcomes posted to POST /outcomes, unless a test brings its own rows.
  await app.register(performanceMonitoring, { config, source: options.performanceSource ?? scoredOutcomeSource(app, config), horizonDays: config.OUTCOME_HORIZON_DAYS });
  await app.register(comparisonMonitoring, { config, source: options.comparisonSource ?? pairedScoreSource(app, config), horizonDays: config.OUTCOME_HORIZON_DAYS });
  await app.register(docs, { version: SERVICE_VERSION, apiKeys: config.API_KEYS !== undefined, protectOps: config.PROTECT_OPS, adminToken: Boolean(config.ADMIN_TOKEN) });
  await app.register(healthRoutes);
  await app.register(modelRoutes, { config });
  await app.register(monitoringRoutes);
  await app.register(performanceRoutes);
  await app.register(comparisonRoutes);
  await app.register(metricsRoutes, { config });
  if (config.ADMIN_TOKEN) await app.register(adminRoutes, { adminToken: config.ADMIN_TOKEN, config });
  await app.register(churnApi, { config });
  await app.register(outcomeRoutes, { config });
  await app.register(openInference, { prefix: '/v2', config, server: { name: SERVICE_NAME, version: SERVICE_VERSION } });
  // Last of the onReady hooks, after the model's and the challenger's start-up loads: a reload or
  // rollout change a cluster asked of this worker while it started waits for them (WorkerGroup).
  app.addHook('onReady', async () => app.workers.startedUp());

  return app;
}
