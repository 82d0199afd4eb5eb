import fp from 'fastify-plugin';
import { thresholdsFrom } from '../churn-api/prediction-mapping.js';
import { performanceThresholds, type Config } from '../config.js';
import { ComparisonMonitor } from '../monitoring/comparison-monitor.js';
import type { PairedScoreSource } from '../monitoring/comparison.js';
import { DEFAULT_HORIZON_DAYS, maxWindowDays } from '../monitoring/performance-monitor.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Champion against challenger from the prediction log's paired scores; null when the app was given no source. */
    comparisonMonitor: ComparisonMonitor | null;
  }
}

export interface ComparisonMonitoringOptions {
  config: Config;
  /** The paired scores of a window (the prediction log's `pairedScores`); without one there is no report or route. */
  source?: PairedScoreSource | undefined;
  horizonDays?: number | undefined;
}

/**
 * The comparison behind GET /monitoring/comparison. Computed on request only: it is read before a
 * promotion, not scraped, so it keeps no gauges and costs the database nothing in between.
 */
export default fp<ComparisonMonitoringOptions>(
  async (app, { config, source, horizonDays }) => {
    if (!source) {
      app.decorate('comparisonMonitor', null);
      return;
    }
    app.decorate(
      'comparisonMonitor',
      new ComparisonMonitor({
        source,
        rule: thresholdsFrom(config),
        thresholds: performanceThresholds(config),
        horizonDays: horizonDays ?? DEFAULT_HORIZON_DAYS,
        maxWindowDays: maxWindowDays(config),
        scoreBins: () => {
          const card = app.dataPlane.model?.card;
          return card ? { modelVersion: card.model_version, profile: card.drift_reference.score } : undefined;
        },
      }),
    );
  },
  { name: 'comparison-monitoring', dependencies: ['data-plane'] },
);
