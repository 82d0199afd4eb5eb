import { SpanStatusCode, type Context, type Link, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { DataPlaneObserver, ModelRun } from '../data-plane/data-plane.js';

/** One sampled request still in flight: its span and the context its child spans hang from. */
export interface RequestTrace {
  readonly span: Span;
  readonly spanContext: SpanContext;
  readonly context: Context;
  /** Its queue-wait span is made: a request queues once per model call it waits for. */
  queued: boolean;
}

/** Most request ids tracked at once; past it, a request still gets its own spans but no model run links to it. */
const MAX_TRACKED_REQUESTS = 10_000;

/**
 * The traced requests in flight, by request id, so that the spans the data plane's reports make
 * (which know a request only by its id) find their request. A caller may send the same
 * x-request-id on concurrent requests: each id keeps a list, in arrival order.
 */
export class InFlightRequests {
  readonly #byId = new Map<string, RequestTrace[]>();

  add(id: string, request: RequestTrace): void {
    const known = this.#byId.get(id);
    if (known) known.push(request);
    else if (this.#byId.size < MAX_TRACKED_REQUESTS) this.#byId.set(id, [request]);
  }

  remove(id: string, request: RequestTrace): void {
    const known = this.#byId.get(id);
    if (!known) return;
    const at = known.indexOf(request);
    if (at >= 0) known.splice(at, 1);
    if (known.length === 0) this.#byId.delete(id);
  }

  get(id: string | undefined): readonly RequestTrace[] | undefined {
    return id === undefined ? undefined : this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }
}

export const SPAN = { validation: 'validation', queueWait: 'queue_wait', modelRun: 'model_run', explanation: 'explanation', serialization: 'serialization' } as const;

function runAttributes(modelName: string, run: ModelRun, requests: number) {
  return {
    'churn.model.name': modelName,
    'churn.model.version': run.model.version,
    'churn.model.role': run.role,
    'churn.run.id': run.runId,
    'churn.run.rows': run.rows,
    'churn.run.served': run.served,
    'churn.run.requests': requests,
  };
}

/**
 * Spans of what the data plane reports: a request's wait in the micro-batch queue (a child of its
 * request span), and each model run, which serves many requests at once. A run's span links to the
 * span of every sampled request it scored rows of; its parent is the first of them, so the run also
 * shows inside that request's trace (a run that served only requests not sampled is not recorded).
 * A shadow run after its requests were answered starts a trace of its own, sampled as a new trace is.
 */
/** `modelName`: the name the model is served under (MODEL_NAME). */
export function traceObserver(tracer: Tracer, requests: InFlightRequests, modelName: string): DataPlaneObserver {
  /** The span of a run, or undefined when it served callers none of whose requests is sampled. */
  const runSpan = (run: ModelRun, startTime: number): Span | undefined => {
    const links: Link[] = [];
    let parent: Context | undefined;
    let lastId: string | undefined;
    for (const id of run.requestIds) {
      // Rows of one request are adjacent: most repeats are skipped before the lookup.
      if (id === lastId) continue;
      lastId = id;
      for (const request of requests.get(id) ?? []) {
        if (links.some((link) => link.context === request.spanContext)) continue;
        links.push({ context: request.spanContext });
        parent ??= request.context;
      }
    }
    // Only sampled requests are tracked: a served run that finds none of its requests served only
    // requests not sampled, and is not recorded either. A shadow run after its requests were
    // answered finds none too, and starts a trace of its own.
    if (parent === undefined && run.served) return undefined;
    return tracer.startSpan(SPAN.modelRun, { startTime, links, attributes: runAttributes(modelName, run, links.length), root: parent === undefined }, parent);
  };
  return {
    queueWaited(seconds, requestId) {
      const request = requests.get(requestId)?.find((candidate) => !candidate.queued);
      if (!request) return;
      request.queued = true;
      const now = performance.now();
      tracer.startSpan(SPAN.queueWait, { startTime: now - seconds * 1000 }, request.context).end(now);
    },
    rowsScored(run) {
      const now = performance.now();
      runSpan(run, now - run.seconds * 1000)?.end(now);
    },
    runFailed(run, error) {
      // The failed call's duration is not reported: its span marks when it failed.
      const span = runSpan(run, performance.now());
      if (!span) return;
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.end();
    },
  };
}
