import { performance } from 'node:perf_hooks';
import { MicroBatcher } from '../batching/micro-batcher.js';
import type { CustomerFeatures } from '../schemas/customer-features.js';
import type { PredictionResponse } from '../schemas/prediction.js';
import { packFeatures } from './features.js';
import type { ModelHandle } from './model-handle.js';
import { toPrediction, type Thresholds } from './risk.js';

export interface BatchPrediction {
  predictions: PredictionResponse[];
  latencyMs: number;
}

export interface MicroBatchingOptions {
  enabled: boolean;
  maxBatchRows: number;
  maxDelayMs: number;
}

/**
 * Turns customers into predictions with the current model. Single predictions are coalesced by
 * a micro-batcher; a batch request is already a batch and runs as one call of its own.
 * No HTTP here.
 */
export class Predictor {
  readonly batcher: MicroBatcher<CustomerFeatures, PredictionResponse> | undefined;

  constructor(
    private readonly handle: ModelHandle,
    private readonly thresholds: Thresholds,
    batching: MicroBatchingOptions,
  ) {
    this.batcher = batching.enabled
      ? new MicroBatcher({
          run: async (customers) => (await this.predictMany(customers)).predictions,
          maxBatchRows: batching.maxBatchRows,
          maxDelayMs: batching.maxDelayMs,
        })
      : undefined;
  }

  async predictOne(customer: CustomerFeatures): Promise<PredictionResponse> {
    if (this.batcher) return this.batcher.submit(customer);
    const { predictions } = await this.predictMany([customer]);
    return predictions[0]!;
  }

  /** One onnxruntime pass for the whole list; latency covers packing the tensor and the run. */
  async predictMany(customers: readonly CustomerFeatures[]): Promise<BatchPrediction> {
    const model = this.handle.require();
    const started = performance.now();
    const probabilities = await model.predictProbabilities(packFeatures(customers), customers.length);
    const latencyMs = performance.now() - started;
    const predictions = customers.map((customer, row) =>
      toPrediction(probabilities[row]!, customer, model.version, this.thresholds),
    );
    return { predictions, latencyMs };
  }

  /** Finishes the predictions already queued; new ones are refused. */
  async close(): Promise<void> {
    await this.batcher?.close();
  }
}
