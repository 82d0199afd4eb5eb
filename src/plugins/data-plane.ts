import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { ModelInfo } from '../data-plane/churn-model.js';
import { combineObservers, DataPlane, type InferenceObserver } from '../data-plane/data-plane.js';
import type { ModelLoadTrigger } from '../metrics/service-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    dataPlane: DataPlane;
    /** Loads MODEL_PATH again, checks it and swaps it in; a failure keeps the current model. */
    reloadModel(trigger: ModelLoadTrigger): Promise<ModelInfo>;
  }
}

/** At debug level, one line per model run: how many rows, how long. */
function runLog(log: FastifyBaseLogger): InferenceObserver {
  return {
    runFinished: (model, rows, seconds) => log.debug({ rows, ms: Math.round(seconds * 1e5) / 100, modelVersion: model.version }, 'model run'),
    runFailed: (model, rows, error) => log.debug({ rows, modelVersion: model.version, err: error }, 'model run failed'),
  };
}

export interface DataPlanePluginOptions {
  config: Config;
}

/**
 * Loads the model once the app is ready (a failure aborts the start), reloads it on request, and
 * drains and releases it on close.
 */
export default fp<DataPlanePluginOptions>(
  async (app, { config }) => {
    const dataPlane = new DataPlane({
      model: { intraOpThreads: config.INTRA_OP_THREADS },
      microBatching: {
        enabled: config.MICRO_BATCHING,
        maxRows: config.MICRO_BATCH_MAX_ROWS,
        maxDelayMs: config.MICRO_BATCH_MAX_DELAY_MS,
        multiRow: config.MICRO_BATCH_MULTI_ROW,
      },
      observer: combineObservers([app.metrics.inference, ...(['debug', 'trace'].includes(app.log.level) ? [runLog(app.log)] : [])]),
      ...(config.DRIFT_MONITORING ? { drift: { windowRows: config.DRIFT_WINDOW_ROWS } } : {}),
    });
    app.decorate('dataPlane', dataPlane);

    const loadModel = async (trigger: ModelLoadTrigger): Promise<ModelInfo> => {
      const previous = dataPlane.model;
      try {
        const model = await dataPlane.loadModel(config.MODEL_PATH);
        app.metrics.modelLoaded(trigger, 'success', model);
        app.log.info({ trigger, modelPath: model.path, modelVersion: model.version, previousVersion: previous?.version }, 'model loaded');
        app.log.debug({ modelVersion: model.version, ...model.loadDetails }, 'model details');
        return model;
      } catch (error) {
        app.metrics.modelLoaded(trigger, 'failure', undefined);
        // At start-up the failure ends the process with its own fatal line; on reload it is news.
        if (trigger === 'reload') {
          app.log.error({ err: error, modelPath: config.MODEL_PATH, servingVersion: previous?.version }, 'model reload failed; the current model keeps serving');
        }
        throw error;
      }
    };
    app.decorate('reloadModel', (trigger: ModelLoadTrigger) => loadModel(trigger));
    app.workers.onCollect('reload', async () => ({ model_version: (await loadModel('reload')).version }));
    app.workers.onCollect('drift', () => dataPlane.driftSnapshot() ?? null);

    app.addHook('onReady', async () => {
      await loadModel('startup');
    });
    // Queued predictions finish before the model they need is released.
    app.addHook('onClose', async () => {
      await dataPlane.close();
      app.metrics.modelUnloaded();
    });
  },
  { name: 'data-plane', dependencies: ['metrics', 'worker-group'] },
);
