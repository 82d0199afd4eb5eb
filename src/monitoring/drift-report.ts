import type { Logger } from 'pino';
import type { PeriodicGather } from '../cluster/supervisor.js';
import type { WorkerOutcome } from '../cluster/messages.js';
import { GATHER_TIMEOUT_MS, type TopicResult } from '../cluster/topics.js';
import type { Config } from '../config.js';
import { assessDrift, combineSnapshots, PSI_SMOOTHING, type DriftFinding, type DriftSnapshot, type DriftStatus } from '../data-plane/drift.js';
import type { RowDriftReport } from '../schemas/drift.js';
import { StatusTransitions } from './status-transitions.js';

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
export function driftReport(snapshot: DriftSnapshot | undefined, settings: DriftSettings, unavailable?: string): RowDriftReport {
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

/** A feature's (or the score's) drift status that moved, for the warning line. */
export interface DriftStatusChange {
  feature: string;
  from: DriftStatus | null;
  to: DriftStatus;
  psi: number | null;
}

/**
 * The features (and the score) whose drift status changed since the last report
 * (StatusTransitions; "stable" is the quiet status). A new model's report starts from nothing.
 */
export class DriftStatusLog {
  #model: string | undefined;
  readonly #statuses = new StatusTransitions<DriftStatus>('stable');

  changes(report: RowDriftReport): DriftStatusChange[] {
    if (report.model_version !== this.#model) {
      // A new model starts a fresh window: its statuses start from nothing.
      this.#model = report.model_version ?? undefined;
      this.#statuses.clear();
    }
    const changed: DriftStatusChange[] = [];
    for (const finding of [...report.features, ...(report.score ? [report.score] : [])]) {
      if (finding.status === null) continue;
      const news = this.#statuses.record(finding.feature, finding.status);
      if (news) changed.push({ feature: finding.feature, from: news.from, to: finding.status, psi: finding.psi });
    }
    return changed;
  }
}

/**
 * The one periodic drift check, in the cluster primary (over every worker's counts) and in a
 * process that runs alone (over its own): it judges a gather's outcomes and warns once per change.
 */
export class DriftCheck {
  readonly #settings: DriftSettings;
  readonly #logger: Pick<Logger, 'warn'>;
  readonly #statusLog = new DriftStatusLog();
  readonly intervalMs: number;

  constructor(config: Config, logger: Pick<Logger, 'warn'>) {
    this.#settings = driftSettings(config);
    this.#logger = logger;
    this.intervalMs = config.DRIFT_CHECK_INTERVAL_MS;
  }

  /**
   * Judges one gather of the 'drift' topic. Only whole pictures are judged: a worker that did not
   * answer in time (or has no model yet, and answers null) would leave its rows out, and with none
   * at all the statuses would start afresh and every warning come again.
   */
  judge(outcomes: readonly WorkerOutcome<TopicResult<'drift'>>[], sha256?: string): void {
    const snapshots = outcomes.flatMap((outcome) => (outcome.result ? [outcome.result] : []));
    if (outcomes.length === 0 || snapshots.length < outcomes.length) return;
    const report = driftReport(combineSnapshots(snapshots, sha256), this.#settings);
    for (const change of this.#statusLog.changes(report)) {
      this.#logger.warn({ ...change, modelVersion: report.model_version }, `drift: ${change.feature} is ${change.to}`);
    }
  }

  /** The check as the cluster primary runs it: a periodic gather of every worker's counts. */
  periodicGather(): PeriodicGather<'drift'> {
    return { topic: 'drift', intervalMs: this.intervalMs, timeoutMs: GATHER_TIMEOUT_MS.drift, onOutcomes: (outcomes) => this.judge(outcomes) };
  }
}
