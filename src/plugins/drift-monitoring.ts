import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { combineSnapshots, DriftMonitor } from '../data-plane/drift.js';
import { GATHER_TIMEOUT_MS } from '../cluster/topics.js';
import { DriftCheck, driftReport, driftSettings } from '../monitoring/drift-report.js';
import { IncompleteAnswerError } from '../errors.js';
import type { RowDriftReport } from '../schemas/drift.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The whole server's drift over the row window, from every worker's counts; IncompleteAnswerError when a worker does not answer. */
    driftReport(): Promise<RowDriftReport>;
  }
}

/**
 * Drift monitoring: one observer of the data plane counts every scored row into the served
 * model's window, every worker answers the 'drift' gather with its counts, and `driftReport` adds
 * them up. A process that runs alone also runs the periodic check that warns when a status
 * changes; with WORKERS > 1 the cluster primary runs it (server.ts).
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const settings = driftSettings(config);
    const monitor = config.DRIFT_MONITORING ? new DriftMonitor(config.DRIFT_WINDOW_ROWS) : undefined;
    if (monitor) app.dataPlane.observe(monitor);
    // A worker with no model yet (or monitoring off) answers null: nothing to count.
    app.workers.onCollect('drift', () => monitor?.snapshot() ?? null);

    app.decorate('driftReport', async () => {
      if (!monitor) return driftReport(undefined, settings, 'drift monitoring is off (DRIFT_MONITORING=false)');
      const outcomes = await app.workers.gather('drift', undefined, GATHER_TIMEOUT_MS.drift);
      const missing = outcomes.filter((outcome) => outcome.error !== undefined);
      if (missing.length > 0 || outcomes.length === 0) {
        app.log.error({ missing }, 'drift gather incomplete');
        throw new IncompleteAnswerError('drift', missing.length, outcomes.length);
      }
      const snapshots = outcomes.flatMap((outcome) => (outcome.result ? [outcome.result] : []));
      return driftReport(combineSnapshots(snapshots, app.dataPlane.model?.sha256), settings);
    });

    if (monitor && !app.workers.clustered) {
      const check = new DriftCheck(config, app.log);
      const timer = setInterval(() => {
        app.workers
          .gather('drift', undefined, GATHER_TIMEOUT_MS.drift)
          .then((outcomes) => check.judge(outcomes, app.dataPlane.model?.sha256))
          // A periodic check is a side job: its failure is logged, never an unhandled rejection.
          .catch((error: unknown) => app.log.error({ err: error }, 'drift check failed'));
      }, check.intervalMs);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
  { name: 'drift-monitoring', dependencies: ['data-plane', 'worker-group'] },
);
