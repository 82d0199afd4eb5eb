import fp from 'fastify-plugin';
import type { Score } from '../data-plane/data-plane.js';

/**
 * Where one request's time went, as its protocol adapter saw it. The request's log line, the
 * per-stage latency histograms and its trace all read this one record, so the three always agree.
 * Times are in ms; a stage the request never reached stays undefined.
 */
export interface RequestStages {
  /** The model runs that scored the request's rows (Score.runId), in order of first use. */
  runIds: number[];
  /** The version of the model that answered the first row (a canary split may add another). */
  modelVersion: string | undefined;
  /** The longest wait of the request's rows in the micro-batch queue. */
  queueMs: number | undefined;
  /** The longest model run (tensor packing plus the onnxruntime call) among those that scored its rows. */
  modelMs: number | undefined;
  /** Building the explanations, when asked for. */
  explainMs: number | undefined;
  /** When the explanation began (performance.now()), so a trace can place it. */
  explainStartedAt: number | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    stages: RequestStages;
  }
}

/** Records what the data plane reports about the scores of a request's rows. */
export function noteScores(stages: RequestStages, scores: readonly Score[]): void {
  let queueMs = stages.queueMs ?? 0;
  let modelMs = stages.modelMs ?? 0;
  let lastRun = -1;
  for (const score of scores) {
    if (score.queuedMs > queueMs) queueMs = score.queuedMs;
    if (score.inferenceMs > modelMs) modelMs = score.inferenceMs;
    // Rows of one run are adjacent unless a canary split the request: the includes() is rare.
    if (score.runId !== lastRun && !stages.runIds.includes(score.runId)) stages.runIds.push(score.runId);
    lastRun = score.runId;
  }
  stages.queueMs = queueMs;
  stages.modelMs = modelMs;
  stages.modelVersion ??= scores[0]?.model.version;
}

/** Runs `explainAll` and records how long it took as the request's explanation stage. */
export function timeExplanation<T>(stages: RequestStages, explainAll: () => T): T {
  const started = performance.now();
  stages.explainStartedAt = started;
  try {
    return explainAll();
  } finally {
    stages.explainMs = performance.now() - started;
  }
}

/** Gives every request an empty stage record; the protocol adapters fill it in. */
export default fp(
  async (app) => {
    app.decorateRequest('stages', null as unknown as RequestStages);
    app.addHook('onRequest', (request, _reply, done) => {
      request.stages = { runIds: [], modelVersion: undefined, queueMs: undefined, modelMs: undefined, explainMs: undefined, explainStartedAt: undefined };
      done();
    });
  },
  { name: 'request-stages' },
);
