import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { Config } from '../config.js';
import { GATHER_TIMEOUT_MS } from '../cluster/topics.js';
import { implausibleMask, PLAUSIBILITY_CHECK_NAMES, PlausibilityWindow } from '../data-plane/plausibility.js';
import { IncompleteAnswerError } from '../errors.js';
import { gatheredCounts, PlausibilityAlerts, plausibilityReport, plausibilitySettings } from '../monitoring/plausibility-report.js';
import type { PlausibilityReport } from '../schemas/drift.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The whole server's plausibility checks over the recent rows, from every worker's counts; IncompleteAnswerError when a worker does not answer. */
    plausibilityReport(): Promise<PlausibilityReport>;
  }
}

/**
 * Plausibility checks of every row served (src/data-plane/plausibility.ts): a counter per check,
 * a window of the recent rows per worker that the 'plausibility' gather adds up, and, in a
 * process that runs alone, the periodic check that warns when a check starts or stops alerting
 * (with WORKERS > 1 the cluster primary runs it: server.ts). Off with DRIFT_MONITORING=false.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const settings = plausibilitySettings(config);
    const window = config.DRIFT_MONITORING ? new PlausibilityWindow(config.PLAUSIBILITY_WINDOW_ROWS) : undefined;
    if (window) {
      const implausible = new Counter({
        name: 'churn_implausible_rows_total',
        help: 'Rows served that failed a plausibility check (charges their billing history cannot add up to), by check. They were scored all the same.',
        labelNames: ['check'],
        registers: [app.metrics.registry],
      });
      // Every series from 0, so a rate over the first failures is not lost to a missing series.
      for (const check of PLAUSIBILITY_CHECK_NAMES) implausible.inc({ check }, 0);
      // Failures are counted per request, then added once per check that had any: a batch of
      // implausible rows makes one counter call per check, not one per row.
      const failed = new Array<number>(PLAUSIBILITY_CHECK_NAMES.length).fill(0);
      app.dataPlane.observe({
        predictionsServed: ({ rows }) => {
          for (const row of rows) {
            const mask = implausibleMask(row);
            window.add(mask);
            if (mask === 0) continue;
            for (let index = 0; index < failed.length; index += 1) failed[index]! += (mask >> index) & 1;
          }
          for (let index = 0; index < failed.length; index += 1) {
            if (failed[index] === 0) continue;
            implausible.inc({ check: PLAUSIBILITY_CHECK_NAMES[index]! }, failed[index]);
            failed[index] = 0;
          }
        },
      });
    }
    app.workers.onCollect('plausibility', () => window?.counts() ?? null);

    app.decorate('plausibilityReport', async () => {
      if (!window) return plausibilityReport(undefined, settings, 'monitoring is off (DRIFT_MONITORING=false)');
      const outcomes = await app.workers.gather('plausibility', undefined, GATHER_TIMEOUT_MS.plausibility);
      const counts = gatheredCounts(outcomes);
      if (!counts) {
        const missing = outcomes.filter((outcome) => !outcome.result).length;
        app.log.error({ missing }, 'plausibility gather incomplete');
        throw new IncompleteAnswerError('plausibility', missing, outcomes.length);
      }
      return plausibilityReport(counts, settings);
    });

    if (window && !app.workers.clustered) {
      const alerts = new PlausibilityAlerts(config, app.log);
      const timer = setInterval(() => {
        app.workers
          .gather('plausibility', undefined, GATHER_TIMEOUT_MS.plausibility)
          .then((outcomes) => alerts.judge(outcomes))
          // A periodic check is a side job: its failure is logged, never an unhandled rejection.
          .catch((error: unknown) => app.log.error({ err: error }, 'plausibility check failed'));
      }, alerts.intervalMs);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
  { name: 'plausibility-monitoring', dependencies: ['data-plane', 'worker-group', 'metrics'] },
);
