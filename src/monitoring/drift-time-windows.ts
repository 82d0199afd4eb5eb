import { countsByProfile, MINUTE_MS } from '../data-plane/drift-minutes.js';
import { assessDrift, type DriftFinding, type DriftReference } from '../data-plane/drift.js';
import type { DriftBinTotal } from '../prediction-log/prediction-log-store.js';
import type { DriftTimeWindow, DriftTimeWindows } from '../schemas/drift.js';
import type { DriftSettings } from './drift-report.js';

/** The time windows of GET /monitoring/drift: the last hour and the last day, in minute buckets (the current one included). */
export const TIME_WINDOWS = [
  { key: 'last_hour', minutes: 60 },
  { key: 'last_day', minutes: 1440 },
] as const;

/** Minute buckets are kept this long (the longest window, and a day's margin), then deleted. */
export const DRIFT_MINUTES_KEPT_MS = 2 * 86_400_000;

/** Start of the oldest minute bucket of a window of `minutes` at `nowMs`. */
export function windowStart(nowMs: number, minutes: number): number {
  return Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - (minutes - 1) * MINUTE_MS;
}

const rounded = (value: number) => Math.round(value * 1e6) / 1e6;

function findingBody(finding: DriftFinding) {
  return { feature: finding.name, psi: finding.psi === undefined ? null : rounded(finding.psi), status: finding.status ?? null };
}

/**
 * One time window's drift from the store's sums: PSI and status per feature and for the score,
 * with the row window's thresholds and its DRIFT_MIN_ROWS rule (no status below it). No bin
 * shares: the row window shows those.
 */
export function timeWindowReport(reference: DriftReference, summed: readonly DriftBinTotal[], minutes: number, sinceMs: number, settings: DriftSettings): DriftTimeWindow {
  const live = countsByProfile(reference, summed);
  const { features, score } = assessDrift(reference, live, settings.thresholds, settings.minRows);
  return { minutes, since: new Date(sinceMs).toISOString(), rows: live.rows, features: features.map(findingBody), score: findingBody(score) };
}

export function unavailableWindows(reason: string): DriftTimeWindows {
  return { available: false, reason, last_hour: null, last_day: null };
}
