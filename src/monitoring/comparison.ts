import { riskTier, type Thresholds } from '../churn-api/prediction-mapping.js';
import { binCount, binOf, populationStabilityIndex } from '../data-plane/drift.js';
import type { ComparisonReport, ModelComparison } from '../schemas/comparison.js';
import type { DriftFeatureReference } from '../schemas/model-card.js';
import { precisionRecallAt, type OutcomeWindow } from './performance.js';
import { deLongComponents, midranks, rocAucDeLong, sampleCovariance, Z_95, type Interval } from './roc-auc.js';

/**
 * Champion against challenger on the same rows: every row both models scored (one answered the
 * caller, the other scored it in the shadow, or the other way round in a canary), how often they
 * agree, how alike their scores rank and spread, and, where the CRM has posted outcomes, whose
 * ROC AUC is higher, with DeLong's interval for the paired difference. Pure: pairs in, report out.
 */

/** One row scored by both models, as the prediction log pairs them (by row_key). */
export interface PairedScore {
  championVersion: string;
  challengerVersion: string;
  champion: number;
  challenger: number;
  /** Which model's score answered the caller. */
  servedBy: 'champion' | 'challenger';
  /** The outcome that labels the served record (the matching rule of src/prediction-log/outcomes.ts); null while none does. */
  churned: boolean | null;
}

/** Where the pairs come from: the prediction log's `pairedScores`. */
export type PairedScoreSource = (window: OutcomeWindow) => Promise<readonly PairedScore[]>;

/**
 * The fewest churners, and the fewest stayers, among the labeled pairs before the report gives a
 * verdict on the ROC AUCs. DeLong's intervals are normal approximations whose variance is the
 * sample variance of per-churner and per-stayer components; bench/comparison-coverage.ts measures
 * them on simulated pairs: with 5 or 10 of each class a single model's 95 % interval misses its
 * true AUC 10-12 % of the time, and a real AUC gain of 0.03 is found 1-3 % of the time, so "no
 * detectable difference" would be read as "no difference" when nothing could have been detected.
 * From 30 of each, the single intervals miss about 7 % (5 % from 50) and the paired one's false
 * alarms stay at or below 5 %. Below it the figures are shown and the verdict is withheld.
 */
export const MIN_LABELED_PER_CLASS = 30;

/** The score bins when no card gives them: deciles of the probability. */
const DECILE_BINS: DriftFeatureReference = {
  name: 'churn_probability',
  kind: 'bins',
  edges: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  shares: Array.from({ length: 10 }, () => 0.1),
};

/**
 * The standard normal's upper tail, P(Z > z), from the complementary error function by the
 * Chebyshev fit of Numerical Recipes (erfcc, fractional error below 1.2e-7 everywhere): enough
 * for a p-value, which is read to two digits.
 */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Spearman's rank correlation: Pearson's on midranks (ties share their mean rank). Null with fewer than two rows or a constant score. */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  if (a.length < 2) return null;
  const ranksA = midranks(a);
  const ranksB = midranks(b);
  const varianceA = sampleCovariance(ranksA, ranksA);
  const varianceB = sampleCovariance(ranksB, ranksB);
  if (varianceA === 0 || varianceB === 0) return null;
  return sampleCovariance(ranksA, ranksB) / Math.sqrt(varianceA * varianceB);
}

/** PSI of the challenger's scores against the champion's, both counted into the same bins (the drift monitor's rule and smoothing). */
export function scorePsi(champion: readonly number[], challenger: readonly number[], bins: DriftFeatureReference): number | null {
  if (champion.length === 0) return null;
  const championCounts = new Array<number>(binCount(bins)).fill(0);
  const challengerCounts = new Array<number>(binCount(bins)).fill(0);
  for (const score of champion) championCounts[binOf(bins, score)]! += 1;
  for (const score of challenger) challengerCounts[binOf(bins, score)]! += 1;
  return populationStabilityIndex(
    challengerCounts,
    championCounts.map((count) => count / champion.length),
  );
}

export interface PairedAucDifference {
  /** AUC(challenger) − AUC(champion). */
  value: number;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
}

/**
 * DeLong, DeLong & Clarke-Pearson (1988) for two correlated ROC curves: both models' structural
 * components on the same churners (V10) and stayers (V01) give the covariance of the two AUCs,
 *   Var(Δ) = [s²(V10_b) + s²(V10_a) − 2 cov(V10_a, V10_b)] / m + [the same for V01] / n,
 * and Δ / SE is standard normal under "no difference" (two-sided p-value). The interval is
 * clipped to [−1, 1]; bounds and p-value are null with fewer than two of either class, or when
 * the two models rank every pair alike (SE 0).
 */
export function pairedAucDifference(champion: readonly number[], challenger: readonly number[], churned: readonly boolean[]): PairedAucDifference | undefined {
  const a = deLongComponents(champion, churned);
  const b = deLongComponents(challenger, churned);
  if (!a || !b) return undefined;
  const value = b.auc - a.auc;
  const m = a.v10.length;
  const n = a.v01.length;
  if (m < 2 || n < 2) return { value, ci_low: null, ci_high: null, p_value: null };
  const variance = (v: 'v10' | 'v01') => sampleCovariance(a[v], a[v]) + sampleCovariance(b[v], b[v]) - 2 * sampleCovariance(a[v], b[v]);
  const standardError = Math.sqrt(Math.max(0, variance('v10') / m + variance('v01') / n));
  if (!(standardError > 0)) return { value, ci_low: null, ci_high: null, p_value: null };
  return {
    value,
    ci_low: Math.max(-1, value - Z_95 * standardError),
    ci_high: Math.min(1, value + Z_95 * standardError),
    p_value: 2 * normalUpperTail(Math.abs(value) / standardError),
  };
}

const RISK_TIERS = ['LOW', 'MEDIUM', 'HIGH'] as const;

/**
 * Cohen's kappa: agreement beyond what two raters with these marginals reach by chance,
 * (p_o − p_e) / (1 − p_e) with p_e = Σ over categories of the product of the two models' shares
 * (scikit-learn's cohen_kappa_score). `marginals` holds, per category, [champion's count,
 * challenger's count]. Null when chance alone agrees on every row (both constant and equal).
 */
export function cohenKappa(agree: number, rows: number, marginals: readonly (readonly [number, number])[]): number | null {
  const chance = marginals.reduce((sum, [a, b]) => sum + (a / rows) * (b / rows), 0);
  if (!(rows > 0) || chance === 1) return null;
  return (agree / rows - chance) / (1 - chance);
}

export type ComparisonVerdict = ModelComparison['verdict'];

function measuredModel(scores: readonly number[], churned: readonly boolean[], thresholds: readonly number[]) {
  const auc = rocAucDeLong(scores, churned);
  const figure = (interval: Interval | null) => ({ value: interval?.value ?? null, ci_low: interval?.ci_low ?? null, ci_high: interval?.ci_high ?? null });
  return {
    roc_auc: figure(auc ?? null),
    thresholds: thresholds.map((threshold) => {
      const { flagged, precision, recall } = precisionRecallAt(scores, churned, threshold);
      return { threshold, flagged, precision: figure(precision), recall: figure(recall) };
    }),
  };
}

/** The verdict on the AUCs, and the sentence that says it. */
function aucVerdict(churners: number, stayers: number, difference: PairedAucDifference | undefined): { verdict: ComparisonVerdict; note: string } {
  if (churners < MIN_LABELED_PER_CLASS || stayers < MIN_LABELED_PER_CLASS) {
    return {
      verdict: 'too_few_labeled_rows',
      note: `too few labeled rows to compare AUCs: ${churners} churners and ${stayers} stayers among the labeled pairs, at least ${MIN_LABELED_PER_CLASS} of each needed`,
    };
  }
  if (!difference || difference.ci_low === null || difference.ci_high === null) {
    return { verdict: 'no_detectable_difference', note: 'the two models order every churner and stayer alike: no difference in ROC AUC' };
  }
  const interval = `AUC difference ${difference.value.toFixed(4)} (95 % CI ${difference.ci_low.toFixed(4)} to ${difference.ci_high.toFixed(4)}, p = ${difference.p_value!.toPrecision(2)})`;
  if (difference.ci_low > 0) return { verdict: 'challenger_better', note: `challenger better: ${interval}` };
  if (difference.ci_high < 0) return { verdict: 'challenger_worse', note: `challenger worse: ${interval}` };
  return { verdict: 'no_detectable_difference', note: `the interval includes 0: no detectable difference in ROC AUC; ${interval}` };
}

export interface ComparisonInput {
  pairs: readonly PairedScore[];
  window: OutcomeWindow;
  /** The churn API's rule: churn_prediction and risk_tier. */
  rule: Thresholds;
  /** PERFORMANCE_THRESHOLDS. */
  thresholds: readonly number[];
  /** The champion card's score bins (drift_reference.score), and the version whose card gave them; deciles without one. */
  scoreBins: { modelVersion: string; profile: DriftFeatureReference } | undefined;
  computedAt: Date;
}

function compare(group: readonly PairedScore[], { rule, thresholds, scoreBins }: ComparisonInput): Omit<ModelComparison, 'champion_version' | 'challenger_version'> {
  const champion = group.map((pair) => pair.champion);
  const challenger = group.map((pair) => pair.challenger);
  const rows = group.length;
  let predictionAgree = 0;
  let championOnly = 0;
  let challengerOnly = 0;
  let bothYes = 0;
  let tierAgree = 0;
  const tierCounts = () => ({ LOW: 0, MEDIUM: 0, HIGH: 0 });
  const tiers = { champion: tierCounts(), challenger: tierCounts() };
  const matrix = { LOW: tierCounts(), MEDIUM: tierCounts(), HIGH: tierCounts() };
  for (const pair of group) {
    const a = pair.champion >= rule.prediction;
    const b = pair.challenger >= rule.prediction;
    if (a === b) predictionAgree += 1;
    else if (a) championOnly += 1;
    else challengerOnly += 1;
    if (a && b) bothYes += 1;
    const tierA = riskTier(pair.champion, rule);
    const tierB = riskTier(pair.challenger, rule);
    if (tierA === tierB) tierAgree += 1;
    tiers.champion[tierA] += 1;
    tiers.challenger[tierB] += 1;
    matrix[tierA][tierB] += 1;
  }
  const yesChampion = bothYes + championOnly;
  const yesChallenger = bothYes + challengerOnly;

  const labeled = group.filter((pair): pair is PairedScore & { churned: boolean } => pair.churned !== null);
  const churned = labeled.map((pair) => pair.churned);
  const churners = churned.filter(Boolean).length;
  const labeledChampion = labeled.map((pair) => pair.champion);
  const labeledChallenger = labeled.map((pair) => pair.challenger);
  const difference = pairedAucDifference(labeledChampion, labeledChallenger, churned);
  const { verdict, note } = aucVerdict(churners, labeled.length - churners, difference);
  const notes = [note];
  if (rows > 0 && labeled.length < rows) notes.push(`${rows - labeled.length} of ${rows} pairs have no outcome yet: the agreement figures cover them, the AUCs do not`);

  return {
    rows,
    served_by: {
      champion: group.filter((pair) => pair.servedBy === 'champion').length,
      challenger: group.filter((pair) => pair.servedBy === 'challenger').length,
    },
    agreement: {
      prediction: {
        threshold: rule.prediction,
        share: predictionAgree / rows,
        cohen_kappa: cohenKappa(predictionAgree, rows, [
          [yesChampion, yesChallenger],
          [rows - yesChampion, rows - yesChallenger],
        ]),
        both_yes: bothYes,
        champion_only: championOnly,
        challenger_only: challengerOnly,
      },
      risk_tier: {
        share: tierAgree / rows,
        cohen_kappa: cohenKappa(tierAgree, rows, RISK_TIERS.map((tier) => [tiers.champion[tier], tiers.challenger[tier]])),
        champion: tiers.champion,
        challenger: tiers.challenger,
        matrix,
      },
    },
    spearman: spearman(champion, challenger),
    psi: { value: scorePsi(champion, challenger, scoreBins?.profile ?? DECILE_BINS), bins_from: scoreBins ? `model card of ${scoreBins.modelVersion}` : 'deciles' },
    thresholds: thresholds.map((threshold) => {
      let byChampion = 0;
      let byChallenger = 0;
      let byBoth = 0;
      for (const pair of group) {
        const a = pair.champion >= threshold;
        const b = pair.challenger >= threshold;
        if (a) byChampion += 1;
        if (b) byChallenger += 1;
        if (a && b) byBoth += 1;
      }
      const either = byChampion + byChallenger - byBoth;
      return { threshold, flagged_by_champion: byChampion, flagged_by_challenger: byChallenger, flagged_by_both: byBoth, jaccard: either ? byBoth / either : null };
    }),
    labeled: {
      rows: labeled.length,
      churners,
      champion: measuredModel(labeledChampion, churned, thresholds),
      challenger: measuredModel(labeledChallenger, churned, thresholds),
      auc_difference: difference ?? { value: null, ci_low: null, ci_high: null, p_value: null },
    },
    verdict,
    notes,
  };
}

/** The report of GET /monitoring/comparison: one entry per (champion version, challenger version) that scored rows together in the window. */
export function comparisonReport(input: ComparisonInput): ComparisonReport {
  const { pairs, window, computedAt } = input;
  const groups = new Map<string, PairedScore[]>();
  for (const pair of pairs) {
    const key = JSON.stringify([pair.championVersion, pair.challengerVersion]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(pair);
  }
  const comparisons = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, group]) => ({ champion_version: group[0]!.championVersion, challenger_version: group[0]!.challengerVersion, ...compare(group, input) }));
  return {
    window: { since: window.since.toISOString(), until: window.until.toISOString(), horizon_days: window.horizonDays },
    computed_at: computedAt.toISOString(),
    confidence_level: 0.95,
    min_labeled_per_class: MIN_LABELED_PER_CLASS,
    comparisons,
    notes: comparisons.length === 0 ? ['no row in this window was scored by both a champion and a challenger: load a challenger (CHALLENGER_MODEL_PATH or PUT /admin/challenger) in shadow or canary mode'] : [],
  };
}
