/** The 97.5 % quantile of the standard normal: a two-sided 95 % interval is value ± Z_95 · SE. */
export const Z_95 = 1.959963984540054;

/** An estimate with its 95 % interval; the bounds are null when the sample cannot give one. */
export interface Interval {
  value: number;
  ci_low: number | null;
  ci_high: number | null;
}

/**
 * Midranks (1-based) of `values`: tied values share the mean of the ranks they span, so the
 * Mann-Whitney sum counts a tie between a churner and a stayer as half a correct ordering, as
 * sklearn's roc_auc_score does. O(n log n).
 */
export function midranks(values: readonly number[]): Float64Array {
  const order = Array.from(values.keys()).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]!] === values[order[start]!]) end += 1;
    // Positions start..end (0-based) hold ranks start+1..end+1: their mean.
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k += 1) ranks[order[k]!] = rank;
    start = end + 1;
  }
  return ranks;
}

function sampleVariance(values: Float64Array): number {
  let mean = 0;
  for (const value of values) mean += value;
  mean /= values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return squares / (values.length - 1);
}

/**
 * ROC AUC with DeLong's 95 % interval, by the fast midrank algorithm of Sun & Xu (2014, IEEE
 * Signal Processing Letters 21(11)): with X the m churners' scores and Y the n stayers',
 *   AUC = (Σ rank of X in X∪Y − m(m+1)/2) / (m n);
 *   V10_i = (rank of X_i in X∪Y − rank of X_i in X) / n   (the share of stayers X_i outranks);
 *   V01_j = 1 − (rank of Y_j in X∪Y − rank of Y_j in Y) / m;
 *   Var(AUC) = s²(V10)/m + s²(V01)/n.
 * The bounds are clipped to [0, 1]. With fewer than two of either class there is no sample
 * variance: the bounds are null. Undefined (with the reason left to the caller) without both.
 */
export function rocAucDeLong(scores: readonly number[], churned: readonly boolean[]): Interval | undefined {
  const positives = scores.filter((_, index) => churned[index]);
  const negatives = scores.filter((_, index) => !churned[index]);
  const m = positives.length;
  const n = negatives.length;
  if (m === 0 || n === 0) return undefined;
  const combined = midranks([...positives, ...negatives]);
  const withinPositives = midranks(positives);
  const withinNegatives = midranks(negatives);
  // Ranks are multiples of 1/2 and their sum is exact in a double: the AUC is sklearn's to the last bits.
  let rankSum = 0;
  for (let i = 0; i < m; i += 1) rankSum += combined[i]!;
  const value = (rankSum - (m * (m + 1)) / 2) / (m * n);
  if (m < 2 || n < 2) return { value, ci_low: null, ci_high: null };
  const v10 = new Float64Array(m);
  for (let i = 0; i < m; i += 1) v10[i] = (combined[i]! - withinPositives[i]!) / n;
  const v01 = new Float64Array(n);
  for (let j = 0; j < n; j += 1) v01[j] = 1 - (combined[m + j]! - withinNegatives[j]!) / m;
  const standardError = Math.sqrt(sampleVariance(v10) / m + sampleVariance(v01) / n);
  return { value, ci_low: Math.max(0, value - Z_95 * standardError), ci_high: Math.min(1, value + Z_95 * standardError) };
}

/**
 * The ROC AUC expected when each row churns with its probability: confidence-based performance
 * estimation (NannyML's CBPE, `estimate_roc_auc`). Down the scores, the expected true positives
 * add up p and the expected false positives 1 − p; the trapezoids under the expected ROC curve
 * make the estimate (exactly sklearn's roc_auc_score with every row once a churner of weight p and
 * once a stayer of weight 1 − p). The score ranked by is the probability itself, so rows of one
 * tied score all step in the same direction: the walk is a straight line across them and their
 * order cannot change the area. NannyML ranks by the raw score and weighs by a calibrated one;
 * given the calibrated probabilities of a non-decreasing calibrator (performance.ts), ranking by
 * them is that same walk.
 * Undefined without rows, or when every p is 0 (or every p is 1).
 */
export function expectedRocAuc(probabilities: readonly number[]): number | undefined {
  const sorted = [...probabilities].sort((a, b) => b - a);
  let area = 0;
  let truePositives = 0;
  let falsePositives = 0;
  for (const p of sorted) {
    // The trapezoid of this step, in unnormalised units: Δfp · (tp before + tp after) / 2.
    area += ((1 - p) * (2 * truePositives + p)) / 2;
    truePositives += p;
    falsePositives += 1 - p;
  }
  if (!(truePositives > 0 && falsePositives > 0)) return undefined;
  return area / (truePositives * falsePositives);
}
