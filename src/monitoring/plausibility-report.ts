import type { Logger } from 'pino';
import type { PeriodicGather } from '../cluster/supervisor.js';
import type { WorkerOutcome } from '../cluster/messages.js';
import { GATHER_TIMEOUT_MS, type TopicResult } from '../cluster/topics.js';
import type { Config } from '../config.js';
import {
  PLAUSIBILITY_ALERT_MIN_FAILED,
  PLAUSIBILITY_CHECKS,
  plausibilityStatus,
  sumPlausibilityCounts,
  type PlausibilityCounts,
  type PlausibilityStatus,
} from '../data-plane/plausibility.js';
import type { PlausibilityReport } from '../schemas/drift.js';
import { StatusTransitions } from './status-transitions.js';

export interface PlausibilitySettings {
  windowRows: number;
  alertShare: number;
}

export function plausibilitySettings(config: Config): PlausibilitySettings {
  return { windowRows: config.PLAUSIBILITY_WINDOW_ROWS, alertShare: config.PLAUSIBILITY_ALERT_SHARE };
}

const rounded = (value: number) => Math.round(value * 1e6) / 1e6;

/** The `plausibility` part of GET /monitoring/drift, from the whole server's counts (or why there are none). */
export function plausibilityReport(counts: PlausibilityCounts | undefined, settings: PlausibilitySettings, unavailable?: string): PlausibilityReport {
  const rows = counts?.rows ?? 0;
  return {
    available: counts !== undefined,
    ...(counts === undefined ? { reason: unavailable ?? 'no counts yet' } : {}),
    window: { rows, capacity: settings.windowRows },
    alert_share: settings.alertShare,
    alert_min_failed: PLAUSIBILITY_ALERT_MIN_FAILED,
    checks: PLAUSIBILITY_CHECKS.map((check, index) => {
      const failed = counts?.failed[index] ?? 0;
      return {
        check: check.name,
        description: check.description,
        failed,
        share: rows > 0 ? rounded(failed / rows) : 0,
        status: plausibilityStatus(failed, rows, settings.alertShare),
      };
    }),
  };
}

/** The counts of one gather of the 'plausibility' topic added up; undefined unless every worker answered with counts. */
export function gatheredCounts(outcomes: readonly WorkerOutcome<TopicResult<'plausibility'>>[]): PlausibilityCounts | undefined {
  const counts = outcomes.flatMap((outcome) => (outcome.result ? [outcome.result] : []));
  if (outcomes.length === 0 || counts.length < outcomes.length) return undefined;
  return sumPlausibilityCounts(counts);
}

export interface PlausibilityStatusChange {
  check: string;
  from: PlausibilityStatus | null;
  to: PlausibilityStatus;
  failed: number;
  share: number;
}

/** The checks whose status changed since the last report (StatusTransitions; "ok" is the quiet status). */
export class PlausibilityStatusLog {
  readonly #statuses = new StatusTransitions<PlausibilityStatus>('ok');

  changes(report: PlausibilityReport): PlausibilityStatusChange[] {
    const changed: PlausibilityStatusChange[] = [];
    for (const check of report.checks) {
      const news = this.#statuses.record(check.check, check.status);
      if (news) changed.push({ check: check.check, from: news.from, to: check.status, failed: check.failed, share: check.share });
    }
    return changed;
  }
}

/**
 * The periodic plausibility check, in the cluster primary (over every worker's counts) and in a
 * process that runs alone: it warns once when a check starts alerting and once when it recovers.
 */
export class PlausibilityAlerts {
  readonly #settings: PlausibilitySettings;
  readonly #logger: Pick<Logger, 'warn'>;
  readonly #statusLog = new PlausibilityStatusLog();
  readonly intervalMs: number;

  constructor(config: Config, logger: Pick<Logger, 'warn'>) {
    this.#settings = plausibilitySettings(config);
    this.#logger = logger;
    this.intervalMs = config.DRIFT_CHECK_INTERVAL_MS;
  }

  /** Judges one gather; only whole pictures (every worker answered) are judged, as for drift. */
  judge(outcomes: readonly WorkerOutcome<TopicResult<'plausibility'>>[]): void {
    const counts = gatheredCounts(outcomes);
    if (!counts) return;
    const report = plausibilityReport(counts, this.#settings);
    for (const change of this.#statusLog.changes(report)) {
      const details = { ...change, windowRows: report.window.rows };
      this.#logger.warn(
        details,
        change.to === 'alerting'
          ? `plausibility: ${change.check} is alerting (${change.failed} of the last ${report.window.rows} rows)`
          : `plausibility: ${change.check} is ok again`,
      );
    }
  }

  periodicGather(): PeriodicGather<'plausibility'> {
    return { topic: 'plausibility', intervalMs: this.intervalMs, timeoutMs: GATHER_TIMEOUT_MS.plausibility, onOutcomes: (outcomes) => this.judge(outcomes) };
  }
}
