import { InferenceFailedError, ModelNotReadyError, ServiceClosingError } from '../errors.js';
import type { ModelOptions, ModelOutputs, ServedModel } from './churn-model.js';
import { DriftMonitor, type DriftSnapshot } from './drift.js';
import { checkRows, packRows, type FeatureRow } from './feature-rows.js';
import { MicroBatcher } from './micro-batcher.js';
import { ModelHandle } from './model-handle.js';

/** One row's answer: P(churn), the model that produced it and how long its model run took. */
export interface Score {
  probability: number;
  model: ServedModel;
  /** Packing the tensor plus the onnxruntime call that scored this row, in ms. */
  inferenceMs: number;
  /** Every output of the run that scored this row (shared by the rows of that run), and this row's index in it. */
  outputs: ModelOutputs;
  row: number;
}

/** What the data plane reports as it works; metrics and monitors listen here. */
export interface InferenceObserver {
  runFinished?(model: ServedModel, rows: number, seconds: number): void;
  runFailed?(model: ServedModel, rows: number, error: unknown): void;
  queueWaited?(seconds: number): void;
}

/** One observer that tells every one of `observers`. */
export function combineObservers(observers: readonly InferenceObserver[]): InferenceObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    runFinished: (model, rows, seconds) => {
      for (const observer of observers) observer.runFinished?.(model, rows, seconds);
    },
    runFailed: (model, rows, error) => {
      for (const observer of observers) observer.runFailed?.(model, rows, error);
    },
    queueWaited: (seconds) => {
      for (const observer of observers) observer.queueWaited?.(seconds);
    },
  };
}

export interface DataPlaneOptions {
  model: ModelOptions;
  microBatching: {
    enabled: boolean;
    maxRows: number;
    maxDelayMs: number;
    /** Multi-row calls join the shared queue too, instead of running as their own call. */
    multiRow: boolean;
  };
  observer?: InferenceObserver;
  /** Count every scored row for drift monitoring, over a window of this many rows; unset: off. */
  drift?: { windowRows: number };
}

/**
 * Rows in, scores out: the one path from feature rows to P(churn) under every protocol. It owns
 * the model handle (safe swaps), the micro-batcher and the feature contract's checks, and knows
 * nothing of HTTP or of any protocol's shapes.
 */
export class DataPlane {
  readonly #models = new ModelHandle();
  readonly #options: DataPlaneOptions;
  readonly #batcher: MicroBatcher<FeatureRow, Score> | undefined;
  readonly #drift: DriftMonitor | undefined;
  #closing = false;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    const { microBatching, observer } = options;
    this.#drift = options.drift ? new DriftMonitor(options.drift.windowRows) : undefined;
    this.#batcher = microBatching.enabled
      ? new MicroBatcher({
          run: (rows) => this.#run(rows),
          maxBatchRows: microBatching.maxRows,
          maxDelayMs: microBatching.maxDelayMs,
          onQueueWait: observer?.queueWaited && ((waitedMs) => observer.queueWaited!(waitedMs / 1000)),
        })
      : undefined;
  }

  /** The model serving now, if any. */
  get model(): ServedModel | undefined {
    return this.#models.current;
  }

  /** The model that scores new rows now; refuses, as scoring would, while closing or before a model is loaded. */
  servingModel(): ServedModel {
    if (this.#closing) throw new ServiceClosingError();
    const model = this.#models.current;
    if (!model) throw new ModelNotReadyError();
    return model;
  }

  /** Ready to score: a model is loaded and the data plane is not closing. */
  get ready(): boolean {
    return !this.#closing && this.#models.current !== undefined;
  }

  /** Loads, checks and swaps in the model at `path`; a failure leaves the current one serving. */
  async loadModel(path: string): Promise<ServedModel> {
    const model = await this.#models.load(path, this.#options.model);
    const reference = model.card?.drift_reference;
    this.#drift?.switchTo(model, reference && { features: reference.features, score: reference.score });
    return model;
  }

  /** This process's drift counts for the model it serves; undefined when monitoring is off or no model is loaded. */
  driftSnapshot(): DriftSnapshot | undefined {
    return this.#drift?.snapshot();
  }

  /** Scores one row; concurrent calls are coalesced into one model run when batching is on. */
  async scoreOne(row: FeatureRow): Promise<Score> {
    const rows = [row];
    this.#admit(rows);
    if (this.#batcher) return this.#batcher.submit(row);
    const [score] = await this.#run(rows);
    return score!;
  }

  /** Scores several rows in one model run, answers in order. */
  async scoreMany(rows: FeatureRow[]): Promise<Score[]> {
    this.#admit(rows);
    if (rows.length === 0) return [];
    if (this.#batcher && this.#options.microBatching.multiRow) return this.#batcher.submitMany(rows);
    return this.#run(rows);
  }

  /** Refuses new rows, finishes every queued and running one, then releases the model. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#batcher?.close();
    await this.#models.close();
  }

  #admit(rows: readonly FeatureRow[]): void {
    if (this.#closing) throw new ServiceClosingError();
    checkRows(rows);
  }

  /** Exactly one onnxruntime call for `rows`, on the model current when the call starts. */
  #run(rows: readonly FeatureRow[]): Promise<Score[]> {
    const { observer } = this.#options;
    return this.#models.withModel(async (model) => {
      const started = performance.now();
      const features = packRows(rows);
      let outputs: ModelOutputs;
      try {
        outputs = await model.predict(features, rows.length);
      } catch (error) {
        observer?.runFailed?.(model, rows.length, error);
        throw new InferenceFailedError({ cause: error });
      }
      const inferenceMs = performance.now() - started;
      observer?.runFinished?.(model, rows.length, inferenceMs / 1000);
      this.#drift?.observe(model, features, rows.length, outputs.churn);
      const scores = new Array<Score>(rows.length);
      for (let row = 0; row < rows.length; row += 1) scores[row] = { probability: outputs.churn[row]!, model, inferenceMs, outputs, row };
      return scores;
    });
  }
}
