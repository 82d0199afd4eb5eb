import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';

const DriftStatus = StringEnum(['stable', 'moderate', 'significant'], {
  description: 'stable: PSI below the moderate threshold (0.1); moderate: up to the significant one (0.25); significant: above it.',
});

export const DriftFeatureReport = Type.Object({
  feature: Type.String({ description: 'A feature, or churn_probability for the scores.' }),
  psi: Type.Union([Type.Number(), Type.Null()], { description: 'Population stability index of the window against the training data; null while the window is too small.' }),
  status: Type.Union([DriftStatus, Type.Null()]),
  bins: Type.Array(
    Type.Object({
      bin: Type.String({ description: 'Interval (low, high] of a binned feature, or a value; "other" holds values training never had.' }),
      reference_share: Type.Number({ description: 'Share of the training rows in the bin.' }),
      live_share: Type.Union([Type.Number(), Type.Null()], {
        description: 'Share of the window\'s rows in the bin; null (withheld) while the window holds fewer than DRIFT_MIN_ROWS rows, since the shares of a few rows would reveal those customers\' features.',
      }),
    }),
  ),
});

const rowWindowProperties = {
  available: Type.Boolean({ description: 'False when monitoring is off or the model has no reference profile; `reason` says which.' }),
  reason: Type.Optional(Type.String()),
  model_version: Type.Union([Type.String(), Type.Null()]),
  window: Type.Object({
    rows: Type.Integer({ description: 'Scored rows in the window, over every worker.' }),
    capacity: Type.Integer({ description: 'DRIFT_WINDOW_ROWS: the window holds the last this many rows.' }),
    min_rows: Type.Integer({ description: 'DRIFT_MIN_ROWS: no status below this.' }),
  }),
  thresholds: Type.Object({ moderate: Type.Number(), significant: Type.Number() }),
  smoothing: Type.Number({ description: 'A share of 0 counts as this in the PSI.' }),
  features: Type.Array(DriftFeatureReport),
  score: Type.Union([DriftFeatureReport, Type.Null()]),
};

/** The drift of the last DRIFT_WINDOW_ROWS rows alone: what the metrics and the drift warnings are computed from. */
export const RowDriftReport = Type.Object(rowWindowProperties);
export type RowDriftReport = Static<typeof RowDriftReport>;

export const PlausibilityCheckReport = Type.Object({
  check: Type.String({ description: 'The check: the `check` label of churn_implausible_rows_total and a value of the prediction log\'s `implausible` column.' }),
  description: Type.String(),
  failed: Type.Integer({ description: 'Rows of the window that fail the check, over every worker.' }),
  share: Type.Number({ description: 'failed / window rows (0 for an empty window).' }),
  status: StringEnum(['ok', 'alerting'], { description: 'alerting: at least alert_share of the window, and at least alert_min_failed rows, fail the check.' }),
});

export const PlausibilityReport = Type.Object({
  available: Type.Boolean({ description: 'False when monitoring is off (DRIFT_MONITORING=false); `reason` says so.' }),
  reason: Type.Optional(Type.String()),
  window: Type.Object({
    rows: Type.Integer({ description: 'Rows served in the window, over every worker.' }),
    capacity: Type.Integer({ description: 'PLAUSIBILITY_WINDOW_ROWS per worker: the window holds the last this many rows each worker served.' }),
  }),
  alert_share: Type.Number({ description: 'PLAUSIBILITY_ALERT_SHARE.' }),
  alert_min_failed: Type.Integer({ description: 'No alert with fewer failing rows than this, whatever their share.' }),
  checks: Type.Array(PlausibilityCheckReport),
});
export type PlausibilityReport = Static<typeof PlausibilityReport>;

const TimeWindowFinding = Type.Object({
  feature: Type.String({ description: 'A feature, or churn_probability for the scores.' }),
  psi: Type.Union([Type.Number(), Type.Null()], { description: 'PSI of the time window against the training data; null while it holds fewer than DRIFT_MIN_ROWS rows.' }),
  status: Type.Union([DriftStatus, Type.Null()]),
});

export const DriftTimeWindow = Type.Object({
  minutes: Type.Integer({ description: 'The window\'s length: the minute buckets summed, the current one included.' }),
  since: Type.String({ description: 'Start of the oldest minute bucket in the window (ISO 8601, UTC).' }),
  rows: Type.Integer({ description: 'Rows scored in the window by the served model, over every worker and replica sharing the prediction log (the last few seconds of other workers may be missing: each writes its counts every few seconds).' }),
  features: Type.Array(TimeWindowFinding),
  score: TimeWindowFinding,
});
export type DriftTimeWindow = Static<typeof DriftTimeWindow>;

export const DriftTimeWindows = Type.Object({
  available: Type.Boolean({ description: 'False when there is no store to keep them in (PREDICTION_LOG=false), monitoring is off, or the model has no reference profile; `reason` says which.' }),
  reason: Type.Optional(Type.String()),
  last_hour: Type.Union([DriftTimeWindow, Type.Null()]),
  last_day: Type.Union([DriftTimeWindow, Type.Null()]),
});
export type DriftTimeWindows = Static<typeof DriftTimeWindows>;

export const DriftReport = Type.Object(
  {
    ...rowWindowProperties,
    plausibility: PlausibilityReport,
    windows: DriftTimeWindows,
  },
  { $id: 'DriftReport', title: 'DriftReport' },
);
export type DriftReport = Static<typeof DriftReport>;
