import { ModelNotReadyError } from '../errors.js';
import type { Model, ModelLoader } from './model.js';

/** A loaded model and the runs that still use it. */
interface Slot {
  model: Model;
  users: number;
  retired: boolean;
  /** Settles once the model's session is released. */
  released: Promise<void>;
  release: () => void;
}

function slotFor(model: Model): Slot {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    let started = false;
    release = () => {
      if (started) return;
      started = true;
      void model.close().then(resolve, resolve);
    };
  });
  return { model, users: 0, retired: false, released, release };
}

/**
 * The one place that holds the live model, and the only code that releases one. Everything that
 * predicts borrows the current model for the length of its run (`withModel`), so a swap never
 * releases a session that a run still needs: onnxruntime-node defers `run()` with setImmediate, so
 * a run that took the old session may not even have started when the new one takes over.
 */
export class ModelHandle {
  readonly #loader: ModelLoader;
  #current: Slot | undefined;
  #retired = new Set<Slot>();
  /** Loads run one after another, in the order they were asked for. */
  #loads: Promise<unknown> = Promise.resolve();

  constructor(loader: ModelLoader) {
    this.#loader = loader;
  }

  get current(): Model | undefined {
    return this.#current?.model;
  }

  /** Runs `use` with the current model, which stays loaded until `use` settles. */
  async withModel<T>(use: (model: Model) => Promise<T>): Promise<T> {
    const slot = this.#current;
    if (!slot) throw new ModelNotReadyError();
    slot.users += 1;
    try {
      return await use(slot.model);
    } finally {
      slot.users -= 1;
      if (slot.retired && slot.users === 0) slot.release();
    }
  }

  /**
   * Loads and checks a model fully (the loader's checks, then `check`'s), then makes it current. A
   * failed load throws and leaves the current model serving. The replaced model is released once its last run has finished.
   */
  load(path: string, check?: (model: Model) => void): Promise<Model> {
    const loaded = this.#loads.then(async () => {
      const model = await this.#loader(path);
      if (check) {
        try {
          check(model);
        } catch (error) {
          await model.close();
          throw error;
        }
      }
      const previous = this.#current;
      this.#current = slotFor(model);
      if (previous) this.#retire(previous);
      return model;
    });
    this.#loads = loaded.catch(() => undefined);
    return loaded;
  }

  /** Stops lending the current model (released once its last run has finished); later runs get ModelNotReadyError. */
  unload(): Promise<void> {
    const unloaded = this.#loads.then(() => {
      const slot = this.#current;
      this.#current = undefined;
      if (slot) this.#retire(slot);
    });
    this.#loads = unloaded.catch(() => undefined);
    return unloaded;
  }

  /**
   * Exchanges the current models of this handle and `other` in one synchronous step, after the loads
   * already asked of either: a run that borrowed a model keeps it, the next run gets the other.
   * `when` decides at that step, from the models as they are then, whether to exchange them; the
   * answer says whether they were.
   */
  swapWith(other: ModelHandle, when: (mine: Model | undefined, theirs: Model | undefined) => boolean = () => true): Promise<boolean> {
    const swapped = Promise.all([this.#loads, other.#loads]).then(() => {
      if (!when(this.#current?.model, other.#current?.model)) return false;
      [this.#current, other.#current] = [other.#current, this.#current];
      return true;
    });
    this.#loads = swapped.catch(() => undefined);
    other.#loads = this.#loads;
    return swapped;
  }

  /** Stops lending the model and resolves once every model is released. */
  async close(): Promise<void> {
    await this.#loads;
    const slot = this.#current;
    this.#current = undefined;
    if (slot) this.#retire(slot);
    await Promise.all([...this.#retired].map((retired) => retired.released));
  }

  #retire(slot: Slot): void {
    slot.retired = true;
    this.#retired.add(slot);
    void slot.released.then(() => this.#retired.delete(slot));
    if (slot.users === 0) slot.release();
  }
}
