import { PredictionLogUnavailableError } from '../errors.js';
import { SchemaNewerError } from './migrations.js';
import type { PredictionLogStore, PredictionRecord } from './prediction-log-store.js';

/**
 * The prediction log cannot start for a reason an operator must fix (an unusable DATA_DIR, a schema
 * newer than this release knows): the start fails with this message as its one line.
 */
export class PredictionLogStartError extends Error {
  override name = 'PredictionLogStartError';
}

/**
 * Where the prediction log's store stands:
 * - `connecting`: not migrated yet (PostgreSQL unreachable at start); attempts go on with back-off;
 * - `up`: migrated, and the last contact (a write, the migration, a retention check) worked;
 * - `down`: migrated once, but the last contact failed (the database went away); the writer retries;
 * - `incompatible`: the database has a schema newer than this code knows; never retried.
 */
export type PredictionLogState = 'connecting' | 'up' | 'down' | 'incompatible';

export interface ConnectionLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  fatal(details: object, message: string): void;
}

export interface StoreConnectionOptions {
  store: PredictionLogStore;
  log: ConnectionLog;
  /** First wait after a failed migration attempt; each further failure doubles it, up to `maxRetryDelayMs`. */
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** Told each time the state changes (a gauge). */
  onStateChange?: (state: PredictionLogState) => void;
  /** Told once the store is migrated (the retention check runs then). */
  onConnected?: () => void;
}

/**
 * The prediction log's store as the rest of the app sees it while it may not be reachable yet.
 * `start` makes the first attempt to migrate; PostgreSQL that cannot be reached then leaves the
 * service starting anyway, and migration goes on in the background with back-off (one log line
 * when the episode starts, one when it ends). The writer writes through `insert`, which refuses
 * until the store is migrated, so records wait in the writer's bounded buffer meanwhile. A schema
 * newer than this code knows is never retried.
 */
export class PredictionLogStoreConnection {
  readonly #options: StoreConnectionOptions;
  #state: PredictionLogState = 'connecting';
  #migrated = false;
  #attempts = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set once `start` has answered: a newer schema found after that is logged here, since no start is left to fail. */
  #startAnswered = false;
  /** Why the last migration attempt failed: what `start` rejects with. */
  #lastError: unknown;

  constructor(options: StoreConnectionOptions) {
    this.#options = options;
  }

  get kind(): PredictionLogStore['kind'] {
    return this.#options.store.kind;
  }

  get state(): PredictionLogState {
    return this.#state;
  }

  /** True while the store is migrated and its last contact worked. */
  get ready(): boolean {
    return this.#state === 'up';
  }

  /**
   * The store once it is migrated (up, or down since: a route's call may fail, and answers 503
   * then); undefined while connecting or when its schema is newer than this code.
   */
  get migratedStore(): PredictionLogStore | undefined {
    return this.#migrated && this.#state !== 'incompatible' ? this.#options.store : undefined;
  }

  /**
   * The store for background users (drift windows): each call refuses at once until the store is
   * migrated, and tells the state whether the contact worked.
   */
  get gatedStore(): PredictionLogStore {
    const store = this.#options.store;
    return new Proxy(store, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        // Closing and migrating stay the connection's own business: passed through, bound to the store.
        if (key === 'close' || key === 'migrate') return (value as () => Promise<void>).bind(target);
        return (...args: unknown[]) => this.use((migrated) => (Reflect.get(migrated, key, migrated) as (...a: unknown[]) => Promise<unknown>).apply(migrated, args));
      },
    });
  }

  /**
   * The first migration attempt. Resolves once it worked, or, for a store worth retrying
   * (PostgreSQL), once it failed or `waitMs` passed without an answer: the service starts and the
   * attempts go on in the background. Rejects when the schema is newer than this code knows, and
   * for SQLite on any failure: a local file that cannot be opened or migrated is a misconfigured
   * volume, which waiting does not fix.
   */
  async start(waitMs: number): Promise<void> {
    try {
      await this.#firstAttempt(waitMs);
    } finally {
      this.#startAnswered = true;
    }
  }

  async #firstAttempt(waitMs: number): Promise<void> {
    const first = this.#attempt();
    if (this.kind === 'sqlite') {
      if (!(await first)) throw this.#lastError;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waited'>((resolve) => (timer = setTimeout(() => resolve('waited'), waitMs)));
    try {
      await Promise.race([first, waited]);
    } finally {
      clearTimeout(timer);
    }
    if (this.#state === 'incompatible') throw this.#lastError;
  }

  /** For the writer: a batch for the store, refused until it is migrated (the writer keeps the batch and retries). */
  async insert(records: readonly PredictionRecord[]): Promise<void> {
    if (!this.#migrated) throw this.#unavailable();
    try {
      await this.#options.store.insert(records);
    } catch (error) {
      this.#setState('down');
      throw error;
    }
    this.#setState('up');
  }

  /** Runs `work` on the store when it is migrated, and notes whether the contact worked. */
  async use<T>(work: (store: PredictionLogStore) => Promise<T>): Promise<T> {
    if (!this.#migrated || this.#state === 'incompatible') throw this.#unavailable();
    try {
      const result = await work(this.#options.store);
      this.#setState('up');
      return result;
    } catch (error) {
      this.#setState('down');
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#options.store.close();
  }

  /** One migration attempt; answers whether it worked. Schedules the next one after a retryable failure. */
  async #attempt(): Promise<boolean> {
    this.#attempts += 1;
    try {
      await this.#options.store.migrate();
    } catch (error) {
      this.#lastError = error;
      if (error instanceof SchemaNewerError) {
        if (this.#startAnswered) this.#options.log.fatal({ err: error }, `${error.message}; nothing is written to this store, predictions are still served`);
        this.#setState('incompatible');
        return false;
      }
      if (this.kind === 'sqlite' || this.#closed) return false;
      const delay = Math.min(this.#options.initialRetryDelayMs * 2 ** (this.#attempts - 1), this.#options.maxRetryDelayMs);
      if (this.#attempts === 1) {
        this.#options.log.error(
          { err: error, store: this.kind, maxRetryDelayMs: this.#options.maxRetryDelayMs },
          'prediction log: the store cannot be reached or migrated; predictions are served and buffered, and the store is retried in the background',
        );
      }
      this.#retryTimer = setTimeout(() => void this.#attempt(), delay);
      // Retrying must never keep a process alive that has nothing else to do.
      this.#retryTimer.unref();
      return false;
    }
    this.#migrated = true;
    this.#setState('up');
    this.#options.log.info({ store: this.kind, attempts: this.#attempts }, 'prediction log: store connected and migrated');
    this.#options.onConnected?.();
    return true;
  }

  #unavailable(): PredictionLogUnavailableError {
    return new PredictionLogUnavailableError({ cause: new Error(`the prediction log store is ${this.#state}`) });
  }

  #setState(state: PredictionLogState): void {
    if (this.#state === state || this.#state === 'incompatible') return;
    this.#state = state;
    this.#options.onStateChange?.(state);
  }
}
