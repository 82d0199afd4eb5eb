import cluster from 'node:cluster';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { GATHER_TIMEOUT_MS } from '../cluster/topics.js';
import type { Config } from '../config.js';
import { combineSnapshots } from '../data-plane/drift.js';
import { DriftReport } from '../schemas/drift.js';
import { sharedRef } from '../schemas/shared-ref.js';
import { driftReport, driftSettings, DriftStatusLog } from '../monitoring/drift-report.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The whole server's drift report, from every worker's counts. */
    driftReport(): Promise<DriftReport>;
  }
}

/**
 * GET /monitoring/drift: each feature's and the score's distribution over the last
 * DRIFT_WINDOW_ROWS scored rows of the whole server, against the training data, with the PSI and
 * a status. Running alone, the process also checks every DRIFT_CHECK_INTERVAL_MS and logs a
 * warning when a status changes (with WORKERS > 1 the cluster primary does).
 */
const monitoringRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const settings = driftSettings(config);

  app.decorate('driftReport', async () => {
    if (!config.DRIFT_MONITORING) return driftReport(undefined, settings, 'drift monitoring is off (DRIFT_MONITORING=false)');
    const outcomes = await app.workers.gather('drift', undefined, GATHER_TIMEOUT_MS.drift);
    const snapshots = outcomes.flatMap((outcome) => (outcome.result ? [outcome.result] : []));
    return driftReport(combineSnapshots(snapshots, app.dataPlane.model?.sha256), settings);
  });

  app.get(
    '/monitoring/drift',
    {
      schema: {
        tags: ['operations'],
        summary: 'Drift: live feature and score distributions of the whole server against the training data (PSI)',
        response: { 200: { ...sharedRef(DriftReport), description: 'The drift of the window, per feature and for the score.' } },
      },
    },
    async () => app.driftReport(),
  );

  if (config.DRIFT_MONITORING && !cluster.isWorker) {
    const statusLog = new DriftStatusLog();
    const timer = setInterval(() => {
      void app.driftReport().then((report) => {
        for (const change of statusLog.changes(report)) app.log.warn({ ...change, modelVersion: report.model_version }, `drift: ${change.feature} is ${change.to}`);
      });
    }, config.DRIFT_CHECK_INTERVAL_MS);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
};

export default fp(monitoringRoutes, { name: 'monitoring-routes', dependencies: ['data-plane', 'worker-group'] });
