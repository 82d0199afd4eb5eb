import fp from 'fastify-plugin';
import { performanceThresholds, type Config } from '../config.js';
import { PerformanceMetrics } from '../metrics/performance-metrics.js';
import type { ScoredOutcomeSource } from '../monitoring/performance.js';
import { DEFAULT_HORIZON_DAYS, maxWindowDays, PerformanceMonitor } from '../monitoring/performance-monitor.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Live model performance from the prediction log's outcomes; null when the app was given no outcome source. */
    performanceMonitor: PerformanceMonitor | null;
  }
}

export interface PerformanceMonitoringOptions {
  config: Config;
  /** The scored outcomes of a window (the prediction log's `scoredOutcomes`); without one there is no report, route or metric. */
  source?: ScoredOutcomeSource | undefined;
  /** How long after a prediction a churn counts for it, passed to the source; 90 days unless said. */
  horizonDays?: number | undefined;
}

/**
 * Model performance: the report behind GET /monitoring/performance, and its figures as metrics.
 * The metrics cover the last 30 days and are recomputed every PERFORMANCE_REFRESH_INTERVAL_MS in
 * the background, not at each scrape: a report is one query over a month of predictions and
 * outcomes, and scrapes come every few seconds from each Prometheus, so the database's cost stays
 * one query per interval per process whatever scrapes. A report asked for over the default
 * window sets them too.
 */
export default fp<PerformanceMonitoringOptions>(
  async (app, { config, source, horizonDays }) => {
    if (!source) {
      app.decorate('performanceMonitor', null);
      return;
    }
    const monitor = new PerformanceMonitor({
      source,
      thresholds: performanceThresholds(config),
      horizonDays: horizonDays ?? DEFAULT_HORIZON_DAYS,
      maxWindowDays: maxWindowDays(config),
      card: () => app.dataPlane.model?.card,
      // Each version's rows by its own calibrator: a challenger's estimate by the champion's would be neither model's.
      calibration: (modelVersion) => [app.dataPlane.model, app.dataPlane.challenger].find((model) => model?.version === modelVersion)?.calibration,
    });
    const metrics = new PerformanceMetrics(app.metrics.registry, config.MODEL_NAME);
    monitor.onDefaultReport((report) => metrics.set(report));
    app.decorate('performanceMonitor', monitor);

    if (config.PERFORMANCE_REFRESH_INTERVAL_MS > 0) {
      // A refresh slower than the interval would otherwise overlap the next, and queries pile up on a slow database: a tick skips while one runs.
      let running: Promise<void> | undefined;
      const refresh = () =>
        (running ??= monitor
          .report()
          .then(
            () => undefined,
            (error: unknown) => {
              // A background job: its failure is counted and logged, never an unhandled rejection; the gauges keep their last values.
              metrics.refreshFailed();
              app.log.error({ err: error }, 'performance: computing the figures failed');
            },
          )
          .finally(() => (running = undefined)));
      const timer = setInterval(() => void refresh(), config.PERFORMANCE_REFRESH_INTERVAL_MS);
      timer.unref();
      // The first figures once the app is ready, without holding its start on the database.
      app.addHook('onReady', async () => void refresh());
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
  { name: 'performance-monitoring', dependencies: ['data-plane', 'metrics'] },
);
