import type { Thresholds } from '../churn-api/prediction-mapping.js';
import type { ComparisonReport } from '../schemas/comparison.js';
import type { DriftFeatureReference } from '../schemas/model-card.js';
import { comparisonReport, type PairedScoreSource } from './comparison.js';
import { windowFromQuery } from './performance-monitor.js';
import type { OutcomeWindow } from './performance.js';

export interface ComparisonMonitorOptions {
  source: PairedScoreSource;
  rule: Thresholds;
  thresholds: readonly number[];
  horizonDays: number;
  /** The longest window a query may ask for, in days (maxWindowDays). */
  maxWindowDays: number;
  /** The champion's score bins (its card's drift reference), read at each report: a promotion brings another card. */
  scoreBins: () => { modelVersion: string; profile: DriftFeatureReference } | undefined;
  now?: () => Date;
}

/** Reads the paired scores of a window (the same window rules as the performance report) and makes the comparison. */
export class ComparisonMonitor {
  readonly #options: ComparisonMonitorOptions;
  readonly #now: () => Date;

  constructor(options: ComparisonMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  async report(query: { since?: string | undefined; until?: string | undefined } = {}): Promise<ComparisonReport> {
    const computedAt = this.#now();
    const { since, until } = windowFromQuery(query, computedAt, this.#options.maxWindowDays);
    const window: OutcomeWindow = { since, until, horizonDays: this.#options.horizonDays };
    const pairs = await this.#options.source(window);
    const { rule, thresholds, scoreBins } = this.#options;
    return comparisonReport({ pairs, window, rule, thresholds, scoreBins: scoreBins(), computedAt });
  }
}
