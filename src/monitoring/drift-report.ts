import type { Logger } from 'pino';
import type { WorkerOutcome } from '../cluster/messages.js';
import type { Config } from '../config.js';
import { assessDrift, combineSnapshots, PSI_SMOOTHING, type DriftFinding, type DriftSnapshot, type DriftStatus } from '../data-plane/drift.js';
import type { DriftReport } from '../schemas/drift.js';

/** A drift request, or the primary's periodic check, waits this long for every worker's counts. */
export const DRIFT_GATHER_TIMEOUT_MS = 3000;

export interface DriftSettings {
  thresholds: { moderate: number; significant: number };
  windowRows: number;
  minRows: number;
}

export function driftSettings(config: Config): DriftSettings {
  return {
    thresholds: { moderate: config.DRIFT_MODERATE_PSI, significant: config.DRIFT_SIGNIFICANT_PSI },
    windowRows: config.DRIFT_WINDOW_ROWS,
    minRows: config.DRIFT_MIN_ROWS,
  };
}

const rounded = (value: number) => Math.round(value * 1e6) / 1e6;

/**
 * `withholdLiveShares`: the window is below DRIFT_MIN_ROWS. The shares of a few rows would tell
 * anyone who reads the report the features of the last customers scored, so they read null.
 */
function findingBody(finding: DriftFinding, withholdLiveShares: boolean) {
  return {
    feature: finding.name,
    psi: finding.psi === undefined ? null : rounded(finding.psi),
    status: finding.status ?? null,
    bins: finding.bins.map((bin) => ({
      bin: bin.bin,
      reference_share: rounded(bin.referenceShare),
      live_share: withholdLiveShares ? null : rounded(bin.liveShare),
    })),
  };
}

/** The body of GET /monitoring/drift for the whole server's counts (or why there are none). */
export function driftReport(snapshot: DriftSnapshot | undefined, settings: DriftSettings, unavailable?: string): DriftReport {
  const base = {
    model_version: snapshot?.modelVersion ?? null,
    window: { rows: snapshot?.live?.rows ?? 0, capacity: settings.windowRows, min_rows: settings.minRows },
    thresholds: settings.thresholds,
    smoothing: PSI_SMOOTHING,
  };
  if (!snapshot?.reference || !snapshot.live) {
    return { available: false, reason: unavailable ?? snapshot?.unavailable ?? 'no model is loaded yet', ...base, features: [], score: null };
  }
  const { features, score } = assessDrift(snapshot.reference, snapshot.live, settings.thresholds, settings.minRows);
  const withhold = snapshot.live.rows < settings.minRows;
  return { available: true, ...base, features: features.map((finding) => findingBody(finding, withhold)), score: findingBody(score, withhold) };
}

/**
 * Remembers each feature's last drift status and reports the ones that changed, so an operator
 * sees one warning when a feature starts (or stops) drifting, not one per check.
 */
export class DriftStatusLog {
  #model: string | undefined;
  #statuses = new Map<string, DriftStatus | undefined>();

  changes(report: DriftReport): { feature: string; from: DriftStatus | null; to: DriftStatus | null; psi: number | null }[] {
    if (report.model_version !== this.#model) {
      // A new model starts a fresh window: its statuses start from nothing.
      this.#model = report.model_version ?? undefined;
      this.#statuses.clear();
    }
    const changed = [];
    for (const finding of [...report.features, ...(report.score ? [report.score] : [])]) {
      const before = this.#statuses.get(finding.feature) ?? null;
      if (finding.status !== before && finding.status !== null) changed.push({ feature: finding.feature, from: before, to: finding.status, psi: finding.psi });
      if (finding.status !== null) this.#statuses.set(finding.feature, finding.status);
    }
    return changed;
  }
}

/** The cluster-wide drift check in the primary: the workers' counts added up, a warning when a status changes. */
export function clusterDriftCheck(config: Config, logger: Pick<Logger, 'warn'>) {
  const settings = driftSettings(config);
  const statusLog = new DriftStatusLog();
  return {
    topic: 'drift',
    intervalMs: config.DRIFT_CHECK_INTERVAL_MS,
    timeoutMs: DRIFT_GATHER_TIMEOUT_MS,
    onOutcomes: (outcomes: readonly WorkerOutcome[]) => {
      // Only whole pictures are judged: a worker that did not answer in time (or has no model yet,
      // and answers null) would leave its rows out, and with none at all the statuses would start
      // afresh and every warning come again.
      if (outcomes.length === 0 || outcomes.some((outcome) => outcome.result === undefined || outcome.result === null)) return;
      const report = driftReport(combineSnapshots(outcomes.map((outcome) => outcome.result as DriftSnapshot)), settings);
      for (const change of statusLog.changes(report)) logger.warn({ ...change, modelVersion: report.model_version }, `drift: ${change.feature} is ${change.to}`);
    },
  };
}
