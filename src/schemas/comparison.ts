import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';

const OrNull = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });
const Count = (description: string) => Type.Integer({ minimum: 0, description });

const IntervalFigure = (what: string) =>
  Type.Object({
    value: OrNull(`The ${what}; null when it is undefined (no labeled pair, or one class only).`),
    ci_low: OrNull('Lower bound of its 95 % interval; null when the sample cannot give one.'),
    ci_high: OrNull('Upper bound of its 95 % interval.'),
  });

const TierCounts = (whose: string) =>
  Type.Object(
    { LOW: Count('Rows in LOW.'), MEDIUM: Count('Rows in MEDIUM.'), HIGH: Count('Rows in HIGH.') },
    { description: `Rows per risk tier by the ${whose}'s score (HIGH_RISK_THRESHOLD, MEDIUM_RISK_THRESHOLD).` },
  );

const Kappa = OrNull("Cohen's kappa: the agreement beyond what chance gives two models flagging at these rates (1 the same, 0 no better than chance); null when chance alone agrees on every pair.");

const MeasuredModel = (whose: string) =>
  Type.Object(
    {
      roc_auc: IntervalFigure(`${whose}'s ROC AUC on the labeled pairs (95 % interval by DeLong)`),
      thresholds: Type.Array(
        Type.Object({
          threshold: Type.Number(),
          flagged: Count('Labeled pairs this model flags (P(churn) >= threshold).'),
          precision: IntervalFigure('precision: share of the flagged who churned (Wilson score interval)'),
          recall: IntervalFigure('recall: share of the churners flagged (Wilson score interval)'),
        }),
      ),
    },
    { description: `The ${whose} on the labeled pairs, as GET /monitoring/performance measures a model.` },
  );

export const ComparisonVerdict = StringEnum(['too_few_labeled_rows', 'no_detectable_difference', 'challenger_better', 'challenger_worse'], {
  description:
    'What the paired ROC AUC difference says: too_few_labeled_rows (fewer than min_labeled_per_class churners or stayers among the labeled pairs), no_detectable_difference (its 95 % interval includes 0), challenger_better (the interval is above 0), challenger_worse (below 0).',
});

export const ModelComparison = Type.Object({
  champion_version: Type.String({ description: 'The model version that scored the rows as champion.' }),
  challenger_version: Type.String({ description: 'The model version that scored the same rows as challenger.' }),
  rows: Count('Rows scored by both (pairs), served in the window.'),
  served_by: Type.Object(
    { champion: Count("Pairs whose caller got the champion's answer, the challenger scoring in the shadow."), challenger: Count("Pairs answered by the challenger (canary), the champion's score logged beside it.") },
    { description: 'Which model answered the caller, per pair.' },
  ),
  agreement: Type.Object({
    prediction: Type.Object({
      threshold: Type.Number({ description: 'PREDICTION_THRESHOLD: churn_prediction is P(churn) >= this.' }),
      share: Type.Number({ description: 'Share of the pairs whose churn_prediction is the same by both models.' }),
      cohen_kappa: Kappa,
      both_yes: Count('Pairs both models predict to churn.'),
      champion_only: Count('Pairs only the champion predicts to churn.'),
      challenger_only: Count('Pairs only the challenger predicts to churn.'),
    }),
    risk_tier: Type.Object({
      share: Type.Number({ description: 'Share of the pairs in the same risk tier by both models.' }),
      cohen_kappa: Kappa,
      champion: TierCounts('champion'),
      challenger: TierCounts('challenger'),
      matrix: Type.Object(
        { LOW: TierCounts('challenger'), MEDIUM: TierCounts('challenger'), HIGH: TierCounts('challenger') },
        { description: "Pairs by the champion's tier (outer key) and the challenger's (inner key): how many customers would move between tiers on promotion." },
      ),
    }),
  }),
  spearman: OrNull("Spearman's rank correlation of the two scores over the pairs (ties: average ranks); null with fewer than two pairs or a constant score."),
  psi: Type.Object({
    value: OrNull('Population stability index of the challenger\'s scores against the champion\'s, in the same bins with the drift monitor\'s smoothing (shares below 1e-4 count as 1e-4); below 0.1 alike, 0.1 to 0.25 moderately apart, above 0.25 far apart. Null without pairs.'),
    bins_from: Type.String({ description: 'Whose bins: the champion model card\'s score drift reference ("model card of <version>"), or "deciles" without a card.' }),
  }),
  thresholds: Type.Array(
    Type.Object({
      threshold: Type.Number({ description: 'One of PERFORMANCE_THRESHOLDS.' }),
      flagged_by_champion: Count('Pairs with champion P(churn) >= threshold.'),
      flagged_by_challenger: Count('Pairs with challenger P(churn) >= threshold.'),
      flagged_by_both: Count('Pairs both flag.'),
      jaccard: OrNull('flagged_by_both / flagged by either: 1 when the two flag the same customers; null when neither flags any.'),
    }),
    { description: 'Who each model would flag at each threshold, whatever the outcomes.' },
  ),
  labeled: Type.Object({
    rows: Count('Pairs whose served record has a CRM outcome (the matching rule of POST /outcomes).'),
    churners: Count('Of them, those who churned.'),
    champion: MeasuredModel('champion'),
    challenger: MeasuredModel('challenger'),
    auc_difference: Type.Object(
      {
        value: OrNull('ROC AUC of the challenger minus that of the champion, on the same labeled pairs; null without both classes.'),
        ci_low: OrNull('Lower bound of its 95 % interval (DeLong for two correlated ROC curves); null with fewer than two of either class.'),
        ci_high: OrNull('Upper bound of its 95 % interval.'),
        p_value: OrNull('Two-sided p-value of "no difference in ROC AUC" (DeLong).'),
      },
      { description: 'The paired comparison: both AUCs from the same rows, so their covariance narrows the interval of the difference.' },
    ),
  }),
  verdict: ComparisonVerdict,
  notes: Type.Array(Type.String(), { description: 'The verdict in words, and what the figures do not cover.' }),
});

export const ComparisonReport = Type.Object(
  {
    window: Type.Object({
      since: Type.String({ description: 'Pairs whose served record was recorded at or after this (ISO 8601, UTC).' }),
      until: Type.String({ description: 'Pairs whose served record was recorded before this (ISO 8601, UTC).' }),
      horizon_days: Type.Integer({ description: 'How long after a prediction an outcome from the CRM counts for it.' }),
    }),
    computed_at: Type.String({ description: 'When the report was made (ISO 8601, UTC).' }),
    confidence_level: Type.Number({ description: 'Of every interval in the report: 0.95.' }),
    min_labeled_per_class: Type.Integer({ description: 'Churners, and stayers, needed among the labeled pairs before a verdict on the ROC AUCs is given.' }),
    comparisons: Type.Array(ModelComparison, { description: 'One per champion and challenger version that scored rows together in the window; empty when no challenger did.' }),
    notes: Type.Array(Type.String(), { description: 'Why the list is empty, when it is.' }),
  },
  { $id: 'ComparisonReport', title: 'ComparisonReport', description: 'Champion against challenger on the rows both scored: agreement, rank correlation, score PSI, who each flags and, on the labeled rows, the paired ROC AUC difference.' },
);

export type ModelComparison = Static<typeof ModelComparison>;
export type ComparisonReport = Static<typeof ComparisonReport>;
