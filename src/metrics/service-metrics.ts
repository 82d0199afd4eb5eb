import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { DataPlaneObserver } from '../data-plane/data-plane.js';
import type { ModelInfo } from '../data-plane/model.js';
import type { RowDriftReport } from '../schemas/drift.js';
import { FastCounter, FastHistogram } from './fast-metrics.js';

export type ModelLoadTrigger = 'startup' | 'reload';
export type ModelLoadOutcome = 'success' | 'failure';
/** What a worker sends for a server-wide scrape. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** HTTP latency, in seconds: from well under a millisecond to a stalled request. */
const HTTP_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** One onnxruntime call or a wait in the micro-batch queue: tens of microseconds to tens of ms. */
const INFERENCE_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/**
 * One stage of one request: a queue wait or a model run of tens of microseconds, up to the
 * explanations of a large batch or a stalled request (seconds).
 */
const STAGE_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The stages of a request that reached the model, as the stage label names them. */
export type RequestStage = 'queue' | 'model' | 'explain' | 'request';
/** Where one request that reached the model spent its time, in seconds; explain only when it asked for explanations. */
export interface StageSeconds {
  queue: number;
  model: number;
  explain: number | undefined;
  request: number;
}

/** Rows per onnxruntime call: 1, 2, 4, ... 1024 and more. */
const ROWS_PER_RUN = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
type RunLabel = 'model_name' | 'model_version' | 'role' | 'served';
const RUN_LABELS: readonly RunLabel[] = ['model_name', 'model_version', 'role', 'served'];

/** P(churn) in twentieths, so the CRM's 0.8 and the tiers' 0.4 and 0.7 are bucket edges. */
const PROBABILITY = Array.from({ length: 20 }, (_, index) => (index + 1) / 20);

/**
 * Every metric the service exposes, in Prometheus naming: base units (seconds), `_total`
 * counters, an `_info` gauge. HTTP metrics use the generic `http_` names; the rest share the
 * `churn_` prefix. Metrics updated per request or per row are fast-metrics; the rest are plain
 * prom-client. Knows nothing of Fastify: hooks and routes call the recorders.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #modelName: string;
  readonly #httpRequests = new FastCounter<'method' | 'route' | 'status_code'>({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
  });
  readonly #httpDuration = new FastHistogram<'method' | 'route' | 'status_code'>({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, in seconds.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: HTTP_SECONDS,
  });
  readonly #runs = new FastCounter<RunLabel>({
    name: 'churn_inference_runs_total',
    help: 'onnxruntime calls made, by model and its role (champion, challenger) and whether the run answered callers (served) or scored rows in shadow.',
    labelNames: RUN_LABELS,
  });
  readonly #rows = new FastCounter<RunLabel>({
    name: 'churn_inference_rows_total',
    help: 'Rows scored by onnxruntime calls.',
    labelNames: RUN_LABELS,
  });
  readonly #rowsPerRun = new FastHistogram<RunLabel>({
    name: 'churn_inference_batch_size',
    help: 'Rows per onnxruntime call (micro-batches, batch requests and shadow runs).',
    labelNames: RUN_LABELS,
    buckets: ROWS_PER_RUN,
  });
  readonly #runDuration = new FastHistogram<RunLabel>({
    name: 'churn_inference_run_duration_seconds',
    help: 'Time to pack the input tensor and run onnxruntime once, in seconds. The event loop is blocked for most of it.',
    labelNames: RUN_LABELS,
    buckets: INFERENCE_SECONDS,
  });
  readonly #queueWait = new FastHistogram({
    name: 'churn_inference_queue_wait_seconds',
    help: 'Time a coalesced prediction waited in the micro-batch queue before its run started, in seconds.',
    labelNames: [],
    buckets: INFERENCE_SECONDS,
  });
  readonly #stageDuration = new FastHistogram<'route' | 'model_version' | 'stage'>({
    name: 'churn_request_stage_duration_seconds',
    help:
      'Where the time of a request that reached the model went, by route pattern, model version and stage: queue (the longest wait of its rows in the micro-batch queue), model (the longest model run that scored them), explain (building its explanations), request (the whole request, as http_request_duration_seconds). Requests refused before the model (and probes, and /metrics) are not counted.',
    labelNames: ['route', 'model_version', 'stage'],
    buckets: STAGE_SECONDS,
  });
  readonly #runFailures = new FastCounter<RunLabel>({
    name: 'churn_inference_failures_total',
    help: 'onnxruntime calls that failed; every caller of a served run got a 5xx (a shadow run fails nobody).',
    labelNames: RUN_LABELS,
  });
  readonly #predictions = new FastCounter<'protocol' | 'model_name' | 'model_version' | 'role'>({
    name: 'churn_predictions_total',
    help: 'Predictions served to callers, by protocol, model and its role (the challenger answers only in a canary).',
    labelNames: ['protocol', 'model_name', 'model_version', 'role'],
  });
  readonly #probability = new FastHistogram<'protocol' | 'model_name' | 'role'>({
    name: 'churn_prediction_probability',
    help: 'Churn probabilities served to callers, by the role of the model that answered.',
    labelNames: ['protocol', 'model_name', 'role'],
    buckets: PROBABILITY,
  });
  readonly #shadowProbability = new FastHistogram<'model_name' | 'model_version' | 'role'>({
    name: 'churn_shadow_probability',
    help: 'Churn probabilities scored in shadow (never served): the challenger\'s in shadow mode, the champion\'s behind a canary.',
    labelNames: ['model_name', 'model_version', 'role'],
    buckets: PROBABILITY,
  });
  readonly #shadowDropped = new FastCounter<'model_name' | 'reason'>({
    name: 'churn_shadow_rows_dropped_total',
    help: 'Rows never scored in shadow: the queue was full (SHADOW_QUEUE_MAX_ROWS), the model to score them was dropped or replaced first, a promotion swapped the roles while they were queued, or they came during the shutdown. No caller waited for them.',
    labelNames: ['model_name', 'reason'],
  });
  readonly #riskTiers = new FastCounter<'model_name' | 'risk_tier'>({
    name: 'churn_predictions_by_risk_tier_total',
    help: 'Predictions of the churn API, by the risk tier they were given.',
    labelNames: ['model_name', 'risk_tier'],
  });
  readonly #modelInfo: Gauge<'model_name' | 'model_version'>;
  readonly #challengerInfo: Gauge<'model_name' | 'model_version'>;
  /** Rows waiting in the shadow queue, read at each scrape; none until the data plane says how to read it. */
  #shadowQueueDepth: () => number = () => 0;
  readonly #modelLoads: Counter<'model_name' | 'trigger' | 'outcome'>;
  readonly #rateLimitUnchecked: Counter;

  /** `droppedLogLines`: the process's count of log lines its output could not take (logger.ts). */
  constructor(modelName: string, droppedLogLines: () => number = () => 0) {
    this.#modelName = modelName;
    const registers = [this.registry];
    new Counter({
      name: 'churn_log_lines_dropped_total',
      help: 'Log lines dropped because the log output (standard output) did not keep up and the bounded log buffer was full.',
      registers,
      collect() {
        this.reset();
        this.inc(droppedLogLines());
      },
    });
    collectDefaultMetrics({ register: this.registry });
    for (const metric of [
      this.#httpRequests,
      this.#httpDuration,
      this.#runs,
      this.#rows,
      this.#rowsPerRun,
      this.#runDuration,
      this.#queueWait,
      this.#stageDuration,
      this.#runFailures,
      this.#predictions,
      this.#probability,
      this.#shadowProbability,
      this.#shadowDropped,
      this.#riskTiers,
    ]) {
      this.registry.registerMetric(metric as unknown as Metric);
    }
    this.#modelInfo = new Gauge({
      name: 'churn_model_info',
      help: 'The model being served: 1 for each model name and version in use.',
      labelNames: ['model_name', 'model_version'],
      // Workers serving the same version report one series, not one per worker.
      aggregator: 'max',
      registers,
    });
    this.#challengerInfo = new Gauge({
      name: 'churn_challenger_info',
      help: 'The challenger loaded beside the champion: 1 for its model name and version; absent when there is none.',
      labelNames: ['model_name', 'model_version'],
      aggregator: 'max',
      registers,
    });
    const depth = () => this.#shadowQueueDepth();
    new Gauge({
      name: 'churn_shadow_queue_rows',
      help: 'Rows answered already and waiting to be scored in shadow by the other model (at most SHADOW_QUEUE_MAX_ROWS per worker).',
      registers,
      collect() {
        this.set(depth());
      },
    });
    this.#modelLoads = new Counter({
      name: 'churn_model_loads_total',
      help: 'Model loads, at start-up and on reload, by outcome.',
      labelNames: ['model_name', 'trigger', 'outcome'],
      registers,
    });
    this.#rateLimitUnchecked = new Counter({
      name: 'churn_rate_limit_unchecked_total',
      help: 'Requests served without a rate-limit count because the shared count (Redis, or the cluster primary) did not answer.',
      registers,
    });
  }

  /** The data plane reports its runs and what it served here. */
  readonly inference: DataPlaneObserver = {
    rowsScored: ({ model, role, served, rows, seconds }) => {
      const labels = [this.#modelName, model.version, role, served ? 'true' : 'false'];
      this.#runs.inc(labels);
      this.#rows.inc(labels, rows);
      this.#rowsPerRun.observe(labels, rows);
      this.#runDuration.observe(labels, seconds);
    },
    runFailed: ({ model, role, served }) => {
      this.#runFailures.inc([this.#modelName, model.version, role, served ? 'true' : 'false']);
    },
    queueWaited: (seconds) => {
      this.#queueWait.observe([], seconds);
    },
    predictionsServed: ({ protocol, model, scores }) => {
      const [first] = scores;
      // One model answered the whole request unless a canary split it: then count row by row.
      if (!first || scores.every((score) => score.model === first.model)) {
        const series = this.#probability.series([protocol, this.#modelName, first?.role ?? 'champion']);
        for (const score of scores) series.observe(score.probability);
        this.#predictions.inc([protocol, this.#modelName, model.version, first?.role ?? 'champion'], scores.length);
        return;
      }
      for (const score of scores) {
        this.#probability.observe([protocol, this.#modelName, score.role], score.probability);
        this.#predictions.inc([protocol, this.#modelName, score.model.version, score.role]);
      }
    },
    shadowScored: ({ model, role, scores }) => {
      const series = this.#shadowProbability.series([this.#modelName, model.version, role]);
      for (const score of scores) series.observe(score.probability);
    },
    shadowDropped: (rows, reason) => {
      this.#shadowDropped.inc([this.#modelName, reason], rows);
    },
    modelLoaded: (model, role) => {
      const gauge = role === 'champion' ? this.#modelInfo : this.#challengerInfo;
      gauge.reset();
      gauge.set({ model_name: this.#modelName, model_version: model.version }, 1);
    },
    modelUnloaded: (role) => {
      if (role === 'challenger') this.#challengerInfo.reset();
    },
  };

  /** Where the scrape reads the shadow queue's depth from. */
  watchShadowQueue(depth: () => number): void {
    this.#shadowQueueDepth = depth;
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    const labels = [method, route, statusCode];
    this.#httpRequests.inc(labels);
    this.#httpDuration.observe(labels, seconds);
  }

  /** A request that reached the model: where its time went, by stage. */
  requestStages(route: string, modelVersion: string, seconds: StageSeconds): void {
    this.#stageDuration.observe([route, modelVersion, 'queue'], seconds.queue);
    this.#stageDuration.observe([route, modelVersion, 'model'], seconds.model);
    if (seconds.explain !== undefined) this.#stageDuration.observe([route, modelVersion, 'explain'], seconds.explain);
    this.#stageDuration.observe([route, modelVersion, 'request'], seconds.request);
  }

  riskTierServed(tier: string, count = 1): void {
    this.#riskTiers.inc([this.#modelName, tier], count);
  }

  modelLoaded(trigger: ModelLoadTrigger, outcome: ModelLoadOutcome, model: ModelInfo | undefined): void {
    this.#modelLoads.inc({ model_name: this.#modelName, trigger, outcome });
    if (outcome === 'success' && model) {
      this.#modelInfo.reset();
      this.#modelInfo.set({ model_name: this.#modelName, model_version: model.version }, 1);
    }
  }

  rateLimitUnchecked(): void {
    this.#rateLimitUnchecked.inc();
  }

  /** No model is served any more (the process is shutting down). */
  modelUnloaded(): void {
    this.#modelInfo.reset();
    this.#challengerInfo.reset();
  }

  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text of several workers' snapshots, summed (or as each metric's aggregator says). */
  static async render(snapshots: MetricsSnapshot[]): Promise<string> {
    return AggregatorRegistry.aggregate(snapshots).metrics();
  }

  /**
   * The drift gauges, from the whole server's report: computed from every worker's bin counts
   * added up, since PSIs of separate windows cannot be added.
   */
  static async renderDrift(report: RowDriftReport, modelName: string): Promise<string> {
    const registry = new Registry();
    const labels = { model_name: modelName, model_version: report.model_version ?? '' };
    const windowRows = new Gauge({ name: 'churn_drift_window_rows', help: 'Scored rows in the drift window, over every worker.', labelNames: ['model_name', 'model_version'], registers: [registry] });
    const psi = new Gauge({
      name: 'churn_drift_psi',
      help: 'Population stability index of each feature (and of churn_probability) over the drift window against the training data; absent until the window holds DRIFT_MIN_ROWS rows.',
      labelNames: ['model_name', 'model_version', 'feature'],
      registers: [registry],
    });
    if (report.available) {
      windowRows.set(labels, report.window.rows);
      for (const finding of [...report.features, ...(report.score ? [report.score] : [])]) {
        if (finding.psi !== null) psi.set({ ...labels, feature: finding.feature }, finding.psi);
      }
    }
    return registry.metrics();
  }
}
