import type { PredictionLogStore, PredictionRecord } from './prediction-log-store.js';

export interface PredictionLogWriterOptions {
  store: Pick<PredictionLogStore, 'insert'>;
  /** Records waiting to be written, at most (the bound on memory while the store is slow or down). */
  maxBuffered: number;
  /** Records per insert, at most; a full batch is written without waiting for the interval. */
  maxBatch: number;
  /** A partial batch waits this long; a failed write is retried after it too. */
  flushIntervalMs: number;
  /** Told how many records were dropped, each time some are (a counter metric). */
  onDropped?: (count: number, reason: DropReason) => void;
  log: WriterLog;
}

/** Why records never reached the store: the buffer was full, a drain ran out of time, or they came after it. */
export type DropReason = 'buffer_full' | 'drain_timeout' | 'after_close';

export interface WriterLog {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  info(details: object, message: string): void;
}

/**
 * Writes prediction records to a store in batches, off the request path. `record` only appends to
 * a bounded buffer: it never waits, never throws, and costs the same whether the store is fast,
 * slow, failing or hung. One write is in flight at a time; records that do not fit the buffer are
 * counted and logged (one line when an overflow episode starts, one when it ends), never silently lost.
 */
export class PredictionLogWriter {
  readonly #options: PredictionLogWriterOptions;
  #buffer: PredictionRecord[] = [];
  #inFlight: Promise<void> | undefined;
  #inFlightCount = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Set when a drain starts: the timer stops, records are still taken until the drain ends. */
  #draining = false;
  /** Set when the drain ends: nothing writes any more. */
  #closed = false;
  /** Set after a failed write: retries wait for the interval instead of hammering the store. */
  #failing = false;
  #droppedThisEpisode = 0;
  #droppedTotal = 0;
  #writtenTotal = 0;

  constructor(options: PredictionLogWriterOptions) {
    if (options.maxBatch < 1 || options.maxBuffered < options.maxBatch) {
      throw new Error(`prediction log writer: need 1 <= maxBatch (${options.maxBatch}) <= maxBuffered (${options.maxBuffered})`);
    }
    this.#options = options;
    this.#timer = setInterval(() => this.#flush(), options.flushIntervalMs);
    // The log must never keep a process alive that has nothing else to do.
    this.#timer.unref();
  }

  /** Records waiting or being written now. */
  get pending(): number {
    return this.#buffer.length + this.#inFlightCount;
  }

  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  get writtenTotal(): number {
    return this.#writtenTotal;
  }

  /** Queues records for the store. Synchronous and bounded: the caller never waits on the store. */
  record(records: readonly PredictionRecord[]): void {
    if (this.#closed) {
      this.#drop(records.length, 'after_close');
      this.#options.log.error({ dropped: records.length }, 'prediction log: records came after the writer closed; they are dropped');
      return;
    }
    const room = this.#options.maxBuffered - this.pending;
    const accepted = records.length <= room ? records : records.slice(0, Math.max(room, 0));
    for (const record of accepted) this.#buffer.push(record);
    if (accepted.length < records.length) this.#overflow(records.length - accepted.length);
    if (this.#buffer.length >= this.#options.maxBatch && !this.#failing && !this.#inFlight && !this.#draining) {
      // Not now: the caller's own work comes first; the write starts once it has returned.
      setImmediate(() => this.#flush());
    }
  }

  /**
   * Stops the timer and writes everything buffered, batch after batch. A store that is down or hung
   * past `timeoutMs` leaves records unwritten: they are counted and logged as dropped.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    clearInterval(this.#timer);
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) {
      // After a failure, give the store a pause (an interval, at most what is left) before the retry.
      if (this.#failing && !this.#inFlight) await pause(Math.min(this.#options.flushIntervalMs, deadline - Date.now()));
      this.#flush();
      const write = this.#inFlight;
      if (write) await waitAtMost(write, deadline - Date.now());
    }
    this.#closed = true;
    if (this.pending > 0) {
      const unwritten = this.pending;
      // A write still hanging may land later; it is counted as lost, the one answer that is never too low.
      this.#buffer = [];
      this.#inFlightCount = 0;
      this.#drop(unwritten, 'drain_timeout');
      this.#options.log.error({ unwritten }, 'prediction log: the store did not take every buffered record before shutdown; these are lost');
    }
  }

  #flush(): void {
    if (this.#inFlight || this.#buffer.length === 0) return;
    const batch = this.#buffer.splice(0, this.#options.maxBatch);
    this.#inFlightCount = batch.length;
    this.#inFlight = this.#write(batch);
  }

  async #write(batch: PredictionRecord[]): Promise<void> {
    try {
      await this.#options.store.insert(batch);
      this.#writtenTotal += batch.length;
      if (this.#failing) this.#options.log.info({ written: batch.length }, 'prediction log: the store takes records again');
      this.#failing = false;
    } catch (error) {
      // Back to the front, in order: the next write retries them (inserts are idempotent). After
      // the drain has given up they were counted as lost already.
      if (!this.#closed) this.#buffer.unshift(...batch);
      if (!this.#failing) this.#options.log.error({ err: error, pending: this.pending }, 'prediction log: writing to the store failed; records wait in the buffer and are retried');
      this.#failing = true;
    } finally {
      this.#inFlight = undefined;
      this.#inFlightCount = 0;
    }
    this.#endOverflowEpisodeIfRoom();
    if (!this.#failing && !this.#draining && this.#buffer.length >= this.#options.maxBatch) setImmediate(() => this.#flush());
  }

  #overflow(count: number): void {
    if (this.#droppedThisEpisode === 0) {
      this.#options.log.warn(
        { maxBuffered: this.#options.maxBuffered },
        'prediction log: the buffer is full (the store is slow or down); new records are dropped and counted until it has room',
      );
    }
    this.#droppedThisEpisode += count;
    this.#drop(count, 'buffer_full');
  }

  #endOverflowEpisodeIfRoom(): void {
    if (this.#droppedThisEpisode === 0 || this.pending >= this.#options.maxBuffered) return;
    this.#options.log.warn({ dropped: this.#droppedThisEpisode }, 'prediction log: the buffer has room again; records were dropped while it was full');
    this.#droppedThisEpisode = 0;
  }

  #drop(count: number, reason: DropReason): void {
    if (count === 0) return;
    this.#droppedTotal += count;
    this.#options.onDropped?.(count, reason);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(ms, 0)));
}

/** Waits for `work` or `ms`, whichever comes first, and leaves no timer behind to hold the process. */
async function waitAtMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(ms, 0))))]);
  } finally {
    clearTimeout(timer);
  }
}
