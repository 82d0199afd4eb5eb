import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { ModelHandle } from '../model/model-handle.js';
import { Predictor } from '../model/predictor.js';
import { thresholdsFrom } from '../model/risk.js';

declare module 'fastify' {
  interface FastifyInstance {
    model: ModelHandle;
    predictor: Predictor;
  }
}

export interface ModelPluginOptions {
  config: Config;
}

/** Loads the model once the app is ready (a failure aborts the start) and releases it on close. */
export default fp<ModelPluginOptions>(
  async (app, { config }) => {
    const handle = new ModelHandle();
    app.decorate('model', handle);
    const predictor = new Predictor(handle, thresholdsFrom(config), {
      enabled: config.MICRO_BATCHING,
      maxBatchRows: config.MICRO_BATCH_MAX_ROWS,
      maxDelayMs: config.BATCH_MAX_DELAY_MS,
    });
    app.decorate('predictor', predictor);

    app.addHook('onReady', async () => {
      const model = await handle.load(config.MODEL_PATH, { intraOpThreads: config.INTRA_OP_THREADS });
      app.log.info({ modelPath: model.path, modelVersion: model.version }, 'model loaded');
    });
    // Queued predictions finish before the model they need is released.
    app.addHook('onClose', async () => {
      await predictor.close();
      await handle.close();
    });
  },
  { name: 'model' },
);
