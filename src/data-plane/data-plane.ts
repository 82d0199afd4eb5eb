import { InferenceFailedError, ModelNotFoundError, ModelNotReadyError, ServiceClosingError } from '../errors.js';
import { checkRows, packRows, type FeatureRow } from './feature-rows.js';
import { MicroBatcher } from './micro-batcher.js';
import type { Model, ModelLoader, ModelOutputs, ModelRole, ServedModel } from './model.js';
import { ModelHandle } from './model-handle.js';

/** One row's answer: P(churn), the model that produced it and how long its model run took. */
export interface Score {
  probability: number;
  model: ServedModel;
  /** Packing the tensor plus the model call that scored this row, in ms. */
  inferenceMs: number;
  /** Every output of the run that scored this row (shared by the rows of that run), and this row's index in it. */
  outputs: ModelOutputs;
  row: number;
}

/** One model call, as observers see it. */
export interface ModelRun {
  readonly model: ServedModel;
  readonly role: ModelRole;
  readonly rows: number;
  /** The rows as the model read them: float32, row-major in the model's column order. */
  readonly features: Float32Array;
  /** The request each row came from, row by row (ids as the calling protocol named them; undefined when none was given). */
  readonly requestIds: readonly (string | undefined)[];
}

/** A model call that scored its rows. */
export interface ScoredRun extends ModelRun {
  readonly outputs: ModelOutputs;
  /** Packing the tensor plus the model call, in seconds. */
  readonly seconds: number;
}

/** Predictions answered to a caller: what the data plane counts as served. */
export interface ServedPredictions {
  /** The protocol that answered (a label for counting, nothing more). */
  readonly protocol: string;
  readonly model: ServedModel;
  readonly scores: readonly Score[];
  readonly requestId: string | undefined;
  /** The rows as the caller sent them, in the order of `scores`. */
  readonly rows: readonly FeatureRow[];
  /** The caller's reference for each row (a CRM id, say), when its protocol carries one. */
  readonly customerIds: readonly (string | undefined)[] | undefined;
}

/**
 * What the data plane reports as it works. Metrics, the run log and monitors (drift) listen here;
 * a new monitor, a prediction log or a shadow scorer is one more observer. Observers run on the
 * scoring path: they must be cheap and must not throw.
 */
export interface DataPlaneObserver {
  /** A model became the one serving `role` (at start-up or on reload). */
  modelLoaded?(model: ServedModel, role: ModelRole): void;
  rowsScored?(run: ScoredRun): void;
  runFailed?(run: ModelRun, error: unknown): void;
  /** A caller's rows waited this long in the micro-batch queue before their run started. */
  queueWaited?(seconds: number): void;
  predictionsServed?(served: ServedPredictions): void;
}

/** A model a caller asks for by name, and by version when it names one. */
export interface ModelReference {
  name: string;
  version?: string | undefined;
}

/** Rows to score for a caller of one protocol. */
export interface PredictionRequest {
  rows: FeatureRow[];
  protocol: string;
  /** The model asked for; the one serving when unset. */
  model?: ModelReference;
  requestId?: string;
  /** The caller's reference for each row, when its protocol carries one: passed on to observers, never read. */
  customerIds?: readonly (string | undefined)[];
}

export interface Predictions {
  /** The model that scored every row of the request. */
  model: ServedModel;
  scores: Score[];
}

export interface DataPlaneOptions {
  /** The name callers use for the served model (MODEL_NAME). */
  modelName: string;
  /** Loads and checks a model file: the seam between the data plane and a model backend. */
  loader: ModelLoader;
  microBatching: {
    enabled: boolean;
    maxRows: number;
    maxDelayMs: number;
    /** Multi-row calls join the shared queue too, instead of running as their own call. */
    multiRow: boolean;
  };
  observers?: readonly DataPlaneObserver[];
  /** Told when an observer throws; the scoring goes on without it. */
  onObserverError?: (error: unknown) => void;
}

/** A row and the request it came from, as it waits in the micro-batch queue. */
interface QueuedRow {
  row: FeatureRow;
  requestId: string | undefined;
}

const ROLE: ModelRole = 'champion';

/**
 * Rows in, scores out: the one path from feature rows to P(churn) under every protocol. It owns
 * the model handle (safe swaps), the micro-batcher and the feature contract's checks, resolves the
 * model a caller names, and reports what it scores and serves to its observers. It knows nothing
 * of HTTP or of any protocol's shapes.
 */
export class DataPlane {
  readonly #models: ModelHandle;
  readonly #options: DataPlaneOptions;
  readonly #observers: DataPlaneObserver[];
  readonly #batcher: MicroBatcher<QueuedRow, Score> | undefined;
  #closing = false;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    this.#models = new ModelHandle(options.loader);
    this.#observers = [...(options.observers ?? [])];
    const { microBatching } = options;
    this.#batcher = microBatching.enabled
      ? new MicroBatcher({
          run: (queued) => this.#runQueued(queued),
          maxBatchRows: microBatching.maxRows,
          maxDelayMs: microBatching.maxDelayMs,
          onQueueWait: (waitedMs) => this.#notify((observer) => observer.queueWaited?.(waitedMs / 1000)),
        })
      : undefined;
  }

  get modelName(): string {
    return this.#options.modelName;
  }

  /** From now on, `observer` hears of every load, run and served prediction. */
  observe(observer: DataPlaneObserver): void {
    this.#observers.push(observer);
    const model = this.#models.current;
    if (model) this.#tell(observer, (late) => late.modelLoaded?.(model, ROLE));
  }

  /** The model serving now, if any. */
  get model(): ServedModel | undefined {
    return this.#models.current;
  }

  /**
   * The model serving `reference` now (the served one when unset): ModelNotFoundError for another
   * name or version, and, as scoring would, a refusal while closing or before a model is loaded.
   */
  resolve(reference?: ModelReference): ServedModel {
    if (reference) this.#checkName(reference.name);
    if (this.#closing) throw new ServiceClosingError();
    const model = this.#models.current;
    if (!model) throw new ModelNotReadyError();
    if (reference?.version !== undefined) this.#checkVersion(reference, model);
    return model;
  }

  /**
   * Whether `reference` can take predictions now. Unlike resolve, a model not loaded yet (or a
   * closing service) is an answer, not an error; an unknown name, or a version other than the one
   * loaded, is ModelNotFoundError.
   */
  isReady(reference: ModelReference): boolean {
    this.#checkName(reference.name);
    const model = this.#models.current;
    if (model && reference.version !== undefined) this.#checkVersion(reference, model);
    return this.ready;
  }

  /** Ready to score: a model is loaded and the data plane is not closing. */
  get ready(): boolean {
    return !this.#closing && this.#models.current !== undefined;
  }

  /** Loads, checks and swaps in the model at `path`; a failure leaves the current one serving. */
  async loadModel(path: string): Promise<ServedModel> {
    const model = await this.#models.load(path);
    this.#notify((observer) => observer.modelLoaded?.(model, ROLE));
    return model;
  }

  /**
   * Scores a caller's rows and counts them as served: one row through the micro-batcher (concurrent
   * single rows share a model run), several as one run of their own (or the shared queue when
   * multi-row batching is on). Every row of a request is scored by one model; a request for a
   * version that a reload replaced while it was queued is refused rather than answered by another.
   */
  async predict(request: PredictionRequest): Promise<Predictions> {
    const { rows, requestId } = request;
    const asked = this.resolve(request.model);
    const scores = rows.length === 1 ? [await this.scoreOne(rows[0]!, requestId)] : await this.scoreMany(rows, requestId);
    const model = scores[0]?.model ?? asked;
    if (request.model?.version !== undefined) this.#checkVersion(request.model, model);
    const served: ServedPredictions = { protocol: request.protocol, model, scores, requestId, rows, customerIds: request.customerIds };
    this.#notify((observer) => observer.predictionsServed?.(served));
    return { model, scores };
  }

  /** Scores one row; concurrent calls are coalesced into one model run when batching is on. */
  async scoreOne(row: FeatureRow, requestId?: string): Promise<Score> {
    this.#admit([row]);
    if (this.#batcher) return this.#batcher.submit({ row, requestId });
    const [score] = await this.#run([row], [requestId]);
    return score!;
  }

  /** Scores several rows in one model run, answers in order. */
  async scoreMany(rows: FeatureRow[], requestId?: string): Promise<Score[]> {
    this.#admit(rows);
    if (rows.length === 0) return [];
    if (this.#batcher && this.#options.microBatching.multiRow) return this.#batcher.submitMany(rows.map((row) => ({ row, requestId })));
    return this.#run(rows, new Array<string | undefined>(rows.length).fill(requestId));
  }

  /** Refuses new rows, finishes every queued and running one, then releases the model. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#batcher?.close();
    await this.#models.close();
  }

  /** Tells every observer; one that throws is reported and never fails the scoring. */
  #notify(event: (observer: DataPlaneObserver) => unknown): void {
    for (const observer of this.#observers) this.#tell(observer, event);
  }

  #tell(observer: DataPlaneObserver, event: (observer: DataPlaneObserver) => unknown): void {
    try {
      event(observer);
    } catch (error) {
      this.#options.onObserverError?.(error);
    }
  }

  #checkName(name: string): void {
    const served = this.#options.modelName;
    if (name !== served) throw new ModelNotFoundError(`Model '${name}' not found; this server serves '${served}'.`);
  }

  #checkVersion(reference: ModelReference, model: ServedModel): void {
    if (reference.version !== model.version) {
      throw new ModelNotFoundError(`Model '${reference.name}' has no version '${reference.version}'; the version served is '${model.version}'.`);
    }
  }

  #admit(rows: readonly FeatureRow[]): void {
    if (this.#closing) throw new ServiceClosingError();
    checkRows(rows);
  }

  #runQueued(queued: readonly QueuedRow[]): Promise<Score[]> {
    return this.#run(
      queued.map((entry) => entry.row),
      queued.map((entry) => entry.requestId),
    );
  }

  /** Exactly one model call for `rows`, on the model current when the call starts. */
  #run(rows: readonly FeatureRow[], requestIds: readonly (string | undefined)[]): Promise<Score[]> {
    return this.#models.withModel(async (model: Model) => {
      const started = performance.now();
      const features = packRows(rows);
      let outputs: ModelOutputs;
      try {
        outputs = await model.predict(features, rows.length);
      } catch (error) {
        const run: ModelRun = { model, role: ROLE, rows: rows.length, features, requestIds };
        this.#notify((observer) => observer.runFailed?.(run, error));
        throw new InferenceFailedError({ cause: error });
      }
      const inferenceMs = performance.now() - started;
      const run: ScoredRun = { model, role: ROLE, rows: rows.length, features, requestIds, outputs, seconds: inferenceMs / 1000 };
      this.#notify((observer) => observer.rowsScored?.(run));
      const scores = new Array<Score>(rows.length);
      for (let row = 0; row < rows.length; row += 1) scores[row] = { probability: outputs.churn[row]!, model, inferenceMs, outputs, row };
      return scores;
    });
  }
}
