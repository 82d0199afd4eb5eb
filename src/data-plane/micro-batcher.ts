import { ServiceClosingError } from '../errors.js';

/**
 * Coalesces concurrent requests into one model run. onnxruntime-node runs synchronously on the
 * main thread with a fixed cost per call that dwarfs the cost per row, so many rows per call is
 * the lever; a cap on rows per call bounds how long one call blocks the event loop.
 *
 * Knows nothing about the model or any protocol: it batches inputs for any `run` function.
 */
export interface MicroBatcherOptions<Input, Output> {
  /** Scores a list of inputs in one call, returning one output per input, in order. */
  run: (inputs: Input[]) => Promise<Output[]>;
  /** Most rows in one call; a larger queue is split into several calls. */
  maxBatchRows: number;
  /** Extra wait before a flush, in ms; 0 flushes at the next turn of the event loop. */
  maxDelayMs: number;
  /** Told, for each caller, how long it waited in the queue before its call started, with the caller's first input. */
  onQueueWait?: (waitedMs: number, firstInput: Input) => void;
}

interface Job<Input, Output> {
  inputs: Input[];
  enqueuedAt: number;
  resolve: (outputs: Output[]) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<Input, Output> {
  readonly #options: MicroBatcherOptions<Input, Output>;
  #queue: Job<Input, Output>[] = [];
  #queuedRows = 0;
  #scheduled: { cancel: () => void } | undefined;
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: MicroBatcherOptions<Input, Output>) {
    if (!(options.maxBatchRows >= 1)) throw new RangeError('maxBatchRows must be at least 1');
    if (!(options.maxDelayMs >= 0)) throw new RangeError('maxDelayMs must not be negative');
    this.#options = options;
  }

  /** Queues one input and resolves with its own output. */
  async submit(input: Input): Promise<Output> {
    const [output] = await this.submitMany([input]);
    return output!;
  }

  /**
   * Queues several inputs that stay together in one call (a request is never split across
   * calls), resolving with their outputs in order.
   */
  submitMany(inputs: Input[]): Promise<Output[]> {
    if (this.#closed) return Promise.reject(new ServiceClosingError());
    if (inputs.length === 0) return Promise.resolve([]);
    return new Promise<Output[]>((resolve, reject) => {
      this.#queue.push({ inputs, enqueuedAt: performance.now(), resolve, reject });
      this.#queuedRows += inputs.length;
      if (this.#queuedRows >= this.#options.maxBatchRows) this.#flushNow();
      else this.#schedule(this.#options.maxDelayMs);
    });
  }

  get queuedRows(): number {
    return this.#queuedRows;
  }

  /** Stops taking inputs, runs everything already queued and waits for it to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      if (this.#queue.length > 0) this.#flushNow();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #schedule(delayMs: number): void {
    if (this.#scheduled) return;
    const flush = () => {
      this.#scheduled = undefined;
      this.#flushChunk();
    };
    // setImmediate fires after the poll phase, so every request parsed in this turn of the loop
    // joins the batch and a lone request waits for no timer.
    if (delayMs === 0) {
      const immediate = setImmediate(flush);
      this.#scheduled = { cancel: () => clearImmediate(immediate) };
    } else {
      // Never clearImmediate() a Timeout or the reverse: Node corrupts its immediate queue.
      const timeout = setTimeout(flush, delayMs);
      this.#scheduled = { cancel: () => clearTimeout(timeout) };
    }
  }

  #flushNow(): void {
    this.#scheduled?.cancel();
    this.#scheduled = undefined;
    this.#flushChunk();
  }

  /** Runs one call with whole jobs up to the row cap; the rest waits for the next turn. */
  #flushChunk(): void {
    let taken = 0;
    let rows = 0;
    for (const job of this.#queue) {
      if (taken > 0 && rows + job.inputs.length > this.#options.maxBatchRows) break;
      taken += 1;
      rows += job.inputs.length;
    }
    if (taken === 0) return;
    const jobs = this.#queue.splice(0, taken);
    this.#queuedRows -= rows;
    // What is left has waited its delay already: it runs at the next turn, after I/O.
    if (this.#queue.length > 0) this.#schedule(0);

    const running = this.#runJobs(jobs, rows);
    this.#inFlight.add(running);
    void running.finally(() => this.#inFlight.delete(running));
  }

  async #runJobs(jobs: Job<Input, Output>[], rows: number): Promise<void> {
    const { onQueueWait } = this.#options;
    if (onQueueWait) {
      const now = performance.now();
      for (const job of jobs) onQueueWait(now - job.enqueuedAt, job.inputs[0]!);
    }
    try {
      const inputs = jobs.length === 1 ? jobs[0]!.inputs : jobs.flatMap((job) => job.inputs);
      const outputs = await this.#options.run(inputs);
      if (outputs.length !== rows) throw new Error(`run returned ${outputs.length} outputs for ${rows} inputs`);
      let offset = 0;
      for (const job of jobs) {
        job.resolve(outputs.slice(offset, offset + job.inputs.length));
        offset += job.inputs.length;
      }
    } catch (error) {
      // Every caller of a failed call hears of it; nobody is left waiting.
      for (const job of jobs) job.reject(error);
    }
  }
}
