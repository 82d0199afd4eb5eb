import type { Span, Tracer } from '@opentelemetry/api';
import type { FastifyBaseLogger, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import fp from 'fastify-plugin';
import { otlpTracesUrl, type Config } from '../config.js';
import { TracingMetrics } from '../metrics/tracing-metrics.js';
import type { RequestTrace } from '../tracing/request-traces.js';

/** What a request's trace holds while the request runs. */
interface RequestTracing extends RequestTrace {
  /** performance.now() marks of the lifecycle stages that have begun. */
  validationStartedAt: number | undefined;
  validated: boolean;
  serializationStartedAt: number | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This worker's tracer, or null when tracing is off. */
    tracer: Tracer | null;
  }
  interface FastifyRequest {
    /** The request's trace while it runs; null when tracing is off, the route is not traced, or the trace is not sampled. */
    tracing: RequestTracing | null;
  }
}

/** Probes and the metrics scrape are asked for every few seconds and say nothing a trace needs. */
function untraced(route: Pick<RouteOptions, 'url' | 'config'>): boolean {
  const access = (route.config as { access?: string } | undefined)?.access;
  return access === 'probe' || route.url === '/metrics';
}

const spanName = (method: string, route: string | undefined) => (route === undefined ? method : `${method} ${route}`);

export interface TracingOptions {
  config: Config;
  serviceVersion: string;
}

/**
 * OpenTelemetry traces, when the OTEL_* variables ask for them (config.ts: otlpTracesUrl).
 * @fastify/otel makes each request's span (the SERVER span, from the caller's `traceparent` when
 * it sends one); this plugin adds its stages as child spans (validation, queue wait, explanation,
 * serialization), one span per model run linked to every request it served, `traceparent` on every
 * answer, and the trace id in the request's log line. Off, it adds no hook at all.
 */
export default fp<TracingOptions>(
  async (app, { config, serviceVersion }) => {
    const metrics = new TracingMetrics(app.metrics.registry);
    const url = otlpTracesUrl(config);
    app.decorateRequest('tracing', null);
    if (url === undefined) {
      app.decorate('tracer', null);
      return;
    }
    // Loaded only when tracing is on: the API, the SDK, the exporters and @fastify/otel would add to every start.
    const [{ SpanStatusCode }, { FastifyOtelInstrumentation }, { createTracerProvider, TRACE_CONTEXT }, { InFlightRequests, SPAN, traceObserver }] = await Promise.all([
      import('@opentelemetry/api'),
      import('@fastify/otel'),
      import('../tracing/tracer-provider.js'),
      import('../tracing/request-traces.js'),
    ]);
    const provider = createTracerProvider({ config, url, serviceVersion, spansDropped: (count, reason) => metrics.spansDropped(count, reason) });
    const tracer = provider.getTracer('churn-service', serviceVersion);
    app.decorate('tracer', tracer);

    // The request span only: a span per hook and per handler would bury the stages that matter.
    const instrumentation = new FastifyOtelInstrumentation({
      instrumentHooks: false,
      instrumentHandler: false,
      requestHook: (span: Span, request) => {
        span.updateName(spanName(request.method, request.routeOptions.url));
        span.setAttribute('churn.request.id', request.id);
      },
    });
    instrumentation.setTracerProvider(provider);
    // Before @fastify/otel's own onRoute hook, which reads `config.otel` to leave a route out.
    app.addHook('onRoute', (route) => {
      if (untraced(route)) route.config = { ...(route.config as object), otel: false } as typeof route.config;
    });
    await app.register(instrumentation.plugin());

    const inFlight = new InFlightRequests();
    app.addHook('onReady', async () => app.dataPlane.observe(traceObserver(tracer, inFlight, config.MODEL_NAME)));

    app.addHook('onRequest', (request, _reply, done) => {
      const { span, context } = request.opentelemetry();
      if (!span || !context) return done();
      const spanContext = span.spanContext();
      // The request's own child logger (Fastify makes one per request): cheaper than another child.
      const log = request.log as FastifyBaseLogger & Partial<Pick<Logger, 'setBindings'>>;
      if (log !== app.log && log.setBindings) log.setBindings({ traceId: spanContext.traceId });
      else request.log = log.child({ traceId: spanContext.traceId });
      if (span.isRecording()) {
        const tracing: RequestTracing = { span, spanContext, context, queued: false, validationStartedAt: undefined, validated: false, serializationStartedAt: undefined };
        request.tracing = tracing;
        inFlight.add(request.id, tracing);
      }
      done();
    });
    app.addHook('preValidation', (request, _reply, done) => {
      if (request.tracing) request.tracing.validationStartedAt = performance.now();
      done();
    });
    app.addHook('preHandler', (request, _reply, done) => {
      const tracing = request.tracing;
      if (tracing?.validationStartedAt !== undefined) {
        tracing.validated = true;
        tracer.startSpan(SPAN.validation, { startTime: tracing.validationStartedAt }, tracing.context).end(performance.now());
      }
      done();
    });
    app.addHook('preSerialization', (request, _reply, payload, done) => {
      if (request.tracing) request.tracing.serializationStartedAt = performance.now();
      done(null, payload);
    });
    // Runs before @fastify/otel's onSend, which ends the request span: its children end first.
    app.addHook('onSend', (request, reply, payload, done) => {
      const tracing = request.tracing;
      const { context } = request.opentelemetry();
      if (context) TRACE_CONTEXT.inject(context, reply, { set: (carrier, key, value) => void carrier.header(key, value) });
      if (tracing) {
        const now = performance.now();
        if (tracing.validationStartedAt !== undefined && !tracing.validated) {
          // Validation turned the request away: its span ends with the answer.
          tracer.startSpan(SPAN.validation, { startTime: tracing.validationStartedAt }, tracing.context).setStatus({ code: SpanStatusCode.ERROR, message: `rejected with ${reply.statusCode}` }).end(now);
        }
        const { explainStartedAt, explainMs, modelVersion } = request.stages;
        if (explainStartedAt !== undefined && explainMs !== undefined) {
          tracer.startSpan(SPAN.explanation, { startTime: explainStartedAt }, tracing.context).end(explainStartedAt + explainMs);
        }
        if (tracing.serializationStartedAt !== undefined) tracer.startSpan(SPAN.serialization, { startTime: tracing.serializationStartedAt }, tracing.context).end(now);
        if (modelVersion !== undefined) tracing.span.setAttribute('churn.model.version', modelVersion);
      }
      done(null, payload);
    });
    const forget = (request: { id: string; tracing: RequestTracing | null }) => {
      if (request.tracing) inFlight.remove(request.id, request.tracing);
      request.tracing = null;
    };
    app.addHook('onResponse', (request, _reply, done) => {
      forget(request);
      done();
    });
    app.addHook('onRequestAbort', (request, done) => {
      forget(request);
      done();
    });

    // Last to close (hooks close in reverse): the spans of the drain's final runs are exported too.
    // A receiver that does not answer cannot hold the shutdown beyond a quarter of its deadline.
    app.addHook('onClose', async () => {
      const deadline = Math.min(config.OTEL_BSP_EXPORT_TIMEOUT, config.SHUTDOWN_TIMEOUT_MS / 4);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadline)));
      const late = await Promise.race([provider.shutdown().then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) app.log.warn({ deadlineMs: deadline }, 'traces not all exported before the shutdown deadline');
    });
  },
  { name: 'tracing', dependencies: ['metrics', 'request-stages'] },
);
