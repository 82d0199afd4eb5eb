import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { DataPlane } from '../data-plane/data-plane.js';

declare module 'fastify' {
  interface FastifyInstance {
    dataPlane: DataPlane;
  }
}

export interface DataPlanePluginOptions {
  config: Config;
}

/** Loads the model once the app is ready (a failure aborts the start) and drains and releases it on close. */
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
    });
    app.decorate('dataPlane', dataPlane);

    app.addHook('onReady', async () => {
      const model = await dataPlane.loadModel(config.MODEL_PATH);
      app.log.info({ modelPath: model.path, modelVersion: model.version }, 'model loaded');
    });
    // Queued predictions finish before the model they need is released.
    app.addHook('onClose', async () => dataPlane.close());
  },
  { name: 'data-plane' },
);
