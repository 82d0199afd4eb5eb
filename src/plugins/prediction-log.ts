import { Counter, Gauge } from 'prom-client';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { thresholdsFrom } from '../churn-api/prediction-mapping.js';
import { PredictionLogUnavailableError } from '../errors.js';
import type { PairedScoreSource } from '../monitoring/comparison.js';
import type { OutcomeWindow, ScoredOutcomeSource } from '../monitoring/performance.js';
import { createPredictionLogStore } from '../prediction-log/open-store.js';
import type { PredictionLogStore } from '../prediction-log/prediction-log-store.js';
import { predictionRecorder } from '../prediction-log/prediction-recorder.js';
import { PredictionLogWriter } from '../prediction-log/prediction-log-writer.js';
import { SchemaNewerError } from '../prediction-log/migrations.js';
import { PredictionLogStartError, PredictionLogStoreConnection, type PredictionLogState } from '../prediction-log/store-connection.js';

/** Records per insert, at most (a quarter of PREDICTION_LOG_MAX_BUFFERED when that is below 2000). */
export const PREDICTION_LOG_MAX_BATCH = 500;
/** A partial batch is written after this; a failed write is retried after it too. */
export const PREDICTION_LOG_FLUSH_INTERVAL_MS = 1_000;
/** How long the drain at shutdown may wait for the store, at most (and never more than half of SHUTDOWN_TIMEOUT_MS). */
export const PREDICTION_LOG_DRAIN_TIMEOUT_MS = 5_000;
/** How long the start waits for the first migration attempt of PostgreSQL before it goes on without it. */
export const PREDICTION_LOG_START_WAIT_MS = 3_000;
/** Back-off between migration attempts while PostgreSQL cannot be reached: doubling from the first to the last. */
export const PREDICTION_LOG_RETRY_DELAY_MS = { initial: 250, max: 5_000 } as const;
const RETENTION_CHECK_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** What routes and probes reach of the prediction log. Read it at request time: the store may be migrated after the start. */
export interface PredictionLogAccess {
  /** PREDICTION_LOG: false means no store at all on this server. */
  readonly enabled: boolean;
  /**
   * The store once it is migrated; undefined while the log is off, while PostgreSQL has not been
   * reached since the start, or when its schema is newer than this code (routes answer 503).
   */
  readonly store: PredictionLogStore | undefined;
  readonly state: PredictionLogState | 'disabled';
  readonly storeKind: PredictionLogStore['kind'] | undefined;
  /** Records buffered or being written now. */
  readonly buffered: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The prediction log's store, for the monitors that keep their counts beside it (drift
     * windows); null when the log is off. Its calls refuse at once (PredictionLogUnavailableError)
     * until the store is migrated, so a monitor never waits on a database that is not there.
     */
    predictionLogStore: PredictionLogStore | null;
    /** The prediction log for routes (POST /outcomes) and probes, read at request time. */
    predictionLog: PredictionLogAccess;
  }
}

const DISABLED: PredictionLogAccess = { enabled: false, store: undefined, state: 'disabled', storeKind: undefined, buffered: 0 };

/**
 * A read of the prediction log as a monitor's source (undefined while the log is off). The store
 * is looked up at each call, so it may be migrated after the start; a store that is not migrated
 * or fails is a 503 with retry-after, its cause logged.
 */
function storeSource<T>(app: FastifyInstance, config: Pick<Config, 'PREDICTION_LOG'>, read: (store: PredictionLogStore, window: OutcomeWindow) => Promise<T>): ((window: OutcomeWindow) => Promise<T>) | undefined {
  if (!config.PREDICTION_LOG) return undefined;
  return async (window) => {
    const store = app.predictionLog.store;
    if (store === undefined) throw new PredictionLogUnavailableError({ cause: new Error(`the prediction log store is ${app.predictionLog.state}`) });
    try {
      return await read(store, window);
    } catch (error) {
      throw new PredictionLogUnavailableError({ cause: error });
    }
  };
}

/** The prediction log's scored outcomes, as the performance report reads them. */
export function scoredOutcomeSource(app: FastifyInstance, config: Pick<Config, 'PREDICTION_LOG'>): ScoredOutcomeSource | undefined {
  return storeSource(app, config, (store, window) => store.scoredOutcomes(window));
}

/** The prediction log's paired scores (champion and challenger on the same rows), as the comparison reads them. */
export function pairedScoreSource(app: FastifyInstance, config: Pick<Config, 'PREDICTION_LOG'>): PairedScoreSource | undefined {
  return storeSource(app, config, (store, window) => store.pairedScores(window));
}

/** The store, or a start error naming DATA_DIR when its SQLite file cannot be created or opened. */
function openStore(config: Config): PredictionLogStore {
  try {
    return createPredictionLogStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
  } catch (error) {
    throw unusableDataDir(config, error);
  }
}

function unusableDataDir(config: Config, error: unknown): PredictionLogStartError {
  const reason = error instanceof Error ? error.message : String(error);
  return new PredictionLogStartError(
    `prediction log: DATA_DIR ${config.DATA_DIR} cannot be used (${reason}); mount a directory the service user can write there, or set PREDICTION_LOG=false`,
    { cause: error },
  );
}

/**
 * The prediction log: every prediction the data plane serves, any protocol, is recorded by an
 * observer into a bounded buffer and written in batches to SQLite (DATA_DIR) or PostgreSQL
 * (DATABASE_URL). The store never stops predictions: PostgreSQL that cannot be reached at start is
 * migrated in the background (see PredictionLogStoreConnection) while records wait in the buffer.
 * What does stop the start: a schema newer than this code knows (when the database is reached
 * during the start), and a SQLite file that cannot be opened (a misconfigured volume is loud).
 * Old records are deleted in the background; closing the app drains the buffer into the store.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (!config.PREDICTION_LOG) {
      app.decorate('predictionLog', DISABLED);
      app.decorate('predictionLogStore', null);
      return;
    }
    const store = openStore(config);

    const storeUp = new Gauge({
      name: 'churn_prediction_log_store_up',
      help: 'Whether the prediction log store is migrated and its last contact worked (1), or not (0: connecting, down, or a newer schema). Predictions are served either way.',
      registers: [app.metrics.registry],
      // Over WORKERS=N processes: 0 when any worker cannot reach the store.
      aggregator: 'min',
    });
    storeUp.set(0);
    const connection = new PredictionLogStoreConnection({
      store,
      log: app.log,
      initialRetryDelayMs: PREDICTION_LOG_RETRY_DELAY_MS.initial,
      maxRetryDelayMs: PREDICTION_LOG_RETRY_DELAY_MS.max,
      onStateChange: (state) => storeUp.set(state === 'up' ? 1 : 0),
      onConnected: () => void enforceRetention(),
    });

    const dropped = new Counter({
      name: 'churn_prediction_log_dropped_total',
      help: 'Predictions never written to the prediction log: the buffer was full (store slow or down), the shutdown drain ran out of time, or they came after it.',
      labelNames: ['reason'],
      registers: [app.metrics.registry],
    });
    const writer = new PredictionLogWriter({
      store: connection,
      maxBuffered: config.PREDICTION_LOG_MAX_BUFFERED,
      // A write in flight holds its batch's room in the buffer: at most a quarter of it, so a small
      // buffer still takes new records while a batch is written.
      maxBatch: Math.min(PREDICTION_LOG_MAX_BATCH, Math.floor(config.PREDICTION_LOG_MAX_BUFFERED / 4)),
      flushIntervalMs: PREDICTION_LOG_FLUSH_INTERVAL_MS,
      onDropped: (count, reason) => dropped.inc({ reason }, count),
      log: app.log,
    });
    new Gauge({
      name: 'churn_prediction_log_buffered',
      help: 'Prediction log records waiting in memory for the store, or being written now.',
      registers: [app.metrics.registry],
      collect() {
        this.set(writer.pending);
      },
    });

    const enforceRetention = () => {
      const cutoff = new Date(Date.now() - config.PREDICTION_LOG_RETENTION_DAYS * DAY_MS);
      return connection
        // Predictions first: an outcome observed before the cutoff labels only predictions recorded before it.
        .use(async (migrated) => ({ deleted: await migrated.deleteRecordedBefore(cutoff), outcomesDeleted: await migrated.deleteOutcomesObservedBefore(cutoff) }))
        .then(({ deleted, outcomesDeleted }) => {
          if (deleted > 0 || outcomesDeleted > 0) app.log.info({ deleted, outcomesDeleted, cutoff }, 'prediction log: old predictions and outcomes deleted');
        })
        // A background job: its failure is logged, never an unhandled rejection; the next check retries.
        .catch((error: unknown) => app.log.error({ err: error }, 'prediction log: deleting old predictions failed'));
    };
    const retentionTimer = setInterval(() => {
      if (connection.state !== 'connecting' && connection.state !== 'incompatible') void enforceRetention();
    }, RETENTION_CHECK_INTERVAL_MS);
    retentionTimer.unref();

    try {
      await connection.start(PREDICTION_LOG_START_WAIT_MS);
    } catch (error) {
      clearInterval(retentionTimer);
      await writer.drain(0);
      await connection.close().catch(() => undefined);
      throw error instanceof SchemaNewerError ? new PredictionLogStartError(error.message) : unusableDataDir(config, error);
    }
    app.log.info({ store: store.kind, state: connection.state, retentionDays: config.PREDICTION_LOG_RETENTION_DAYS }, 'prediction log on');

    app.decorate('predictionLog', {
      enabled: true,
      get store() {
        return connection.migratedStore;
      },
      get state() {
        return connection.state;
      },
      storeKind: store.kind,
      get buffered() {
        return writer.pending;
      },
    } satisfies PredictionLogAccess);
    app.decorate('predictionLogStore', connection.gatedStore);
    app.dataPlane.observe(predictionRecorder(writer, { modelName: config.MODEL_NAME, thresholds: thresholdsFrom(config) }));

    // Closing writes what the buffer holds, then releases the store. This hook runs before the data
    // plane's (onClose hooks run in reverse order): the shadow rows still queued are scored first,
    // so their records reach the buffer before it is drained.
    app.addHook('onClose', async () => {
      clearInterval(retentionTimer);
      await app.dataPlane.drainShadow();
      await writer.drain(Math.min(PREDICTION_LOG_DRAIN_TIMEOUT_MS, config.SHUTDOWN_TIMEOUT_MS / 2));
      await connection.close();
    });
  },
  { name: 'prediction-log', dependencies: ['data-plane', 'metrics'] },
);
