import { createNoopMeter, type Attributes, type Counter as OtelCounter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { Counter, type Registry } from 'prom-client';

/** The OpenTelemetry SDK's own count of spans its processor has finished with (its self-observability metric). */
const SPANS_PROCESSED = 'otel.sdk.processor.span.processed';

export type SpanDropReason = 'queue_full' | 'export_failed';

/**
 * Spans the tracer lost: the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE), or an export failed
 * or timed out. A counter on the service's registry, so a WORKERS=N scrape sums it over the workers.
 */
export class TracingMetrics {
  readonly #dropped: Counter<'reason'>;

  constructor(registry: Registry) {
    this.#dropped = new Counter({
      name: 'churn_trace_spans_dropped_total',
      help: 'Spans never exported: the export queue was full (queue_full), or their export failed or timed out (export_failed).',
      labelNames: ['reason'],
      registers: [registry],
    });
    // Both series exist from the start, so a rate() over them never misses the first drop.
    for (const reason of ['queue_full', 'export_failed'] as const) this.#dropped.inc({ reason }, 0);
  }

  spansDropped(count: number, reason: SpanDropReason): void {
    this.#dropped.inc({ reason }, count);
  }

  /**
   * A MeterProvider for the SDK's span processor (its `selfObsMeterProvider` option): it reports
   * every span it finishes with on one counter, with `error.type` set for those it lost
   * (`queue_full`, or the export error's name). Every other instrument is a no-op.
   */
  spanProcessorMeters(): MeterProvider {
    const noop = createNoopMeter();
    const processed: OtelCounter = {
      add: (value: number, attributes?: Attributes) => {
        const error = attributes?.['error.type'];
        if (error !== undefined) this.spansDropped(value, error === 'queue_full' ? 'queue_full' : 'export_failed');
      },
    };
    const meter: Meter = Object.assign(Object.create(noop) as Meter, {
      createCounter: (name: string) => (name === SPANS_PROCESSED ? processed : noop.createCounter(name)),
    });
    return { getMeter: () => meter };
  }
}
