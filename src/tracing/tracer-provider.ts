import { context, createNoopMeter, propagation, SpanKind, SpanStatusCode, type Attributes, type Counter, type Meter, type MeterProvider, type SpanStatus } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { otlpHeaders, type Config } from '../config.js';
import type { SpanDropReason } from '../metrics/tracing-metrics.js';

/** The W3C Trace Context propagator: `traceparent` in from callers, out on every answer. */
export const TRACE_CONTEXT = new W3CTraceContextPropagator();

let globalsInstalled = false;

/**
 * The process-wide context manager and propagator that @fastify/otel reads through the API. Set
 * once, and only when tracing is on: with tracing off the process pays for neither.
 */
function installGlobals(): void {
  if (globalsInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(TRACE_CONTEXT);
  globalsInstalled = true;
}

function sampler(config: Config): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG);
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * @fastify/otel marks a request span as an error whenever a hook or the handler throws, a 4xx too.
 * The HTTP conventions leave a server span's status unset for a 4xx (the caller's mistake, not the
 * service's failure): this undoes it while the span can still change, before it is exported.
 */
const CLIENT_ERRORS_UNSET: SpanProcessor = {
  onStart: () => {},
  onEnd: () => {},
  forceFlush: async () => {},
  shutdown: async () => {},
  onEnding(span) {
    const status = span.attributes['http.response.status_code'];
    if (span.kind === SpanKind.SERVER && typeof status === 'number' && status < 500 && span.status.code === SpanStatusCode.ERROR) {
      (span as { status: SpanStatus }).status = { code: SpanStatusCode.UNSET };
    }
  },
};

export interface TracerProviderOptions {
  config: Config;
  /** Where spans are posted (otlpTracesUrl). */
  url: string;
  serviceVersion: string;
  /** Hears of the spans the processor drops (TracingMetrics.spansDropped). */
  spansDropped: (count: number, reason: SpanDropReason) => void;
}

/** The OpenTelemetry SDK's own count of spans its processor has finished with (its self-observability metric). */
const SPANS_PROCESSED = 'otel.sdk.processor.span.processed';

/**
 * A MeterProvider for the SDK's span processor (its `selfObsMeterProvider` option): it reports
 * every span it finishes with on one counter, with `error.type` set for those it lost
 * (`queue_full`, or the export error's name). Every other instrument is a no-op.
 */
export function spanProcessorMeters(spansDropped: TracerProviderOptions['spansDropped']): MeterProvider {
  const noop = createNoopMeter();
  const processed: Counter = {
    add: (value: number, attributes?: Attributes) => {
      const error = attributes?.['error.type'];
      if (error !== undefined) spansDropped(value, error === 'queue_full' ? 'queue_full' : 'export_failed');
    },
  };
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter: (name: string) => (name === SPANS_PROCESSED ? processed : noop.createCounter(name)),
  });
  return { getMeter: () => meter };
}

/**
 * This process's tracer provider, built from the validated configuration rather than left to read
 * the environment itself: the SDK sees only values the configuration accepted. Spans are batched
 * and exported over OTLP/HTTP; a worker of a cluster builds its own.
 */
export function createTracerProvider({ config, url, serviceVersion, spansDropped }: TracerProviderOptions): TracerProvider {
  installGlobals();
  const exporterOptions = { url, headers: otlpHeaders(config), timeoutMillis: config.OTEL_BSP_EXPORT_TIMEOUT };
  const exporter = config.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json' ? new OtlpJsonExporter(exporterOptions) : new OtlpProtobufExporter(exporterOptions);
  return new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME, [ATTR_SERVICE_VERSION]: serviceVersion, 'process.pid': process.pid }),
    sampler: sampler(config),
    // A model run links to every request it served: as many as the rows of the largest run.
    spanLimits: { linkCountLimit: Math.max(128, config.MICRO_BATCH_MAX_ROWS) },
    spanProcessors: [
      CLIENT_ERRORS_UNSET,
      new BatchSpanProcessor({
        exporter,
        maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: config.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
        scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
        exportTimeoutMillis: config.OTEL_BSP_EXPORT_TIMEOUT,
        selfObsMeterProvider: spanProcessorMeters(spansDropped),
      }),
    ],
  });
}
