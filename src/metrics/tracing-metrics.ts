import { Counter, type Registry } from 'prom-client';

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
}
