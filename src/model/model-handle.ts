import { ChurnModel, type ModelOptions } from './churn-model.js';

export class ModelNotReadyError extends Error {
  override name = 'ModelNotReadyError';
  constructor() {
    super('Model is not loaded yet; retry shortly.');
  }
}

/**
 * The one place that holds the live model. Everything that predicts asks the handle for the
 * current model at call time, so a reload is a single reference swap.
 */
export class ModelHandle {
  #current: ChurnModel | undefined;

  get current(): ChurnModel | undefined {
    return this.#current;
  }

  require(): ChurnModel {
    if (!this.#current) throw new ModelNotReadyError();
    return this.#current;
  }

  /** Loads and checks the new model fully before it replaces the old one. */
  async load(path: string, options: ModelOptions): Promise<ChurnModel> {
    const next = await ChurnModel.load(path, options);
    const previous = this.#current;
    this.#current = next;
    await previous?.close();
    return next;
  }

  async close(): Promise<void> {
    const previous = this.#current;
    this.#current = undefined;
    await previous?.close();
  }
}
