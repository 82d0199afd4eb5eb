import type { Config } from '../config.js';
import { InvalidValuesError, type ValueIssue } from '../errors.js';
import type { PerformanceReport } from '../schemas/performance.js';
import { performanceReport, type HoldoutCard, type OutcomeWindow, type PerformanceInput, type ScoredOutcomeSource } from './performance.js';

/** The window the report covers unless asked otherwise, and the one the metrics always cover. */
export const DEFAULT_WINDOW_DAYS = 30;
/**
 * How long after a prediction a churn counts for it, when whoever wires the source says nothing:
 * the CRM's usual quarter. The outcome source applies it; the report only states it.
 */
export const DEFAULT_HORIZON_DAYS = 90;
const DAY_MS = 86_400_000;

/**
 * The longest window a report may cover: what the prediction log keeps, and a day for the predictions
 * the hourly retention has not deleted yet (never less than the default window, which the metrics
 * always read). A longer window holds nothing more: a caller who asks for a century gets a 422
 * saying so, rather than the belief that it was all read.
 */
export function maxWindowDays(config: Pick<Config, 'PREDICTION_LOG_RETENTION_DAYS'>): number {
  return Math.max(DEFAULT_WINDOW_DAYS, config.PREDICTION_LOG_RETENTION_DAYS + 1);
}

/** An ISO 8601 date-time with its offset (or Z), or a date alone (midnight UTC): nothing a reader could take for local time. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;

export interface PerformanceMonitorOptions {
  source: ScoredOutcomeSource;
  thresholds: readonly number[];
  horizonDays: number;
  /** The longest window a query may ask for, in days (maxWindowDays). */
  maxWindowDays: number;
  /** The served model's card, read at each report (a reload may bring a new one). */
  card: () => HoldoutCard | undefined;
  /** The reference calibrator of a loaded model version, looked up at each report like the card; none: estimates from raw probabilities. */
  calibration?: PerformanceInput['calibration'];
  now?: () => Date;
}

function parseInstant(value: string, name: 'since' | 'until'): Date | ValueIssue {
  const time = ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isFinite(time)) return new Date(time);
  return {
    loc: ['querystring', name],
    type: 'datetime_parsing',
    msg: 'Input should be a valid datetime: an ISO 8601 date-time with an offset, such as 2026-11-01T00:00:00Z, or a date',
    input: value,
  };
}

/**
 * The report's window from the query: `until` defaults to now and `since` to 30 days before
 * `until`; an unreadable instant, a window that does not end after it starts, or one longer than
 * `maxDays`, is a 422.
 */
export function windowFromQuery(query: { since?: string | undefined; until?: string | undefined }, now: Date, maxDays: number): { since: Date; until: Date; isDefault: boolean } {
  const since = query.since === undefined ? undefined : parseInstant(query.since, 'since');
  const until = query.until === undefined ? now : parseInstant(query.until, 'until');
  const issues = [since, until].filter((value): value is ValueIssue => value !== undefined && !(value instanceof Date));
  if (issues.length > 0) throw new InvalidValuesError(issues);
  const end = until as Date;
  const start = (since as Date | undefined) ?? new Date(end.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
  if (start.getTime() >= end.getTime()) {
    throw new InvalidValuesError([{ loc: ['querystring', 'since'], type: 'value_error', msg: `Value error, since must be before until (${end.toISOString()})`, input: query.since ?? start.toISOString() }]);
  }
  if (end.getTime() - start.getTime() > maxDays * DAY_MS) {
    throw new InvalidValuesError([
      { loc: ['querystring', 'since'], type: 'value_error', msg: `Value error, the window may span at most ${maxDays} days (PREDICTION_LOG_RETENTION_DAYS and one)`, input: query.since ?? start.toISOString() },
    ]);
  }
  return { since: start, until: end, isDefault: query.since === undefined && query.until === undefined };
}

/**
 * Reads the scored outcomes of a window from the source and makes the report. The last report
 * over the default window (the last 30 days) is kept for the metrics, with a listener told of it.
 */
export class PerformanceMonitor {
  readonly #options: PerformanceMonitorOptions;
  readonly #now: () => Date;
  readonly #listeners: ((report: PerformanceReport) => void)[] = [];

  constructor(options: PerformanceMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  /** Called with every report over the default window (the metrics follow it). */
  onDefaultReport(listener: (report: PerformanceReport) => void): void {
    this.#listeners.push(listener);
  }

  /** The report for a query's window (see windowFromQuery); the default window also updates the listeners. */
  async report(query: { since?: string | undefined; until?: string | undefined } = {}): Promise<PerformanceReport> {
    const computedAt = this.#now();
    const { since, until, isDefault } = windowFromQuery(query, computedAt, this.#options.maxWindowDays);
    const window: OutcomeWindow = { since, until, horizonDays: this.#options.horizonDays };
    const rows = await this.#options.source(window);
    const report = performanceReport({ rows, window, thresholds: this.#options.thresholds, card: this.#options.card(), calibration: this.#options.calibration, computedAt });
    if (isDefault) for (const listener of this.#listeners) listener(report);
    return report;
  }
}
