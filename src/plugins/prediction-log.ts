import { Counter } from 'prom-client';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { PredictionLogUnavailableError } from '../errors.js';
import type { PairedScoreSource } from '../monitoring/comparison.js';
import type { OutcomeWindow, ScoredOutcomeSource } from '../monitoring/performance.js';
import { thresholdsFrom } from '../churn-api/prediction-mapping.js';
import { openPredictionLogStore } from '../prediction-log/open-store.js';
import type { PredictionLogStore } from '../prediction-log/prediction-log-store.js';
import { predictionRecorder } from '../prediction-log/prediction-recorder.js';
import { PredictionLogWriter } from '../prediction-log/prediction-log-writer.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The prediction log's store, for the monitors that keep their counts beside it (drift windows); null when the log is off. */
    predictionLogStore: PredictionLogStore | null;
    /** The prediction log for routes (POST /outcomes), read at request time. */
    predictionLog: PredictionLogAccess;
  }
}

/**
 * The bound on what the log may cost a prediction: recording is an append to an in-memory buffer
 * of at most this many records (about 1 KB each); a slow or down store never makes a caller wait.
 */
export const PREDICTION_LOG_MAX_BUFFERED = 10_000;
/** Records per insert, at most. */
export const PREDICTION_LOG_MAX_BATCH = 500;
/** A partial batch is written after this; a failed write is retried after it too. */
export const PREDICTION_LOG_FLUSH_INTERVAL_MS = 1_000;
/** How long the drain at shutdown may wait for the store, at most (and never more than half of SHUTDOWN_TIMEOUT_MS). */
export const PREDICTION_LOG_DRAIN_TIMEOUT_MS = 5_000;
const RETENTION_CHECK_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** What routes reach of the prediction log. Read it at request time: the store may be opened after the start. */
export interface PredictionLogAccess {
  /** PREDICTION_LOG: false means no store at all on this server. */
  readonly enabled: boolean;
  /** The store once it is open; undefined while the log is off or not open yet. */
  readonly store: PredictionLogStore | undefined;
}

/**
 * A read of the prediction log as a monitor's source (undefined while the log is off). The store
 * is looked up at each call, so it may open after the start; a store that is not open or fails is
 * a 503 with retry-after, its cause logged.
 */
function storeSource<T>(app: FastifyInstance, config: Pick<Config, 'PREDICTION_LOG'>, read: (store: PredictionLogStore, window: OutcomeWindow) => Promise<T>): ((window: OutcomeWindow) => Promise<T>) | undefined {
  if (!config.PREDICTION_LOG) return undefined;
  return async (window) => {
    const store = app.predictionLog.store;
    if (store === undefined) throw new PredictionLogUnavailableError({ cause: new Error('the prediction log store is not open yet') });
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

/**
 * The prediction log: every prediction the data plane serves, any protocol, is recorded by an
 * observer into a bounded buffer and written in batches to SQLite (DATA_DIR) or PostgreSQL
 * (DATABASE_URL). The schema is migrated before the app is ready (a newer one stops the start);
 * old records are deleted in the background; closing the app drains the buffer into the store.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const access: { enabled: boolean; store: PredictionLogStore | undefined } = { enabled: config.PREDICTION_LOG, store: undefined };
    app.decorate('predictionLog', access);
    if (!config.PREDICTION_LOG) {
      app.decorate('predictionLogStore', null);
      return;
    }
    const store = await openPredictionLogStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
    app.decorate('predictionLogStore', store);
    access.store = store;
    app.log.info({ store: store.kind, retentionDays: config.PREDICTION_LOG_RETENTION_DAYS }, 'prediction log ready');

    const dropped = new Counter({
      name: 'churn_prediction_log_dropped_total',
      help: 'Predictions never written to the prediction log: the buffer was full (store slow or down), the shutdown drain ran out of time, or they came after it.',
      labelNames: ['reason'],
      registers: [app.metrics.registry],
    });
    const writer = new PredictionLogWriter({
      store,
      maxBuffered: PREDICTION_LOG_MAX_BUFFERED,
      maxBatch: PREDICTION_LOG_MAX_BATCH,
      flushIntervalMs: PREDICTION_LOG_FLUSH_INTERVAL_MS,
      onDropped: (count, reason) => dropped.inc({ reason }, count),
      log: app.log,
    });
    app.dataPlane.observe(predictionRecorder(writer, { modelName: config.MODEL_NAME, thresholds: thresholdsFrom(config) }));

    const enforceRetention = () => {
      const cutoff = new Date(Date.now() - config.PREDICTION_LOG_RETENTION_DAYS * DAY_MS);
      return store
        .deleteRecordedBefore(cutoff)
        .then((deleted) => {
          if (deleted > 0) app.log.info({ deleted, cutoff }, 'prediction log: old predictions deleted');
        })
        // A background job: its failure is logged, never an unhandled rejection; the next check retries.
        .catch((error: unknown) => app.log.error({ err: error }, 'prediction log: deleting old predictions failed'));
    };
    // Once before the app is ready (the store was just reached), then in the background.
    await enforceRetention();
    const retentionTimer = setInterval(() => void enforceRetention(), RETENTION_CHECK_INTERVAL_MS);
    retentionTimer.unref();

    // Closing writes what the buffer holds, then releases the store.
    app.addHook('onClose', async () => {
      clearInterval(retentionTimer);
      await writer.drain(Math.min(PREDICTION_LOG_DRAIN_TIMEOUT_MS, config.SHUTDOWN_TIMEOUT_MS / 2));
      await store.close();
    });
  },
  { name: 'prediction-log', dependencies: ['data-plane', 'metrics'] },
);
