import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { churnModelLoader, type ModelOptions } from '../data-plane/churn-model.js';
import { DataPlane, type DataPlaneObserver } from '../data-plane/data-plane.js';
import type { ModelInfo, ModelLoader, ServedModel } from '../data-plane/model.js';
import { MODEL_COMPANION_FILES } from '../data-plane/model-card-file.js';
import { discardModelSnapshot, tryModelSnapshot } from '../data-plane/model-snapshot.js';
import type { ModelLoadTrigger } from '../metrics/service-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    dataPlane: DataPlane;
    /** Loads MODEL_PATH again, checks it and swaps it in; a failure keeps the current model. */
    reloadModel(trigger: ModelLoadTrigger): Promise<ModelInfo>;
  }
}

/** At debug level, one line per model run: how many rows, how long, for which requests. */
function runLog(log: FastifyBaseLogger): DataPlaneObserver {
  const requests = (ids: readonly (string | undefined)[]) => [...new Set(ids.filter((id) => id !== undefined))];
  return {
    rowsScored: ({ runId, model, rows, seconds, requestIds }) =>
      log.debug({ runId, rows, ms: Math.round(seconds * 1e5) / 100, modelVersion: model.version, requestIds: requests(requestIds) }, 'model run'),
    runFailed: ({ runId, model, rows, requestIds }, error) => log.debug({ runId, rows, modelVersion: model.version, requestIds: requests(requestIds), err: error }, 'model run failed'),
  };
}

/** How the configuration asks churn models to be loaded. */
export function modelOptions(config: Config): ModelOptions {
  return { intraOpThreads: config.INTRA_OP_THREADS, allowMissingCard: config.ALLOW_MODEL_WITHOUT_CARD };
}

export interface DataPlanePluginOptions {
  config: Config;
  /** Loads model files; the onnxruntime churn model loader unless a test brings its own. */
  loader?: ModelLoader | undefined;
}

/**
 * Loads the model once the app is ready (a failure aborts the start), reloads it on request, and
 * drains and releases it on close.
 */
export default fp<DataPlanePluginOptions>(
  async (app, { config, loader }) => {
    const dataPlane = new DataPlane({
      modelName: config.MODEL_NAME,
      loader: loader ?? churnModelLoader(modelOptions(config)),
      microBatching: {
        enabled: config.MICRO_BATCHING,
        maxRows: config.MICRO_BATCH_MAX_ROWS,
        maxDelayMs: config.MICRO_BATCH_MAX_DELAY_MS,
        multiRow: config.MICRO_BATCH_MULTI_ROW,
      },
      shadowQueueRows: config.SHADOW_QUEUE_MAX_ROWS,
      observers: [app.metrics.inference, ...(['debug', 'trace'].includes(app.log.level) ? [runLog(app.log)] : [])],
      onObserverError: (error) => app.log.error({ err: error }, 'a data-plane observer failed; scoring goes on'),
    });
    app.decorate('dataPlane', dataPlane);
    app.metrics.watchShadowQueue(() => dataPlane.shadowQueueDepth);

    /**
     * In a cluster, what this worker serves after a load, for the primary: a snapshot of a model
     * loaded from MODEL_PATH, so a worker started later loads the model this one serves even when
     * the file has changed or broken since, and with it no challenger when the load dropped it.
     * The primary learns of it before this worker answers a reload or starts listening. Told only
     * while the model is still the champion: a swap during the copy (a promotion) tells its own, and
     * whichever copy finishes last must not undo it.
     */
    const reportLoad = async (model: ServedModel, fromModelPath: boolean, challengerDropped: boolean): Promise<void> => {
      const snapshot =
        config.MODEL_SNAPSHOT_DIR && fromModelPath
          ? await tryModelSnapshot(model, config.MODEL_SNAPSHOT_DIR, MODEL_COMPANION_FILES, (error) =>
              app.log.error({ err: error, modelPath: model.path }, 'no snapshot of the model could be written; a worker started later loads MODEL_PATH'),
            )
          : undefined;
      // A swap since tells its own model, and this copy is nobody's; the challenger this load
      // dropped is told gone either way, unless one was loaded since (that load tells its own).
      const stillServed = dataPlane.model === model;
      if (snapshot && !stillServed) void discardModelSnapshot(snapshot).catch(() => undefined);
      const challengerNow = challengerDropped && !dataPlane.challenger ? null : undefined;
      if (snapshot !== undefined && stillServed) app.workers.modelSnapshotWritten(snapshot, challengerNow);
      else if (challengerNow === null) app.workers.challengerStateChanged(null);
    };

    const loadModel = async (trigger: ModelLoadTrigger, path = config.MODEL_PATH): Promise<ModelInfo> => {
      const previous = dataPlane.model;
      const challenger = dataPlane.challenger;
      try {
        const model = await dataPlane.loadModel(path);
        const challengerDropped = challenger !== undefined && !dataPlane.challenger;
        if (challengerDropped) {
          app.log.warn({ modelVersion: model.version, challengerVersion: challenger.version }, 'the new champion is the challenger\'s model: the challenger was dropped');
        }
        app.metrics.modelLoaded(trigger, 'success', model);
        const snapshotOf = path === config.MODEL_PATH ? undefined : config.MODEL_PATH;
        app.log.info({ trigger, modelPath: model.path, snapshotOf, modelVersion: model.version, previousVersion: previous?.version }, 'model loaded');
        for (const warning of model.warnings) app.log.warn({ trigger, modelPath: model.path, modelVersion: model.version }, warning);
        app.log.debug({ modelVersion: model.version, ...model.loadDetails }, 'model details');
        // Before this worker answers the reload: a worker started later must not load the dropped challenger.
        await reportLoad(model, snapshotOf === undefined, challengerDropped);
        return model;
      } catch (error) {
        app.metrics.modelLoaded(trigger, 'failure', undefined);
        // At start-up the failure ends the process with its own fatal line; on reload it is news.
        if (trigger === 'reload') {
          app.log.error({ err: error, modelPath: path, servingVersion: previous?.version }, 'model reload failed; the current model keeps serving');
        }
        throw error;
      }
    };
    app.decorate('reloadModel', (trigger: ModelLoadTrigger) => loadModel(trigger));
    app.workers.onCollect('reload', async () => ({ model_version: (await loadModel('reload')).version }), { afterStartUp: true });

    app.addHook('onReady', async () => {
      // A worker started while others serve loads their model's snapshot, set by the primary.
      await loadModel('startup', config.MODEL_SNAPSHOT_PATH);
    });
    // Queued predictions finish before the model they need is released.
    app.addHook('onClose', async () => {
      await dataPlane.close();
      app.metrics.modelUnloaded();
    });
  },
  { name: 'data-plane', dependencies: ['metrics', 'worker-group'] },
);
