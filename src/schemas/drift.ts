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

export const DriftReport = Type.Object(
  {
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
  },
  { $id: 'DriftReport', title: 'DriftReport' },
);
export type DriftReport = Static<typeof DriftReport>;
